"""Emulated delays with ``time_scale`` (SPEC §9): real waiting, scaled, or none at all in order.

The emulator delays a call's work for simulated LSA latency and for fault-plan ``delay`` actions.
:class:`DelayScheduler` runs such work after ``delay * time_scale`` seconds of event-loop time
(``loop.call_later``). With ``time_scale == 0`` nothing waits, yet the order is kept: the scheduler
keeps a *virtual clock* and runs delayed work in order of virtual due time (ties: first scheduled,
first run), one item at a time and only when the event loop has nothing else ready to run, so
that what is already scheduled with ``call_soon`` (an undelayed call's work, a notify callback,
the next call an item's callback queues) runs before the next delayed item — as it would with
real time, where it comes long before the next timer expires.

"Nothing else ready" is read from the loop's queue of ready callbacks (``loop._ready``, an
attribute of asyncio's own loops, not public API). On a loop without it (uvloop), or when other
callbacks keep coming for :data:`MAX_DEFERRALS` turns in a row (a task that never waits), the
next item runs anyway: one item per loop iteration, still in due order.

The virtual clock only moves forward, to the due time of the item being run: work scheduled while
an item runs is due ``delay`` after *that* item's due time, as in real time.
"""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import Callable
from typing import Any

__all__ = ("MAX_DEFERRALS", "DelayScheduler", "VirtualHandle")

#: How many loop iterations in a row the virtual clock yields to other ready callbacks before it
#: runs its next item regardless (so a busy loop cannot starve delayed work).
MAX_DEFERRALS = 64


class VirtualHandle:
    """A delayed callback on the virtual clock; :meth:`cancel` it like an ``asyncio.TimerHandle``."""

    __slots__ = ("_args", "_callback", "_cancelled", "due")

    def __init__(self, due: float, callback: Callable[..., object], args: tuple[Any, ...]) -> None:
        #: The virtual time (seconds) at which it runs.
        self.due = due
        self._callback = callback
        self._args = args
        self._cancelled = False

    def cancel(self) -> None:
        """Do not run the callback (no effect once it ran)."""
        self._cancelled = True

    def cancelled(self) -> bool:
        """Whether :meth:`cancel` was called."""
        return self._cancelled

    def _run(self) -> None:
        self._callback(*self._args)


class DelayScheduler:
    """Runs callbacks after emulated delays on the running event loop.

    Args:
        time_scale: multiplies every delay; ``0`` runs delayed work without waiting, in the order
            of the delays (see the module docstring).
    """

    __slots__ = ("_deferrals", "_heap", "_now", "_pumping", "_seq", "time_scale")

    def __init__(self, time_scale: float = 1.0) -> None:
        if isinstance(time_scale, bool) or not isinstance(time_scale, (int, float)):
            raise TypeError(f"time_scale must be a number, not {type(time_scale).__name__}")
        if time_scale < 0:
            raise ValueError(f"time_scale must be >= 0, not {time_scale!r}")
        self.time_scale = float(time_scale)
        self._heap: list[tuple[float, int, VirtualHandle]] = []
        self._now = 0.0
        self._seq = 0
        self._pumping = False
        self._deferrals = 0

    @property
    def virtual_time(self) -> float:
        """The virtual clock (``time_scale == 0``): the due time of the last item run."""
        return self._now

    def pending(self) -> int:
        """How many virtual items wait (cancelled ones included until their turn)."""
        return len(self._heap)

    def call_later(
        self, delay: float, callback: Callable[..., object], *args: Any
    ) -> asyncio.TimerHandle | VirtualHandle:
        """Run ``callback(*args)`` after ``delay`` emulated seconds; return a cancellable handle.

        Must be called on the event loop thread, with a running loop.

        Raises:
            ValueError: ``delay`` is negative.
        """
        if delay < 0:
            raise ValueError(f"delay must be >= 0, not {delay!r}")
        loop = asyncio.get_running_loop()
        if self.time_scale > 0:
            return loop.call_later(delay * self.time_scale, callback, *args)
        handle = VirtualHandle(self._now + delay, callback, args)
        self._seq += 1
        heapq.heappush(self._heap, (handle.due, self._seq, handle))
        if not self._pumping:
            self._pumping = True
            loop.call_soon(self._pump)
        return handle

    def _pump(self) -> None:
        """Run the earliest virtual item once the loop has nothing else ready, then come back in
        a later loop iteration if more wait.

        Cancelled items at the front are dropped first. The next pump is queued *after* the item
        ran, so that what the item queued with ``call_soon`` runs first; ``finally`` keeps the
        others going when it raises.
        """
        heap = self._heap
        while heap and heap[0][2].cancelled():
            heapq.heappop(heap)
        if not heap:
            self._pumping = False
            return
        loop = asyncio.get_running_loop()
        if self._deferrals < MAX_DEFERRALS and getattr(loop, "_ready", None):
            self._deferrals += 1  # real time would run what is ready before any timer
            loop.call_soon(self._pump)
            return
        self._deferrals = 0
        due, _, handle = heapq.heappop(heap)
        self._now = max(self._now, due)
        try:
            handle._run()
        finally:
            if heap:
                loop.call_soon(self._pump)
            else:
                self._pumping = False
