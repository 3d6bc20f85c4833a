"""The dispatcher: runs one incoming call in its apartment's task (I8–I10, R6–R11, R26).

Theory of operation
-------------------
:meth:`Invocation.run` is the stub. In the apartment's task it

1. asks the server object's call factory for a call object when the client made an asynchronous
   call (or the object only has the asynchronous form), else uses the synchronous method;
2. brackets the call: the task's token slot is saved (and, in apartment mode, reset to the
   process token, I10) and the task is marked with the call's context (I6);
3. awaits ``Begin_<M>`` (or the synchronous method);
4. however it ends — return, exception, cancellation — restores the slot and the call context
   *before anything else can run* (I9/R8; no ``await`` in the ``finally``), warns when an SSPI
   impersonation was still in force (R26), and closes the call context itself when nobody
   signaled: a synchronous method, a failed/raising/cancelled ``Begin_`` (R6);
5. once the call is complete (signaled and returned), collects ``Finish_<M>``'s HRESULT and out
   parameters and sends them as the reply.

A ``Begin_`` or method that raises replies ``RPC_E_SERVERFAULT``, as COM's stubs do; one that is
cancelled replies ``RPC_E_CALL_CANCELED``; a call still queued when its apartment closes replies
``RPC_E_DISCONNECTED``.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any

from .._core._impersonation import current_token, enter_dispatch, leave_dispatch
from .._core._log import (
    COM_CALL_DISPATCHED,
    COM_CALL_RETURNED,
    COM_MIXED_REVERT,
    enabled,
    logger,
)
from .._identity import AccessToken
from ._context import current_call, enter_call, leave_call
from ._hresults import HResult, hresult_name
from ._objects import ComObject, ServerCallObject
from ._server_call import ServerCall
from ._synchronize import ISynchronize

__all__ = ("Invocation", "Reply", "as_result")

Reply = Callable[[tuple[Any, ...]], None]


def as_result(value: object) -> tuple[Any, ...]:
    """A server method's return value as ``(HRESULT, *out)``: None → ``(S_OK,)``."""
    if value is None:
        return (HResult.S_OK,)
    if isinstance(value, int):
        return (value,)
    if isinstance(value, tuple) and value and isinstance(value[0], int):
        return value
    raise TypeError(
        f"a COM method returns an HRESULT or a tuple (HRESULT, *out), not {type(value).__name__}"
    )


def _failed(hr: int) -> bool:
    return hr & 0x80000000 != 0


class Invocation:
    """One incoming call, queued to its apartment (a ``Work`` item)."""

    def __init__(
        self,
        call: ServerCall,
        obj: ComObject,
        args: tuple[Any, ...],
        *,
        prefer_async: bool,
        reply: Reply,
    ) -> None:
        self.call = call
        self.obj = obj
        self.args = args
        self.prefer_async = prefer_async
        self._reply = reply
        self._callobj: ServerCallObject | None = None
        self._result: tuple[Any, ...] | None = None
        call.on_complete = self._complete

    def abandon(self) -> None:
        """The apartment closed before the call ran."""
        self._reply((HResult.RPC_E_DISCONNECTED,))

    def _target(self) -> tuple[Callable[..., Any] | None, int]:
        """Step 1: the callable to run (Begin_ or the method), or None and the HRESULT."""
        method = self.call.method
        if self.prefer_async or not self.obj.has_method(method):
            hr, callobj = self.obj.CreateCall(method)
            begin = getattr(callobj, f"Begin_{method}", None)
            if hr == HResult.S_OK and callobj is not None and callable(begin):
                callobj.attach(
                    self.call.call_id,
                    ISynchronize(on_signal=self.call.signal),
                    self.call.cancel_interface,
                )
                self._callobj = callobj
                return begin, HResult.S_OK
        if self.obj.has_method(method):
            return getattr(self.obj, method), HResult.S_OK
        return None, HResult.E_NOINTERFACE

    async def run(self) -> None:
        """Steps 2–5, in the apartment's task."""
        call = self.call
        target, hr = self._target()
        if target is None:
            self._result = (hr,)
            call.signal()
            call.returned()
            return
        call.dispatch_task = asyncio.current_task()
        nested = current_call() is not None
        mark = enter_dispatch(call.options.nesting)
        context = enter_call(call)
        if enabled():
            logger.info(
                COM_CALL_DISPATCHED,
                call_id=call.call_id,
                method=call.method,
                user=call.user,
                apartment=call.apartment.name,
                nested=nested,
                asynchronous=self._callobj is not None,
            )
        outcome, error, hr = "returned", None, HResult.E_UNEXPECTED
        try:
            value = target(*self.args)
            if inspect.isawaitable(value):
                value = await value
            result = as_result(value)
            hr = result[0]
            if self._callobj is None or _failed(hr):
                self._result = result  # a synchronous result, or a failed Begin_: no Finish_
        except asyncio.CancelledError:
            outcome, self._result = "cancelled", (HResult.RPC_E_CALL_CANCELED,)
            hr = HResult.RPC_E_CALL_CANCELED
            raise
        except Exception as exc:
            outcome, error = "raised", exc
            self._result = (HResult.RPC_E_SERVERFAULT,)
            hr = HResult.RPC_E_SERVERFAULT
        finally:
            # I9/R8: no await from here on; nothing else runs before the slot is restored.
            leaked = leave_dispatch(mark)
            leave_call(context)
            self._log_return(outcome, hr, error, leaked)
            if self._result is not None:
                call.signal()  # nobody else will: the call context closes now (R6)
            call.returned()

    def _log_return(
        self, outcome: str, hr: int, error: Exception | None, leaked: AccessToken | None
    ) -> None:
        if not enabled():
            return
        call = self.call
        if leaked is not None:
            logger.warning(
                COM_MIXED_REVERT,
                call_id=call.call_id,
                by="auto-revert",
                ended=leaked.user,
                restored=current_token().user,
            )
        logger.info(
            COM_CALL_RETURNED,
            call_id=call.call_id,
            method=call.method,
            user=call.user,
            outcome=outcome,
            hresult=hresult_name(hr),
            token=current_token().user,
            error=None if error is None else repr(error),
        )

    def _complete(self) -> None:
        """Step 5: signaled and returned — collect Finish_ and reply."""
        if self._result is None and self._callobj is not None:
            finish = getattr(self._callobj, f"Finish_{self.call.method}", None)
            try:
                self._result = as_result(finish()) if callable(finish) else (HResult.E_NOINTERFACE,)
            except Exception:
                self._result = (HResult.RPC_E_SERVERFAULT,)
        self._reply(self._result or (HResult.E_UNEXPECTED,))
