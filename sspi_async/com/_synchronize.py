"""``ISynchronize``: the event a COM asynchronous call is signaled through (I12, R18).

* ``Signal()`` sets the object signaled and returns ``S_OK``; it may be called again, and from a
  worker thread (the waiters are woken on the loop).
* ``await Wait(ms)`` returns ``S_OK`` once signaled, ``RPC_S_CALLPENDING`` when ``ms``
  milliseconds pass first; ``0`` polls, ``INFINITE`` waits for ever. In an STA task the wait is the
  COM modal loop: incoming calls are dispatched meanwhile.
* ``StdEvent`` (default) resets itself when a wait succeeds and wakes one waiter per signal;
  ``ManualResetEvent`` stays signaled and wakes every waiter until ``Reset()``.

The argument order is ``Wait(dwMilliseconds, dwFlags=0)`` (choice): the SPEC writes ``Wait(ms)``;
Win32's ``Wait(dwFlags, dwMilliseconds)`` flags (COWAIT_*) change nothing here.
"""

from __future__ import annotations

import asyncio
import enum
import threading
from collections import deque
from collections.abc import Callable

from ._apartment import modal_wait
from ._hresults import INFINITE, HResult

__all__ = ("EventKind", "ISynchronize")


class EventKind(enum.Enum):
    """Which system synchronization object: CLSID_StdEvent or CLSID_ManualResetEvent."""

    StdEvent = "auto-reset"
    ManualResetEvent = "manual-reset"


class ISynchronize:
    """An emulated ``ISynchronize`` (``CLSID_StdEvent`` or ``CLSID_ManualResetEvent``)."""

    def __init__(
        self,
        kind: EventKind = EventKind.StdEvent,
        *,
        on_signal: Callable[[], None] | None = None,
    ) -> None:
        self.kind = kind
        self._on_signal = on_signal
        self._signaled = False
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: int | None = None

    @property
    def signaled(self) -> bool:
        """Whether the object is in the signaled state now."""
        return self._signaled

    def Signal(self) -> int:
        """Set the signaled state; wake one waiter (StdEvent) or all (ManualResetEvent).

        Returns ``S_OK`` (always, R18). A server call object's Signal also closes its call
        context before it returns (I8).
        """
        if self._on_signal is not None:
            self._on_signal()
        loop = self._loop
        if loop is not None and threading.get_ident() != self._thread:
            loop.call_soon_threadsafe(self._set)
        else:
            self._set()
        return HResult.S_OK

    def _set(self) -> None:
        with self._lock:
            if self.kind is EventKind.ManualResetEvent:
                self._signaled = True
                woken = list(self._waiters)
                self._waiters.clear()
            else:
                while self._waiters and self._waiters[0].done():
                    self._waiters.popleft()
                if self._waiters:
                    woken = [self._waiters.popleft()]  # the waiter consumes the signal
                else:
                    self._signaled = True
                    woken = []
        for waiter in woken:
            if not waiter.done():
                waiter.set_result(None)

    def Reset(self) -> int:
        """Set the nonsignaled state; returns ``S_OK`` (R18)."""
        with self._lock:
            self._signaled = False
        return HResult.S_OK

    async def Wait(self, dwMilliseconds: int = INFINITE, dwFlags: int = 0) -> int:
        """Wait for the signal: ``S_OK``, or ``RPC_S_CALLPENDING`` on time-out (R18)."""
        if not isinstance(dwMilliseconds, int) or not 0 <= dwMilliseconds <= INFINITE:
            return HResult.E_INVALIDARG
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop, self._thread = loop, threading.get_ident()
        with self._lock:
            if self._signaled:
                if self.kind is EventKind.StdEvent:
                    self._signaled = False
                return HResult.S_OK
            if dwMilliseconds == 0:
                return HResult.RPC_S_CALLPENDING
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.append(waiter)
        timeout = None if dwMilliseconds == INFINITE else dwMilliseconds / 1000
        try:
            await modal_wait(waiter, timeout)
        finally:
            with self._lock:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
                woken = waiter.done()
                if not woken:
                    waiter.cancel()
        return HResult.S_OK if woken else HResult.RPC_S_CALLPENDING

    def __repr__(self) -> str:
        state = "signaled" if self._signaled else "nonsignaled"
        return f"<ISynchronize {self.kind.name} {state}>"
