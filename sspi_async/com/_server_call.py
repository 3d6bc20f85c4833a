"""One dispatched COM call on the server side, and its ``IServerSecurity`` (I6–I9, I11, R1–R9,
R15, R20, R26).

A :class:`ServerCall` holds what the server may learn about its caller (the client token, already
limited to its impersonation level, and the blanket) and the call's server lifecycle
(``_call_state``). :class:`IServerSecurity` is the interface the server reaches through
``CoGetCallContext``; its methods are the Win32 ones and return HRESULT ints.

Choices (reference §8): ``ImpersonateClient`` after ``Signal`` returns ``RPC_E_CALL_COMPLETE``
(``E_FAIL`` with ``error_style="documented"``); on an unauthenticated call
(``RPC_C_AUTHN_LEVEL_NONE``) it returns ``RPC_E_UNSECURE_CALL``; when the call carries no client
token (an SSPI context whose client maps to no account) it returns ``E_FAIL``. The interface is
usable from any task of the call's event loop; from another thread or loop every method returns
``RPC_E_WRONG_THREAD`` (``IsImpersonating``: False). ``QueryBlanket`` after ``Signal`` returns
``RPC_E_CALL_COMPLETE``. ``RevertToSelf`` works at any time: it ends the running task's COM
impersonation, whichever IServerSecurity made it (R4), and is ``S_OK`` with no change when there
is none (R5).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from .._core._impersonation import (
    Frame,
    com_frame,
    com_impersonate,
    com_revert,
    current_token,
    retire,
)
from .._core._log import (
    COM_CALL_SIGNALED,
    COM_MIXED_REVERT,
    IMPERSONATION_BEGIN,
    IMPERSONATION_END,
    enabled,
    logger,
)
from .._identity import AccessToken
from ._apartment import Apartment, call_in_loop
from ._call_state import ServerEvent, ServerState, server_transition
from ._cancel import ICancelMethodCalls
from ._errors import ComError
from ._hresults import RPC_C_AUTHN_LEVEL_NONE, HResult
from ._options import ComOptions

__all__ = ("CallBlanket", "IServerSecurity", "ServerCall")


@dataclass(frozen=True, slots=True)
class CallBlanket:
    """What ``IServerSecurity::QueryBlanket`` reports. There is no impersonation level: the
    server cannot read it here (R15); it reads ``current_token().level`` after impersonating.

    Attributes:
        authn_svc: the authentication service (``RPC_C_AUTHN_*``).
        authz_svc: the authorization service (``RPC_C_AUTHZ_*``).
        server_principal: the server's principal name.
        authn_level: the authentication level of the call (``RPC_C_AUTHN_LEVEL_*``).
        privs: Schannel: the client certificate (``CERT_CONTEXT``) or None; other services: the
            client's account name; None for an unauthenticated call.
        capabilities: the client's ``EOAC_*`` capabilities.
    """

    authn_svc: int
    authz_svc: int
    server_principal: str | None
    authn_level: int
    privs: object
    capabilities: int


class ServerCall:
    """The server-side state of one call (reference §8.1)."""

    def __init__(
        self,
        *,
        call_id: int,
        method: str,
        client: AccessToken | None,
        blanket: CallBlanket,
        apartment: Apartment,
        options: ComOptions,
    ) -> None:
        self.call_id = call_id
        self.method = method
        self.client = client
        self.blanket = blanket
        self.apartment = apartment
        self.options = options
        self.loop = asyncio.get_running_loop()
        self.state = ServerState.DISPATCHED
        self.dispatch_task: asyncio.Task[Any] | None = None
        self.worker_frames: list[Frame] = []
        self.on_complete: Callable[[], None] | None = None
        self.cancelled = False
        self._cancel_waiters: list[asyncio.Future[None]] = []
        self._lock = threading.Lock()
        self.security = IServerSecurity(self)
        self.cancel_interface = ICancelMethodCalls(self)

    # ------------------------------------------------------------------ lifecycle (R6–R8)

    @property
    def user(self) -> str | None:
        """The client's account name (for logs), None when the call carries no client token."""
        return None if self.client is None else self.client.user

    def signal(self) -> None:
        """``Signal`` returned (I8): close the call context; complete if Begin_ returned."""
        with self._lock:
            before = self.state
            self.state = server_transition(before, ServerEvent.SIGNAL)
        if before in (ServerState.SIGNALED, ServerState.COMPLETE):
            return
        if enabled():
            logger.info(COM_CALL_SIGNALED, call_id=self.call_id, method=self.method, user=self.user)
        if self.state is ServerState.COMPLETE:
            call_in_loop(self.loop, self._completed)

    def returned(self) -> None:
        """Begin_ (or the synchronous method) returned, raised or was cancelled (R8)."""
        with self._lock:
            self.state = server_transition(self.state, ServerEvent.RETURN)
        if self.state is ServerState.COMPLETE:
            self._completed()

    @property
    def begin_running(self) -> bool:
        """True until Begin_ (or the synchronous method) returned."""
        return self.state in (ServerState.DISPATCHED, ServerState.SIGNALED)

    def _completed(self) -> None:
        """Both Signal and the return happened: reply, then deal with worker impersonations
        (R9) — last, so a ``-W error`` turning the warning into an exception leaves the call
        complete."""
        if self.on_complete is not None:
            self.on_complete()
        active = [frame for frame in self.worker_frames if frame.active]
        if not active:
            return
        strict = self.options.strict_worker_revert
        if strict:
            for frame in active:
                retire(frame)
        warnings.warn(
            f"COM call {self.call_id} ({self.method}) completed while {len(active)} worker "
            "task(s) still impersonate its client"
            + ("; strict_worker_revert retired them" if strict else "")
            + ": call RevertToSelf in the worker before Signal",
            ResourceWarning,
            stacklevel=3,
        )

    def _wrong_thread(self) -> bool:
        try:
            return asyncio.get_running_loop() is not self.loop
        except RuntimeError:
            return True

    # ----------------------------------------------------------- impersonation (R3–R9)

    def impersonate(self) -> int:
        """``ImpersonateClient`` (I7, I8, I11; R3, R4, R6, R9)."""
        if self._wrong_thread():
            return HResult.RPC_E_WRONG_THREAD  # R2 (choice)
        with self._lock:
            open_ = self.state.open
        if not open_:  # I8/R6: after Signal returned, in every task, token unchanged
            if self.options.error_style == "documented":
                return HResult.E_FAIL
            return HResult.RPC_E_CALL_COMPLETE
        if self.blanket.authn_level == RPC_C_AUTHN_LEVEL_NONE:
            return HResult.RPC_E_UNSECURE_CALL  # R3 (choice of code)
        if self.client is None:
            return HResult.E_FAIL  # "the caller can not impersonate the client"
        frame = com_impersonate(self.client, self)
        task = asyncio.current_task()
        if task is not self.dispatch_task or not self.begin_running:
            self.worker_frames.append(frame)  # R9: not auto-reverted by the dispatcher
        if enabled():
            logger.info(
                IMPERSONATION_BEGIN,
                via="com",
                call_id=self.call_id,
                user=self.client.user,
                level=self.client.level.name,
                source=self.client.source,
            )
        return HResult.S_OK

    def revert(self) -> int:
        """``RevertToSelf`` (I7; R4, R5, R26)."""
        if self._wrong_thread():
            return HResult.RPC_E_WRONG_THREAD
        reverted = com_revert()
        if reverted is None:
            return HResult.S_OK  # R5: not impersonating, nothing changes
        if enabled():
            if reverted.over_raw:  # R26: Windows leaves this undefined; we restore and warn
                logger.warning(
                    COM_MIXED_REVERT,
                    call_id=self.call_id,
                    by="RevertToSelf",
                    ended=reverted.ended.user,
                    restored=current_token().user,
                )
            logger.info(
                IMPERSONATION_END, via="com", call_id=self.call_id, user=reverted.ended.user
            )
        return HResult.S_OK

    def is_impersonating(self) -> bool:
        """``IsImpersonating``: the running task's COM impersonation was made through this call."""
        if self._wrong_thread():
            return False
        frame = com_frame()
        return frame is not None and frame.via is self

    def query_blanket(self, pImpLevel: object = None) -> tuple[int, CallBlanket | None]:
        """``QueryBlanket`` (R15): never the impersonation level; after Signal, call complete."""
        if self._wrong_thread():
            return HResult.RPC_E_WRONG_THREAD, None
        if pImpLevel is not None:
            return HResult.E_INVALIDARG, None  # "pImpLevel must be NULL"
        if not self.state.open:
            return HResult.RPC_E_CALL_COMPLETE, None  # R6 (choice)
        return HResult.S_OK, self.blanket

    # --------------------------------------------------------------- cancellation (R20)

    def request_cancel(self) -> None:
        """Record a cancel request; wake :meth:`cancel_requested` waiters."""
        self.cancelled = True
        for waiter in self._cancel_waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._cancel_waiters.clear()

    async def cancel_call(self, seconds: int) -> int:
        """Server-side ``Cancel``: records the request, waits for nothing."""
        if self.state is ServerState.COMPLETE:
            return HResult.RPC_E_CALL_COMPLETE
        if self.cancelled:
            return HResult.RPC_E_CALL_CANCELED
        self.request_cancel()
        return HResult.S_OK

    def test_cancel(self) -> int:
        """``TestCancel`` (R20)."""
        return HResult.RPC_E_CALL_CANCELED if self.cancelled else HResult.RPC_S_CALLPENDING

    async def cancel_requested(self) -> None:
        """Return once cancellation was requested."""
        if self.cancelled:
            return
        waiter: asyncio.Future[None] = self.loop.create_future()
        self._cancel_waiters.append(waiter)
        await asyncio.wait((waiter,))

    def __repr__(self) -> str:
        return f"<ServerCall {self.call_id} {self.method} {self.state.value} user={self.user!r}>"


class IServerSecurity:
    """The call context a server reaches through ``CoGetCallContext(IID_IServerSecurity)``."""

    def __init__(self, call: ServerCall) -> None:
        self._call = call

    @property
    def call_id(self) -> int:
        """The id of the call this object belongs to (as in the ``com.call.*`` log events)."""
        return self._call.call_id

    def QueryBlanket(self, pImpLevel: object = None) -> tuple[int, CallBlanket | None]:
        """``(S_OK, blanket)``; passing anything for ``pImpLevel`` is ``E_INVALIDARG`` (R15)."""
        return self._call.query_blanket(pImpLevel)

    def ImpersonateClient(self) -> int:
        """Put the client's token in force for the running task (I7, I8, I11)."""
        return self._call.impersonate()

    def RevertToSelf(self) -> int:
        """End the running task's COM impersonation (I7; R4, R5)."""
        return self._call.revert()

    def IsImpersonating(self) -> bool:
        """True when the running task impersonates through this call (reference §8.1)."""
        return self._call.is_impersonating()

    @contextlib.contextmanager
    def impersonated(self) -> Iterator[AccessToken]:
        """``with ss.impersonated() as token:`` — impersonate, then revert on the way out.

        Raises:
            ComError: ``ImpersonateClient`` failed (its HRESULT is ``.hresult``).
        """
        hr = self.ImpersonateClient()
        if hr != HResult.S_OK:
            raise ComError(
                f"ImpersonateClient failed for call {self.call_id} ({self._call.method}); "
                "impersonate before Signal, on an authenticated call, in the call's event loop",
                hr,
            )
        try:
            yield current_token()
        finally:
            self.RevertToSelf()

    def __repr__(self) -> str:
        return f"<IServerSecurity call {self.call_id}>"
