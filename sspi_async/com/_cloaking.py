"""Who a call presents itself as, and what the server may do with it (I11, I13; R13, R16, R17).

Theory of operation
-------------------
A client proxy carries a blanket (:class:`ClientBlanket`): authentication service and level,
impersonation level, an optional explicit identity (``pAuthInfo``) and capabilities. At each
call:

1. **Presented identity** (R16, reference §3.3 table). No cloaking: the explicit identity, else
   the process token. Static cloaking: the identity captured once — at ``SetBlanket`` when set
   there, else on the proxy's first call — i.e. the thread token if impersonating, else the
   process token. Dynamic cloaking: the thread token (or process token) of *every* call. With
   cloaking the explicit identity is ignored (choice).
2. **Cloaking limits** (R17). A cloaked impersonation token below IMPERSONATE cannot be presented,
   and an IMPERSONATE token may cross at most one machine boundary (DELEGATE: any number): the
   call fails with ``RPC_E_ACCESS_DENIED`` (choice of code; Windows does not document one).
3. **Level** (R13): the lowest of the requested level (``RPC_C_IMP_LEVEL_DEFAULT`` → IDENTIFY,
   the system default), the transport (ANONYMOUS is promoted to IDENTIFY across machines), the
   package (Schannel: at most IMPERSONATE; NTLM: DELEGATE only within a machine), the privilege
   (a process token without ``SeImpersonatePrivilege`` gets IDENTIFY for another user), and the
   cloaked token's own level. The server gets a token of that level; impersonating still
   succeeds when it was lowered (R13).

Choices: ``RPC_C_AUTHN_DEFAULT`` resolves to NTLM (``RPC_C_AUTHN_WINNT``) and
``RPC_C_AUTHN_LEVEL_DEFAULT`` to CONNECT. Machines are names: an apartment's, or the proxy's
``client_machine`` for callers outside any apartment.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from .._core._impersonation import current_token, process_token
from .._flags import ImpersonationLevel
from .._identity import ANONYMOUS_LOGON, SE_IMPERSONATE_NAME, AccessToken
from ._hresults import (
    EOAC_DYNAMIC_CLOAKING,
    EOAC_NONE,
    EOAC_STATIC_CLOAKING,
    RPC_C_AUTHN_DEFAULT,
    RPC_C_AUTHN_GSS_KERBEROS,
    RPC_C_AUTHN_GSS_NEGOTIATE,
    RPC_C_AUTHN_GSS_SCHANNEL,
    RPC_C_AUTHN_LEVEL_CONNECT,
    RPC_C_AUTHN_LEVEL_DEFAULT,
    RPC_C_AUTHN_NONE,
    RPC_C_AUTHN_WINNT,
    RPC_C_AUTHZ_NONE,
    RPC_C_IMP_LEVEL_DEFAULT,
    RPC_C_IMP_LEVEL_DELEGATE,
    RPC_C_IMP_LEVEL_IDENTIFY,
    HResult,
)

__all__ = (
    "ClientBlanket",
    "capture",
    "check_blanket",
    "client_token",
    "presented_identity",
    "resolve_level",
)

_SOURCES = {
    RPC_C_AUTHN_WINNT: "NTLM",
    RPC_C_AUTHN_GSS_KERBEROS: "Kerberos",
    RPC_C_AUTHN_GSS_NEGOTIATE: "Negotiate",
    RPC_C_AUTHN_GSS_SCHANNEL: "Schannel",
}
_CLOAKING = EOAC_STATIC_CLOAKING | EOAC_DYNAMIC_CLOAKING


@dataclass(frozen=True, slots=True)
class ClientBlanket:
    """A proxy's security blanket (``IClientSecurity::QueryBlanket``/``SetBlanket``).

    Attributes:
        authn_svc: ``RPC_C_AUTHN_*`` (``RPC_C_AUTHN_DEFAULT`` resolves to NTLM).
        authz_svc: ``RPC_C_AUTHZ_*``.
        server_principal: the server principal name asked for (informational).
        authn_level: ``RPC_C_AUTHN_LEVEL_*`` (``DEFAULT`` resolves to CONNECT).
        imp_level: ``RPC_C_IMP_LEVEL_*`` the client grants the server.
        identity: the explicit identity (``pAuthInfo``) presented without cloaking.
        capabilities: ``EOAC_*`` flags (cloaking).
    """

    authn_svc: int = RPC_C_AUTHN_WINNT
    authz_svc: int = RPC_C_AUTHZ_NONE
    server_principal: str | None = None
    authn_level: int = RPC_C_AUTHN_LEVEL_CONNECT
    imp_level: int = RPC_C_IMP_LEVEL_IDENTIFY
    identity: AccessToken | None = None
    capabilities: int = EOAC_NONE

    def resolved(self) -> ClientBlanket:
        """The blanket with DEFAULT service and level resolved (choice, see module docs)."""
        svc = RPC_C_AUTHN_WINNT if self.authn_svc == RPC_C_AUTHN_DEFAULT else self.authn_svc
        level = (
            RPC_C_AUTHN_LEVEL_CONNECT
            if self.authn_level == RPC_C_AUTHN_LEVEL_DEFAULT
            else self.authn_level
        )
        return dataclasses.replace(self, authn_svc=svc, authn_level=level)


def check_blanket(blanket: ClientBlanket) -> int:
    """``CoInitializeSecurity``/``SetBlanket`` validation (R17): both cloaking flags, or any
    cloaking flag with Schannel, or a level out of range → ``E_INVALIDARG``."""
    caps = blanket.capabilities
    if caps & _CLOAKING == _CLOAKING:
        return HResult.E_INVALIDARG
    if caps & _CLOAKING and blanket.authn_svc == RPC_C_AUTHN_GSS_SCHANNEL:
        return HResult.E_INVALIDARG
    if not RPC_C_IMP_LEVEL_DEFAULT <= blanket.imp_level <= RPC_C_IMP_LEVEL_DELEGATE:
        return HResult.E_INVALIDARG
    if not 0 <= blanket.authn_level <= 6:
        return HResult.E_INVALIDARG
    return HResult.S_OK


def capture(blanket: ClientBlanket) -> AccessToken | None:
    """What static cloaking fixes now: the thread token or the process token (R16)."""
    return current_token() if blanket.capabilities & EOAC_STATIC_CLOAKING else None


def presented_identity(
    blanket: ClientBlanket, captured: AccessToken | None
) -> tuple[AccessToken, AccessToken | None]:
    """The identity a call presents (R16) and the static capture to keep for the next call."""
    if blanket.capabilities & EOAC_DYNAMIC_CLOAKING:
        return current_token(), captured
    if blanket.capabilities & EOAC_STATIC_CLOAKING:
        if captured is None:
            captured = current_token()  # fixed on the proxy's first call
        return captured, captured
    return blanket.identity or process_token(), captured


def resolve_level(
    imp_level: int, *, crossing: bool, authn_svc: int, user: str
) -> ImpersonationLevel:
    """The impersonation level a server gets for a call (R13)."""
    requested = RPC_C_IMP_LEVEL_IDENTIFY if imp_level == RPC_C_IMP_LEVEL_DEFAULT else imp_level
    level = ImpersonationLevel(requested - 1)
    if level is ImpersonationLevel.SecurityAnonymous and crossing:
        level = ImpersonationLevel.SecurityIdentification  # anonymous only over local IPC
    if authn_svc == RPC_C_AUTHN_GSS_SCHANNEL or (authn_svc == RPC_C_AUTHN_WINNT and crossing):
        level = min(level, ImpersonationLevel.SecurityImpersonation)
    me = process_token()
    if (
        level >= ImpersonationLevel.SecurityImpersonation
        and SE_IMPERSONATE_NAME not in me.privileges
        and user != me.user
    ):
        level = ImpersonationLevel.SecurityIdentification  # privilege downgrade
    return level


def client_token(
    presented: AccessToken, blanket: ClientBlanket, *, crossing: bool
) -> tuple[int, AccessToken | None]:
    """The token the server of a call gets (R13, R17); ``RPC_E_ACCESS_DENIED`` when a cloaked
    token may not be presented."""
    hops = int(crossing)
    cap = ImpersonationLevel.SecurityDelegation
    cloaked = bool(blanket.capabilities & _CLOAKING) and not presented.is_process
    if cloaked:
        if presented.level < ImpersonationLevel.SecurityImpersonation:
            return HResult.RPC_E_ACCESS_DENIED, None  # lower levels cannot make cloaked calls
        hops = presented.hops + int(crossing)
        if presented.level == ImpersonationLevel.SecurityImpersonation and hops > 1:
            return HResult.RPC_E_ACCESS_DENIED, None  # IMPERSONATE crosses one machine at most
        cap = presented.level
    if blanket.authn_svc == RPC_C_AUTHN_NONE:
        return HResult.S_OK, None
    level = min(
        cap,
        resolve_level(
            blanket.imp_level, crossing=crossing, authn_svc=blanket.authn_svc, user=presented.user
        ),
    )
    if level is ImpersonationLevel.SecurityAnonymous:  # the token carries nothing about the client
        return HResult.S_OK, AccessToken(
            ANONYMOUS_LOGON, level=level, source=_SOURCES.get(blanket.authn_svc), hops=hops
        )
    # An explicit identity made by a security package (an SSPI context) keeps its source.
    explicit = not cloaked and presented is blanket.identity and presented.source is not None
    source = presented.source if explicit else _SOURCES.get(blanket.authn_svc)
    return HResult.S_OK, AccessToken(
        presented.user, presented.groups, level=level, source=source, hops=hops
    )
