"""Apartments: where COM objects live and where their calls run (reference §2, §8.1; I10).

Theory of operation
-------------------
* An **STA** (single-threaded apartment) is one asyncio task, the apartment's "thread". Calls
  and posted jobs queue up and run one at a time in that task. Whenever that task waits — for the
  reply to an outgoing call, in ``ISynchronize::Wait``, in ``Finish_`` — it runs the COM modal
  loop (:func:`modal_wait`): queued incoming calls are dispatched **nested**, in the same task,
  on top of the waiting call (re-entrant dispatch). That is what makes the apartment-model
  nesting rule I10 observable.
* An **MTA** (multithreaded apartment) runs every call and job in a new task of its own; a call
  that waits simply awaits, and nothing nests.
* Waiting outside an STA task is a plain await. Nothing here ever cancels the future it waits
  on, so a cancelled waiter never cancels a call.

Every task an apartment starts belongs to its :class:`~sspi_async.com.Runtime`, which cancels
and awaits them on close; work still queued then is *abandoned* (a queued call replies
``RPC_E_DISCONNECTED``).
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
from collections import deque
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

if TYPE_CHECKING:
    from ._objects import ComObject

__all__ = (
    "MTA",
    "STA",
    "Apartment",
    "ObjectRef",
    "Spawn",
    "Work",
    "call_in_loop",
    "current_apartment",
    "modal_wait",
    "running_task",
)

T = TypeVar("T")
Spawn = Callable[[Coroutine[Any, Any, None]], "asyncio.Task[None]"]


class Work(Protocol):
    """Something an apartment runs: an incoming call or a posted job."""

    async def run(self) -> None:
        """Run in the apartment's task; must not raise except ``CancelledError``."""

    def abandon(self) -> None:
        """The apartment closed before running it."""


_current: contextvars.ContextVar[tuple[object, Apartment] | None] = contextvars.ContextVar(
    "sspi_async_com_apartment", default=None
)


def running_task() -> asyncio.Task[Any] | None:
    """The running task, or None (a loop callback, or a thread with no running loop)."""
    try:
        return asyncio.current_task()
    except RuntimeError:  # no running loop in this thread
        return None


def call_in_loop(loop: asyncio.AbstractEventLoop, fn: Callable[..., None], *args: Any) -> None:
    """Call ``fn(*args)`` now when ``loop`` runs this thread, else schedule it on ``loop``."""
    try:
        here = asyncio.get_running_loop() is loop
    except RuntimeError:
        here = False
    if here:
        fn(*args)
    else:
        loop.call_soon_threadsafe(fn, *args)


def current_apartment() -> Apartment | None:
    """The apartment whose task is running (an STA's task, or an MTA call's task), else None.

    Owner-checked like the thread token: a child task of an apartment task is in no apartment.
    """
    entry = _current.get()
    if entry is not None and entry[0] is running_task():
        return entry[1]
    return None


async def modal_wait(fut: asyncio.Future[Any], timeout: float | None = None) -> bool:
    """Wait until ``fut`` is done or ``timeout`` seconds passed; return whether it is done.

    In an STA task this is the COM modal loop: incoming calls are dispatched nested meanwhile.
    ``timeout=0`` polls. ``fut`` itself is never cancelled.
    """
    if fut.done():
        return True
    if timeout is not None and timeout <= 0:
        return False
    loop = asyncio.get_running_loop()
    until: asyncio.Future[Any] = fut
    timer = None
    if timeout is not None:
        until = loop.create_future()

        def open_gate(_: object = None) -> None:
            if not until.done():
                until.set_result(None)

        fut.add_done_callback(open_gate)
        timer = loop.call_later(timeout, open_gate)
    try:
        apartment = current_apartment()
        if isinstance(apartment, STA):
            await apartment.pump(until)
        else:
            await asyncio.wait((until,))
    finally:
        if timer is not None:
            timer.cancel()
            fut.remove_done_callback(open_gate)
    return fut.done()


async def _run_work(work: Work) -> None:
    """Run ``work``; an exception escaping it (a bug, or a warning turned into an error) goes to
    the loop's exception handler instead of killing the apartment."""
    try:
        await work.run()
    except Exception as exc:
        asyncio.get_running_loop().call_exception_handler(
            {"message": f"COM work {work!r} failed", "exception": exc}
        )


class _Job:
    """A plain function or coroutine function posted to an apartment (:meth:`Apartment.run`)."""

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.fn = fn
        self.args = args
        self.result: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    async def run(self) -> None:
        try:
            value = self.fn(*self.args)
            if inspect.isawaitable(value):
                value = await value
        except asyncio.CancelledError:
            self.result.cancel()
            raise
        except Exception as exc:
            self.result.set_exception(exc)
        else:
            self.result.set_result(value)

    def abandon(self) -> None:
        self.result.cancel()


class ObjectRef:
    """A server object registered in an apartment: what a proxy points to."""

    def __init__(self, apartment: Apartment, obj: ComObject) -> None:
        self.apartment = apartment
        self.obj = obj

    def __repr__(self) -> str:
        return f"<ObjectRef {type(self.obj).__name__} in {self.apartment!r}>"


class Apartment:
    """Where objects live and calls are dispatched; see :class:`STA` and :class:`MTA`."""

    kind: Literal["sta", "mta"]

    def __init__(self, name: str, machine: str, spawn: Spawn) -> None:
        self.name = name
        self.machine = machine
        self._spawn = spawn
        self.closed = False

    def register(self, obj: ComObject) -> ObjectRef:
        """Make ``obj`` live in this apartment; proxies to it dispatch calls here."""
        from ._objects import ComObject

        if not isinstance(obj, ComObject):
            raise TypeError(
                f"only ComObject instances can be registered, not {type(obj).__name__}; "
                "derive the server class from sspi_async.com.ComObject"
            )
        return ObjectRef(self, obj)

    def post(self, work: Work) -> None:
        """Queue ``work`` to run in this apartment (abandoned at once when it is closed)."""
        raise NotImplementedError

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run ``fn(*args)`` (awaited if it returns an awaitable) in this apartment and return
        its result: in an STA's task (between or nested in calls), in an MTA in a new task.

        Raises:
            RuntimeError: the apartment is closed.
        """
        job = _Job(fn, args)
        self.post(job)
        await modal_wait(job.result)
        if job.result.cancelled():
            raise RuntimeError(f"{self!r} closed before the job ran")
        return job.result.result()

    def abandon_pending(self) -> None:
        """Close: abandon work that never started."""
        self.closed = True

    def __repr__(self) -> str:
        return f"<{self.kind.upper()} {self.name!r} on {self.machine!r}>"


class STA(Apartment):
    """A single-threaded apartment: one task, re-entrant while it waits (I10)."""

    kind = "sta"

    def __init__(self, name: str, machine: str, spawn: Spawn) -> None:
        super().__init__(name, machine, spawn)
        self._queue: deque[Work] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self.task = spawn(self._serve())

    def post(self, work: Work) -> None:
        if self.closed:
            work.abandon()
            return
        self._queue.append(work)
        self._wake()

    def _wake(self, _: object = None) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def _serve(self) -> None:
        _current.set((running_task(), self))
        await self.pump(None)

    async def pump(self, until: asyncio.Future[Any] | None) -> None:
        """Run queued work in this task until ``until`` is done (forever for ``None``).

        Work queued while a call waits here runs nested on top of it (re-entrant dispatch).
        """
        loop = asyncio.get_running_loop()
        while until is None or not until.done():
            if self._queue:
                await _run_work(self._queue.popleft())
                continue
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiter = waiter
            if until is not None:
                until.add_done_callback(self._wake)
            try:
                await waiter
            finally:
                self._waiter = None
                if until is not None:
                    until.remove_done_callback(self._wake)

    def abandon_pending(self) -> None:
        super().abandon_pending()
        while self._queue:
            self._queue.popleft().abandon()


class MTA(Apartment):
    """The multithreaded apartment of a machine: every call runs in a task of its own."""

    kind = "mta"

    def __init__(self, name: str, machine: str, spawn: Spawn) -> None:
        super().__init__(name, machine, spawn)
        self._pending: set[Work] = set()

    def post(self, work: Work) -> None:
        if self.closed:
            work.abandon()
            return
        self._pending.add(work)
        self._spawn(self._run(work))

    async def _run(self, work: Work) -> None:
        _current.set((running_task(), self))
        self._pending.discard(work)
        await _run_work(work)

    def abandon_pending(self) -> None:
        super().abandon_pending()
        for work in list(self._pending):
            work.abandon()
        self._pending.clear()
