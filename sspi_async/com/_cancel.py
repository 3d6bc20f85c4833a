"""``ICancelMethodCalls``: cancelling a COM call (I12, R20).

COM cancellation is a request, not an interruption: the client asks, the server notices through
``TestCancel`` (or, here, by awaiting :meth:`ICancelMethodCalls.requested`) and finishes early.
The same interface is reachable from the client's call object and from the server (its call
object's ``cancel``, or ``CoGetCallContext(IID_ICancelMethodCalls)``).

* ``await Cancel(secs)`` → ``S_OK`` (request made; the call did not finish within ``secs``
  seconds), ``RPC_E_CALL_COMPLETE`` (no call, or it completed within ``secs``),
  ``RPC_E_CALL_CANCELED`` (already cancelled), ``CO_E_CANCEL_DISABLED`` (the call object was
  made with ``cancel_enabled=False``). From the server side it only records the request.
* ``TestCancel()`` → ``RPC_E_CALL_CANCELED`` once cancellation was requested, else
  ``RPC_S_CALLPENDING`` (``RPC_E_CALL_COMPLETE`` when there is no call).
* Cancellation by itself does **not** close the call context: the server may still impersonate
  until it signals (R20, choice).
"""

from __future__ import annotations

from typing import Protocol

__all__ = ("CancelTarget", "ICancelMethodCalls")


class CancelTarget(Protocol):
    """The side (client call object or server call) an ``ICancelMethodCalls`` speaks for."""

    async def cancel_call(self, seconds: int) -> int:
        """Request cancellation and wait up to ``seconds`` for the call to complete."""

    def test_cancel(self) -> int:
        """Whether cancellation was requested."""

    async def cancel_requested(self) -> None:
        """Return once cancellation was requested."""


class ICancelMethodCalls:
    """An emulated ``ICancelMethodCalls``."""

    def __init__(self, target: CancelTarget) -> None:
        self._target = target

    async def Cancel(self, ulSeconds: int) -> int:
        """Request cancellation of the call and wait up to ``ulSeconds`` seconds (R20)."""
        return await self._target.cancel_call(ulSeconds)

    def TestCancel(self) -> int:
        """``RPC_E_CALL_CANCELED`` if cancellation was requested, else ``RPC_S_CALLPENDING``."""
        return self._target.test_cancel()

    async def requested(self) -> None:
        """Return once cancellation is requested (a Pythonic alternative to polling
        ``TestCancel``)."""
        await self._target.cancel_requested()
