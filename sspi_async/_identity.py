"""Access tokens (L1): who a task is acting as (SPEC §7).

An :class:`AccessToken` is immutable data. Which token is in force for the running task is the
emulator's business (``sspi_async._core._impersonation``); this module only describes tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from ._flags import ImpersonationLevel

__all__ = ("ANONYMOUS_LOGON", "SE_IMPERSONATE_NAME", "AccessToken")

#: The account an anonymous (null-session) client is shown as.
ANONYMOUS_LOGON: Final = "NT AUTHORITY\\ANONYMOUS LOGON"
#: The privilege that lets a server impersonate other users above IDENTIFY (reference §3.2, R13).
SE_IMPERSONATE_NAME: Final = "SeImpersonatePrivilege"


@dataclass(frozen=True, slots=True)
class AccessToken:
    """An emulated Windows access token.

    Attributes:
        user: the account name (SimTLS: the client's principal).
        groups: group names the account belongs to.
        level: the impersonation level (``SecurityImpersonation`` for a process token).
        source: the security package that produced it (``None`` for the process token).
        is_process: True for the server's own (process) token.
        privileges: privilege names held (the process token's ``SeImpersonatePrivilege`` lets a
            COM server impersonate callers above IDENTIFY, reference R13).
        hops: machine boundaries the client's credentials crossed to reach this token (COM
            cloaking: an IMPERSONATE-level token may cross at most one, reference R17).
    """

    user: str
    groups: tuple[str, ...] = ()
    level: ImpersonationLevel = ImpersonationLevel.SecurityImpersonation
    source: str | None = None
    is_process: bool = False
    privileges: tuple[str, ...] = ()
    hops: int = 0
