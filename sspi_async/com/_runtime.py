"""The COM runtime: apartments, proxies and process-wide security defaults (SPEC §7, I6–I13).

::

    async with com.Runtime() as rt:             # nesting="apartment", error_style="observed"
        sta = rt.sta("A")
        ref = sta.register(MyServer())
        proxy = rt.proxy(ref, identity=alice, imp_level=RPC_C_IMP_LEVEL_IMPERSONATE)
        hr, total = await proxy.Add(1, 2)

Every task the runtime starts (an STA's task, an MTA call's task) is cancelled and awaited on
close; calls still queued then reply ``RPC_E_DISCONNECTED``. Cancelling an STA's task shuts that
apartment down (choice): the call running in it is cancelled (its ``Begin_`` sees
``CancelledError``, its client ``RPC_E_CALL_CANCELED``).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Coroutine
from typing import Any

from .._core._emulator import Emulator, current_emulator
from .._core._messages import query_attributes
from .._flags import SECPKG_ATTR_NAMES, SECPKG_ATTR_REMOTE_CERT_CONTEXT
from .._identity import AccessToken
from .._status import SecurityStatus
from ._apartment import MTA, STA, Apartment, ObjectRef
from ._cloaking import ClientBlanket, check_blanket
from ._hresults import (
    EOAC_NONE,
    RPC_C_AUTHN_GSS_SCHANNEL,
    RPC_C_AUTHN_LEVEL_CONNECT,
    RPC_C_AUTHN_LEVEL_PKT_PRIVACY,
    RPC_C_AUTHN_WINNT,
    RPC_C_IMP_LEVEL_IDENTIFY,
    HResult,
)
from ._options import ComOptions, ErrorStyle, Nesting
from ._proxy import Proxy

__all__ = ("Runtime",)


class Runtime:
    """An in-process COM runtime for asynchronous calls.

    Args:
        nesting: ``"apartment"`` (default, I10) or ``"traditional"`` (R11).
        error_style: ``"observed"`` (default: ``RPC_E_CALL_COMPLETE`` after Signal) or
            ``"documented"`` (``E_FAIL``), I8.
        strict_worker_revert: retire worker-task impersonations when their call completes (R9).
        server_principal: the server principal name ``QueryBlanket`` reports (default: the
            process token's user).
    """

    def __init__(
        self,
        *,
        nesting: Nesting = "apartment",
        error_style: ErrorStyle = "observed",
        strict_worker_revert: bool = False,
        server_principal: str | None = None,
    ) -> None:
        self.options = ComOptions(nesting, error_style, strict_worker_revert)
        self._principal = server_principal
        self._ids = itertools.count(1)
        self._tasks: set[asyncio.Task[None]] = set()
        self._apartments: list[Apartment] = []
        self._mtas: dict[str, MTA] = {}
        self._defaults = ClientBlanket()
        self._open = False

    async def __aenter__(self) -> Runtime:
        self._open = True
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    @property
    def server_principal(self) -> str:
        """The server principal name calls report."""
        from .._core._impersonation import process_token

        return self._principal or process_token().user

    def next_call_id(self) -> int:
        """A new call id (unique within this runtime)."""
        return next(self._ids)

    def _check_open(self) -> None:
        if not self._open:
            raise RuntimeError(
                "the COM runtime is not running: use `async with com.Runtime() as rt:`"
            )

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # ----------------------------------------------------------------------- apartments

    def sta(self, name: str, *, machine: str = "local") -> STA:
        """A new single-threaded apartment (its own task) on ``machine``."""
        self._check_open()
        apartment = STA(name, machine, self._spawn)
        self._apartments.append(apartment)
        return apartment

    def mta(self, machine: str = "local") -> MTA:
        """The multithreaded apartment of ``machine`` (made on first use)."""
        self._check_open()
        if machine not in self._mtas:
            self._mtas[machine] = MTA(f"MTA@{machine}", machine, self._spawn)
            self._apartments.append(self._mtas[machine])
        return self._mtas[machine]

    # --------------------------------------------------------------------- security

    def initialize_security(
        self,
        *,
        authn_svc: int = RPC_C_AUTHN_WINNT,
        authn_level: int = RPC_C_AUTHN_LEVEL_CONNECT,
        imp_level: int = RPC_C_IMP_LEVEL_IDENTIFY,
        capabilities: int = EOAC_NONE,
    ) -> int:
        """``CoInitializeSecurity``: the blanket of proxies made afterwards. Static cloaking set
        here captures on each proxy's first call (R16). Both cloaking flags, or cloaking with
        Schannel → ``E_INVALIDARG`` and nothing changes (R17)."""
        blanket = ClientBlanket(
            authn_svc=authn_svc,
            authn_level=authn_level,
            imp_level=imp_level,
            capabilities=capabilities,
        )
        hr = check_blanket(blanket)
        if hr == HResult.S_OK:
            self._defaults = blanket
        return hr

    def proxy(
        self,
        ref: ObjectRef,
        *,
        identity: AccessToken | None = None,
        authn_svc: int | None = None,
        authn_level: int | None = None,
        imp_level: int | None = None,
        client_machine: str = "local",
    ) -> Proxy:
        """A client proxy to ``ref``; unset blanket fields come from :meth:`initialize_security`.

        ``identity`` is the client's explicit identity (presented without cloaking);
        ``client_machine`` is where a caller outside any apartment runs (callers inside an
        apartment use the apartment's machine).
        """
        self._check_open()
        if not isinstance(ref, ObjectRef):
            raise TypeError(f"proxy() needs an ObjectRef from Apartment.register(), not {ref!r}")
        base = self._defaults
        blanket = ClientBlanket(
            authn_svc=base.authn_svc if authn_svc is None else authn_svc,
            authz_svc=base.authz_svc,
            authn_level=base.authn_level if authn_level is None else authn_level,
            imp_level=base.imp_level if imp_level is None else imp_level,
            identity=identity,
            capabilities=base.capabilities,
        )
        hr = check_blanket(blanket)
        if hr != HResult.S_OK:
            raise ValueError(
                f"invalid blanket for a proxy ({HResult(hr).name}): authentication level 0–6, "
                "impersonation level 0–4, and no cloaking with Schannel"
            )
        return Proxy(self, ref, blanket, client_machine=client_machine)

    def proxy_for_context(
        self,
        ref: ObjectRef,
        phContext: object,
        *,
        client_machine: str = "local",
        emulator: Emulator | None = None,
    ) -> tuple[int, Proxy | None]:
        """A proxy whose calls are authenticated by a complete SSPI **server** context (SimTLS
        or Schannel): they carry that context's client identity and level (the token
        ``QuerySecurityContextToken`` gives), at ``RPC_C_AUTHN_LEVEL_PKT_PRIVACY`` through
        ``RPC_C_AUTHN_GSS_SCHANNEL`` (both TLS-shaped packages; so no cloaking, R17).
        ``QueryBlanket``'s ``privs`` is the client certificate (Schannel) or None.

        Returns ``(SEC_E_OK, proxy)``, or ``(SEC_E_INVALID_HANDLE, None)`` for an unknown,
        deleted or incomplete context. A context with no client token (no mapped client,
        ``SEC_E_NO_IMPERSONATION``; the kernel profile, ``SEC_E_UNSUPPORTED_FUNCTION``) still
        authenticates the call, but ``ImpersonateClient`` then fails with ``E_FAIL``.
        """
        self._check_open()
        engine = (emulator or current_emulator()).engine
        status, _ = query_attributes(engine, phContext, SECPKG_ATTR_NAMES, allocate=False)
        if status != SecurityStatus.SEC_E_OK:
            return status, None
        status, token = engine.query_token(phContext)  # type: ignore[arg-type]
        if status not in (
            SecurityStatus.SEC_E_OK,
            SecurityStatus.SEC_E_NO_IMPERSONATION,
            SecurityStatus.SEC_E_UNSUPPORTED_FUNCTION,
        ):
            return status, None
        status, cert = query_attributes(
            engine, phContext, SECPKG_ATTR_REMOTE_CERT_CONTEXT, allocate=False
        )
        level = 1 + (token.level if token is not None else 1)  # RPC_C_IMP_LEVEL = Security + 1
        blanket = ClientBlanket(
            authn_svc=RPC_C_AUTHN_GSS_SCHANNEL,
            authn_level=RPC_C_AUTHN_LEVEL_PKT_PRIVACY,
            imp_level=level,
            identity=token,
        )
        privs = cert if status == SecurityStatus.SEC_E_OK else None
        proxy = Proxy(
            self, ref, blanket, client_machine=client_machine, privs=privs, no_client=token is None
        )
        return SecurityStatus.SEC_E_OK, proxy

    # ----------------------------------------------------------------------------- close

    async def aclose(self) -> None:
        """Cancel and await every task the runtime started; abandon calls still queued."""
        self._open = False
        for apartment in self._apartments:
            apartment.closed = True
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for apartment in self._apartments:
            apartment.abandon_pending()
