"""SPEC §9 ``time_scale``: delays are scaled; with 0 nothing waits and the order of the delays is
kept (the virtual clock of DelayScheduler)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from sspi_async._core._delays import DelayScheduler, VirtualHandle


async def test_time_scale_zero_keeps_the_order_of_delays_without_waiting() -> None:
    """§9: with time_scale 0, delayed work runs without waiting, in order of its delay (ties in
    the order it was scheduled)."""
    scheduler = DelayScheduler(0)
    loop = asyncio.get_running_loop()
    ran: list[str] = []
    done = asyncio.Event()
    started = loop.time()
    scheduler.call_later(300.0, ran.append, "slow")
    scheduler.call_later(100.0, ran.append, "medium")
    scheduler.call_later(0.0, ran.append, "now")
    scheduler.call_later(100.0, ran.append, "medium too")
    scheduler.call_later(301.0, done.set)
    await done.wait()
    assert ran == ["now", "medium", "medium too", "slow"]
    assert loop.time() - started < 5.0  # 301 emulated seconds, no real waiting
    assert scheduler.virtual_time == 301.0
    assert scheduler.pending() == 0


async def test_virtual_clock_counts_from_the_running_item() -> None:
    """§9: work scheduled while a delayed item runs is due `delay` after that item's due time, as
    with real time: a 1 s follow-up of a 10 s item runs before a 20 s item."""
    scheduler = DelayScheduler(0)
    ran: list[str] = []
    done = asyncio.Event()

    def first() -> None:
        ran.append("10")
        scheduler.call_later(1.0, ran.append, "10+1")
        scheduler.call_later(15.0, ran.append, "10+15")

    scheduler.call_later(10.0, first)
    scheduler.call_later(20.0, ran.append, "20")
    scheduler.call_later(30.0, done.set)
    await done.wait()
    assert ran == ["10", "10+1", "20", "10+15"]


async def test_call_soon_work_of_an_item_runs_before_the_next_item() -> None:
    """§9: what a delayed item schedules with call_soon (a notify callback) runs before the next
    delayed item, as it would with real time."""
    scheduler = DelayScheduler(0)
    loop = asyncio.get_running_loop()
    ran: list[str] = []
    done = asyncio.Event()

    def item() -> None:
        ran.append("item 1")
        loop.call_soon(ran.append, "callback of item 1")

    scheduler.call_later(1.0, item)
    scheduler.call_later(2.0, ran.append, "item 2")
    scheduler.call_later(3.0, done.set)
    await done.wait()
    assert ran == ["item 1", "callback of item 1", "item 2"]


async def test_cancelled_virtual_items_do_not_run() -> None:
    """A cancelled delayed item never runs (the emulator cancels scheduled work at shutdown, A15)."""
    scheduler = DelayScheduler(0)
    ran: list[str] = []
    done = asyncio.Event()
    handle = scheduler.call_later(1.0, ran.append, "cancelled")
    assert isinstance(handle, VirtualHandle)
    assert handle.due == 1.0
    handle.cancel()
    assert handle.cancelled()
    last = scheduler.call_later(1.5, ran.append, "also cancelled")
    last.cancel()
    scheduler.call_later(2.0, done.set)
    await done.wait()
    assert ran == []


async def test_only_cancelled_items_left_stops_pumping() -> None:
    """The scheduler goes idle when only cancelled items remain, and wakes again for new ones."""
    scheduler = DelayScheduler(0)
    loop = asyncio.get_running_loop()
    scheduler.call_later(1.0, pytest.fail, "must not run").cancel()
    turn: asyncio.Future[None] = loop.create_future()
    loop.call_soon(turn.set_result, None)  # queued after the pump: runs once it has run
    await turn
    assert scheduler.pending() == 0
    done = asyncio.Event()
    scheduler.call_later(0.5, done.set)
    await done.wait()


async def test_a_failing_item_does_not_stall_the_others() -> None:
    """An exception from one delayed item goes to the loop's handler; the next items still run."""
    loop = asyncio.get_running_loop()
    errors: list[Any] = []
    loop.set_exception_handler(lambda _loop, context: errors.append(context["exception"]))
    try:
        scheduler = DelayScheduler(0)
        done = asyncio.Event()

        def boom() -> None:
            raise RuntimeError("boom")

        scheduler.call_later(1.0, boom)
        scheduler.call_later(2.0, done.set)
        await done.wait()
    finally:
        loop.set_exception_handler(None)
    assert [str(e) for e in errors] == ["boom"]


async def test_positive_time_scale_uses_the_loop_timer() -> None:
    """§9: time_scale multiplies delays: a real loop timer at delay × time_scale."""
    scheduler = DelayScheduler(0.5)
    loop = asyncio.get_running_loop()
    before = loop.time()
    handle = scheduler.call_later(10.0, pytest.fail, "must not run")
    assert isinstance(handle, asyncio.TimerHandle)
    assert before + 5.0 <= handle.when() <= loop.time() + 5.0
    handle.cancel()


@pytest.mark.parametrize(
    ("scale", "error", "message"),
    [
        (-1, ValueError, r"^time_scale must be >= 0, not -1$"),
        ("1", TypeError, r"^time_scale must be a number, not str$"),
        (True, TypeError, r"^time_scale must be a number, not bool$"),
    ],
)
def test_bad_time_scale(scale: Any, error: type[Exception], message: str) -> None:
    """A bad time_scale is refused with a message saying what is expected."""
    with pytest.raises(error, match=message):
        DelayScheduler(scale)


async def test_negative_delay_is_refused() -> None:
    """A negative delay is a bug in the caller."""
    with pytest.raises(ValueError, match=r"^delay must be >= 0, not -0\.1$"):
        DelayScheduler(0).call_later(-0.1, print)
