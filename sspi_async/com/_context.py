"""The call context of the running task: ``CoGetCallContext`` and the ``Co*`` helpers (I6, R1).

The dispatcher marks the task that runs a call (``Begin_`` or a synchronous method) with that
call, owner-checked like the thread token, so a child task, a callback or a worker thread has no
call context (reference §6.3). Nested calls in an STA stack up and unwind in order.

``CoGetCallContext`` with no current call returns ``RPC_E_CALL_COMPLETE`` — undocumented, but
what Wine and real callers show (reference §1). Between ``Signal`` and ``Begin_``'s return the
dispatch task still has its call context (choice; the docs are silent): the IServerSecurity is
returned, and its ``ImpersonateClient`` fails (I8).
"""

from __future__ import annotations

import contextvars
import uuid

from ._apartment import running_task
from ._cancel import ICancelMethodCalls
from ._hresults import HResult, IID_ICancelMethodCalls, IID_IServerSecurity
from ._server_call import CallBlanket, IServerSecurity, ServerCall

__all__ = (
    "CoGetCallContext",
    "CoImpersonateClient",
    "CoQueryClientBlanket",
    "CoRevertToSelf",
    "CoTestCancel",
    "current_call",
    "enter_call",
    "leave_call",
)

_call: contextvars.ContextVar[tuple[object, ServerCall] | None] = contextvars.ContextVar(
    "sspi_async_com_call", default=None
)


def current_call() -> ServerCall | None:
    """The call the running task is dispatching, or None."""
    entry = _call.get()
    task = running_task()
    if entry is not None and task is not None and entry[0] is task:
        return entry[1]
    return None


def enter_call(call: ServerCall) -> contextvars.Token[tuple[object, ServerCall] | None]:
    """Mark the running task as dispatching ``call`` (the dispatcher only)."""
    return _call.set((running_task(), call))


def leave_call(token: contextvars.Token[tuple[object, ServerCall] | None]) -> None:
    """Undo :func:`enter_call` (same task, so ``reset`` is allowed)."""
    _call.reset(token)


def CoGetCallContext(riid: uuid.UUID) -> tuple[int, IServerSecurity | ICancelMethodCalls | None]:
    """The current call's ``IServerSecurity`` or ``ICancelMethodCalls`` (I6, R1).

    Returns ``(S_OK, interface)``; ``(E_NOINTERFACE, None)`` for another IID;
    ``(RPC_E_CALL_COMPLETE, None)`` when the running task is dispatching no call.
    """
    call = current_call()
    if call is None:
        return HResult.RPC_E_CALL_COMPLETE, None
    if riid == IID_IServerSecurity:
        return HResult.S_OK, call.security
    if riid == IID_ICancelMethodCalls:
        return HResult.S_OK, call.cancel_interface
    return HResult.E_NOINTERFACE, None


def CoImpersonateClient() -> int:
    """``CoGetCallContext(IID_IServerSecurity)`` + ``ImpersonateClient`` (I6)."""
    call = current_call()
    if call is None:
        return HResult.RPC_E_CALL_COMPLETE
    return call.security.ImpersonateClient()


def CoRevertToSelf() -> int:
    """``CoGetCallContext(IID_IServerSecurity)`` + ``RevertToSelf`` (I6)."""
    call = current_call()
    if call is None:
        return HResult.RPC_E_CALL_COMPLETE
    return call.security.RevertToSelf()


def CoQueryClientBlanket() -> tuple[int, CallBlanket | None]:
    """``CoGetCallContext(IID_IServerSecurity)`` + ``QueryBlanket`` (R1, R15)."""
    call = current_call()
    if call is None:
        return HResult.RPC_E_CALL_COMPLETE, None
    return call.security.QueryBlanket()


def CoTestCancel() -> int:
    """``TestCancel`` on the current call (R20); ``RPC_E_CALL_COMPLETE`` with no call."""
    call = current_call()
    if call is None:
        return HResult.RPC_E_CALL_COMPLETE
    return call.test_cancel()
