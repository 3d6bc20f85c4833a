"""The emulator: owns the handle tables, pending calls, worker threads and callback tasks.

Theory of operation
-------------------
A queued call (SPEC §3) goes through four moments:

1. **queue** — inside the ``Sspi*Async`` coroutine, synchronously: checks (A4), the lifecycle
   transition to PENDING, the status ``SEC_I_ASYNC_CALL_PENDING``, and ``loop.call_soon`` (or
   ``call_later`` with simulated latency) of the work. The coroutine never suspends, so a
   cancellation can only hit before it started (nothing queued) or after it returned (queued):
   never half-queued (A15).
2. **work** — the callback scheduled in (1) runs after the queueing coroutine returned (A7), calls
   the engine and, for packages with public-key crypto, hands the package step to one of
   ``crypto_workers`` worker threads (A14). The hand-over is a plain thread-pool submission
   whose done-callback comes back with ``call_soon_threadsafe``: no task, no anyio ``to_thread``
   (which cost ~80 µs of event-loop time per step, measured in issue 3), and the pool's size is
   the capacity limit. The pool is a :class:`~._impersonation.CleanThreadPool`: no
   impersonation made inside a step survives it on the worker thread (E10).
3. **complete** — out-parameters written (by the engine), then the status, then waiters woken and
   the notify callback scheduled with ``call_soon`` (A6).
4. **notify** — the callback runs exactly once, in a fresh copy of the context with the process
   token (I5); a coroutine function's coroutine runs as a task the emulator owns; an exception is
   logged as ``sspi.callback.failed`` and affects nothing else.

``aclose()`` (A15) cancels everything pending, completes each with ``SEC_E_SHUTDOWN_IN_PROGRESS``,
lets every due callback run once, and awaits the callback tasks for at most ``callback_grace``
seconds, then cancels them (E7). It then frees every handle the engine still holds and releases
the async contexts (E1), and — in a ``finally``, so even when ``aclose()`` itself is cancelled —
shuts the worker pool down and joins its threads.

One loop, one owner (E6)
------------------------
An emulator belongs to the event loop it is first used on: created inside a running loop, entered
(``async with``), or its first async context made or call queued there. Its async operations
(queueing, waiting, ``aclose``) and the state-changing operations on its async contexts
(``SspiSetAsyncNotifyCallback``, ``SspiReinitAsyncContext``, ``SspiFreeAsyncContext``,
``SspiCreateAsyncContext``) from any other loop or thread raise :class:`SspiMisuseError` naming
both, because a future of one loop resolved from another never wakes its waiter. The check is one
``asyncio.get_running_loop()`` and one identity comparison. Reading a status
(``SspiGetAsyncCallStatus``, ``SspiAsyncContextRequiresNotify``, ``ctx.status``) never waits nor
changes anything and is allowed from anywhere. The classic synchronous functions (SPEC §5) are not
bound to a loop: see :func:`current_emulator`.

Fault plans and traces (SPEC §9) hang on one object, ``_observer`` (a
:class:`~._observer.CallObserver`), which is ``None`` unless a plan or a trace is active. The
``Sspi*Async`` functions then build a :class:`~._callinfo.CallInfo` per call (else ``None``), and
each moment above checks that one value before doing anything more:

* **queue** — ``on_queue`` decides the call's faults and records the ``queued`` event. A
  queue-time failure returns its status with nothing queued (A4: context untouched, no
  callback); a stall schedules nothing (shutdown completes the call, A15); a delay goes through
  the :class:`~._delays.DelayScheduler` (``latency`` + the plan's delay, times ``time_scale``; at
  ``time_scale=0`` a virtual clock keeps the order without waiting); ``eager`` runs the work
  before returning. A call refused by the A4 checks is traced too, as ``queued`` with the
  refusal status and no completion (it does not count for a rule's ``nth``).
* **work** — a failure at completion completes the call without running its work (nothing is
  written); between the package step and ``StepJob.finish`` (on the loop or back from a worker),
  ``on_output`` applies the token faults (corrupt, truncate; a split keeps the bytes and records
  the chunks, which the Pythonic ``handshake()`` delivers one at a time).
* **complete** / **notify** — ``on_complete`` and ``on_callback`` record their events.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import enum
import functools
import itertools
import os
import sys
import threading
import weakref
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from pathlib import Path
from types import TracebackType
from typing import Any

from .._errors import SspiMisuseError
from .._machine import Machine
from .._status import (
    STATUS_INVALID_PARAMETER,
    STATUS_SUCCESS,
    SecurityStatus,
    as_status,
    status_name,
)
from ._async_context import Callback, PendingCall, SspiAsyncContext
from ._callinfo import CallInfo
from ._config import EmulatorSettings
from ._delays import DelayScheduler
from ._engine import Engine, StepJob
from ._fault_decider import Decision
from ._faults import FaultPlan
from ._impersonation import CleanThreadPool, forget_inherited_token
from ._lifecycle import (
    TRANSITIONS,
    CallEvent,
    CallState,
    IllegalTransitionError,
    Refused,
    transition,
)
from ._log import (
    CALL_CANCELLED,
    CALL_COMPLETED,
    CALL_QUEUED,
    CALL_REFUSED,
    CALLBACK_ABANDONED,
    CALLBACK_DISPATCHED,
    CALLBACK_FAILED,
    EMULATOR_CLOSED,
    enabled,
    logger,
)
from ._observer import CallObserver
from ._ownership import LoopOwner
from ._trace import TraceEvent, TraceRecorder, events_to_jsonl

__all__ = ("Emulator", "current_emulator")

S = SecurityStatus
_current: contextvars.ContextVar[Emulator | None] = contextvars.ContextVar(
    "sspi_async_emulator", default=None
)
_per_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Emulator] = (
    weakref.WeakKeyDictionary()
)
_without_loop: Emulator | None = None


def current_emulator() -> Emulator:
    """The emulator the flat facade uses here: the innermost ``async with Emulator()`` of this task
    (or a task that started it), else a default one per event loop, created on first use with
    default settings. Outside any event loop (the classic functions may be called from plain
    threads) a process-wide default serves.

    Classic synchronous functions from other threads (choice, E6): they are not bound to a loop.
    They work on the handle tables of the emulator found here — which are locked, so any thread
    may use them — and never wait on a loop. A thread started with ``asyncio.to_thread`` (or any
    code run in a copy of the task's context) finds the task's emulator and its handles; a plain
    thread finds the process-wide default and none of a task's handles. Only the async calls and
    the async contexts are bound to their emulator's loop.
    """
    emulator = _current.get()
    if emulator is not None:
        return emulator
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        global _without_loop
        if _without_loop is None:
            _without_loop = Emulator()
        return _without_loop
    emulator = _per_loop.get(loop)
    if emulator is None:
        emulator = _per_loop[loop] = Emulator()
    return emulator


def _lower_priority(niceness: int) -> None:
    """Run in each crypto worker thread as it starts: make it *nicer* than the event loop.

    With ``crypto_workers`` threads busy on as many cores, the loop thread would queue for a CPU
    behind them and stall for whole scheduler slices (measured: 8–13 ms loop lag at 2 workers on
    2 cores). On Linux a thread has its own nice value, so the workers step aside whenever the loop
    has work (``EmulatorSettings.worker_niceness``). Raising one's own niceness needs no privilege;
    elsewhere this does nothing.
    """
    native_id = getattr(threading, "get_native_id", None)
    if niceness and sys.platform.startswith("linux") and native_id is not None:
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, native_id(), niceness)


class EmulatorState(enum.Enum):
    """Where an emulator is in its life (see :data:`EMULATOR_TRANSITIONS`)."""

    __hash__ = object.__hash__  # identity hash in C (see CallState)

    OPEN = "open"
    CLOSING = "closing"
    CLOSED = "closed"


class EmulatorEvent(enum.Enum):
    """What happens to an emulator."""

    __hash__ = object.__hash__

    ENTER = "enter"
    CLOSE = "close"
    CLOSED = "closed"


_O, _E = EmulatorState, EmulatorEvent
#: OPEN --close--> CLOSING --closed--> CLOSED. ``async with`` enters only an OPEN emulator.
#: ``aclose()`` fires CLOSE at its start (new calls are refused from then on, A15) and CLOSED when
#: everything is shut down; a cancelled ``aclose()`` leaves CLOSING and the next one resumes.
EMULATOR_TRANSITIONS: dict[tuple[EmulatorState, EmulatorEvent], EmulatorState] = {
    (_O.OPEN, _E.ENTER): _O.OPEN,
    (_O.OPEN, _E.CLOSE): _O.CLOSING,
    (_O.CLOSING, _E.CLOSE): _O.CLOSING,
    (_O.CLOSING, _E.CLOSED): _O.CLOSED,
}
del _O, _E
_OPEN = EmulatorState.OPEN


class Emulator:
    """An emulated LSA: security packages, handle tables, async calls and their callbacks.

    Use it as ``async with Emulator(EmulatorSettings(...)) as emu:`` — inside the block the flat
    facade (``sspi_async.sspi``) uses this emulator in this task and the tasks it starts; on exit it
    shuts down (A15). Keyword arguments are accepted as a shortcut for settings fields.

    Fault plans and traces (SPEC §9): :meth:`set_fault_plan` / :attr:`fault_plan`,
    :meth:`trace_events` / :meth:`write_trace` (with ``EmulatorSettings(trace=True)``).

    It belongs to one event loop (E6, see the module docstring): the one it is created in, or
    else the first one it is used on. After :meth:`aclose` (E1) its handle tables are empty, the
    classic functions answer ``SEC_E_INVALID_HANDLE`` for its old handles and
    ``SEC_E_SHUTDOWN_IN_PROGRESS`` for new credentials, and its async contexts are released:
    calls queued on them answer ``SEC_E_SHUTDOWN_IN_PROGRESS``, and freeing them is still
    allowed (and no longer needed).
    """

    def __init__(self, settings: EmulatorSettings | None = None, **fields: Any) -> None:
        if settings is not None and fields:
            raise TypeError(
                "pass either settings=EmulatorSettings(...) or keyword fields, not both"
            )
        if settings is not None and not isinstance(settings, EmulatorSettings):
            raise TypeError(f"settings must be EmulatorSettings, not {type(settings).__name__}")
        self.settings = settings if settings is not None else EmulatorSettings(**fields)
        self.engine = Engine(kernel=self.settings.profile == "kernel", random=os.urandom)
        self._strict_event = CallEvent.QUEUE_STRICT if self.settings.strict else CallEvent.QUEUE
        self._eager = self.settings.completion == "eager"
        self._delay = self.settings.latency * self.settings.time_scale
        self._pending: dict[int, PendingCall] = {}
        self._callbacks_due = 0
        #: Callback tasks (A6) and the async context each notifies (for E7's log line).
        self._tasks: dict[asyncio.Task[None], int] = {}
        self._idle: asyncio.Event | None = None
        self._executor: CleanThreadPool | None = None
        self._worker_threads: set[threading.Thread] = set()
        self._life = Machine("emulator", EMULATOR_TRANSITIONS, EmulatorState.OPEN)
        #: E1: async contexts created and not freed (weakly: a dropped one stops counting).
        self._actxs: weakref.WeakSet[SspiAsyncContext] = weakref.WeakSet()
        #: E6: the loop this emulator belongs to (bound here when made inside a running loop).
        self._owner = LoopOwner()
        self._reset_token: contextvars.Token[Emulator | None] | None = None
        #: Async-context ids, per emulator (1, 2, …): traces of two runs name the same contexts.
        self._actx_ids = itertools.count(1)
        # SPEC §9: the fault plan and the trace. None unless one of them is active, so that each
        # hook costs one check when neither is (see the module docstring).
        self._delays = DelayScheduler(self.settings.time_scale)
        self._recorder = (
            TraceRecorder(trace_tokens=self.settings.trace_tokens)
            if self.settings.tracing
            else None
        )
        self._observer: CallObserver | None = None
        self.set_fault_plan(self.settings.faults)

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> Emulator:
        self._owner.check("Emulator.__aenter__")
        if self._reset_token is not None:
            raise RuntimeError(
                "this Emulator is already entered; use one 'async with' block per emulator"
            )
        if not self._life.can(EmulatorEvent.ENTER):
            raise RuntimeError("this Emulator was closed; create a new one")
        self._reset_token = _current.set(self)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        token, self._reset_token = self._reset_token, None
        misuse = None
        if token is not None:
            try:
                _current.reset(token)
            except ValueError:  # the token belongs to another task's context (E6, defect 9)
                misuse = SspiMisuseError(
                    "Emulator.__aexit__: this Emulator was entered in another task, so this task "
                    "cannot restore that task's current emulator; it was shut down all the same. "
                    "Enter it and exit it in the task that entered it (one 'async with "
                    "Emulator()' block), or shut it down from elsewhere with 'await emu.aclose()'"
                )
        await self.aclose()
        if misuse is not None:
            raise misuse

    @property
    def closed(self) -> bool:
        """True once :meth:`aclose` started: new async calls are refused."""
        return self._life.state is not _OPEN

    async def aclose(self) -> None:
        """Shut down (A15, E1, E7): pending calls complete with ``SEC_E_SHUTDOWN_IN_PROGRESS``,
        every due callback runs once, callback tasks are awaited for ``callback_grace`` seconds
        and then cancelled (``sspi.callback.abandoned``), every handle is freed, async contexts
        are released and the worker threads joined — the last even when this coroutine is
        cancelled. Idempotent; a second call after a cancelled one finishes the shutdown."""
        self._owner.check("Emulator.aclose")
        if self._life.state is EmulatorState.CLOSED:
            return
        self._life.fire(EmulatorEvent.CLOSE)
        try:
            await self._shut_down()
        finally:
            self._stop_workers()
        self._life.fire(EmulatorEvent.CLOSED)
        if enabled():
            logger.debug(EMULATOR_CLOSED)

    async def _shut_down(self) -> None:
        for call in list(self._pending.values()):
            if call.offloaded is not None:
                # A step still queued for a worker never starts; one running finishes (a package
                # step is finite) and either way _from_worker completes the call with SHUTDOWN.
                call.offloaded.cancel()
                continue
            if call.scheduled is not None:
                call.scheduled.cancel()
            if enabled():
                logger.debug(CALL_CANCELLED, function=call.function, actx=call.actx.id)
            self._complete(call, S.SEC_E_SHUTDOWN_IN_PROGRESS)
        while self._pending or self._callbacks_due:
            self._idle = asyncio.Event()
            await self._idle.wait()
        # No call can be queued any more, so no new callback task starts: give the running ones
        # their grace period, then cancel them (E7). Cancelled, they end at their next await.
        grace = self.settings.callback_grace
        if self._tasks:
            _, stuck = await asyncio.wait(list(self._tasks), timeout=grace)
            for task in stuck:
                actx_id = self._tasks.pop(task, None)
                if enabled():
                    logger.warning(CALLBACK_ABANDONED, actx=actx_id, grace=grace)
                task.cancel()
            if stuck:
                await asyncio.wait(stuck, timeout=grace)
            self._tasks.clear()  # what still runs after that is no longer the emulator's
        # E1: nothing outlives the emulator. The handles go (later calls on them answer
        # SEC_E_INVALID_HANDLE); the async contexts hold nothing any more (no call pending, no
        # callback due) and are released: calls queued on them are refused with SHUTDOWN.
        self.engine.shutdown()
        self._actxs.clear()

    def _stop_workers(self) -> None:
        """Join the worker threads (E7): a step queued for a worker is cancelled (its call then
        completes with SHUTDOWN); one running finishes first (a package step is finite)."""
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)

    def _check_idle(self) -> None:
        if self._idle is not None and not (self._pending or self._callbacks_due):
            self._idle.set()

    def statistics(self) -> dict[str, int]:
        """Counts for diagnostics and leak checks: pending calls (``detached_calls`` of them
        completing detached, A11), due callbacks, callback tasks, live credential and context
        handles, live async contexts (created and not freed; one dropped without freeing stops
        counting once collected) and live worker threads. After :meth:`aclose` every count is 0
        (E1)."""
        return {
            "pending_calls": len(self._pending),
            "callbacks_due": self._callbacks_due,
            "callback_tasks": len(self._tasks),
            "credentials": len(self.engine.credentials),
            "contexts": len(self.engine.contexts),
            "async_contexts": len(self._actxs),
            "detached_calls": sum(1 for call in self._pending.values() if call.detached),
            # tuple(): one C-level copy, safe while a new worker thread adds itself
            "worker_threads": sum(1 for thread in tuple(self._worker_threads) if thread.is_alive()),
        }

    # ------------------------------------------------------------------ fault plans and traces

    @property
    def fault_plan(self) -> FaultPlan | None:
        """The active fault plan (SPEC §9), or ``None``."""
        observer = self._observer
        if observer is None or observer.decider is None:
            return None
        return observer.decider.plan

    def set_fault_plan(self, plan: FaultPlan | None) -> None:
        """Apply ``plan`` to the calls queued from now on (``None``: no faults).

        Rule counters (``nth``) and random draws start afresh with the new plan; calls already
        queued keep what the old plan decided for them. ``settings.faults`` stays the plan the
        emulator started with; :attr:`fault_plan` is the one in force.

        Raises:
            TypeError: ``plan`` is not a :class:`~sspi_async.FaultPlan` (validate data with
                ``FaultPlan.from_data``, files with ``FaultPlan.load``).
        """
        if plan is not None and not isinstance(plan, FaultPlan):
            raise TypeError(
                f"plan must be a FaultPlan or None, not {type(plan).__name__}; build one with "
                "FaultPlan(...), FaultPlan.from_data(dict) or FaultPlan.load(path)"
            )
        observer = self._observer
        if observer is None:
            if plan is None and self._recorder is None:
                return
            observer = CallObserver(recorder=self._recorder)
        observer.set_faults(plan)
        self._observer = None if observer.idle else observer

    @property
    def tracing(self) -> bool:
        """Whether this emulator records a trace (``EmulatorSettings(trace=True)``)."""
        return self._recorder is not None

    def trace_events(self) -> list[TraceEvent]:
        """The trace so far (SPEC §9), one event per queued call, completion and callback
        dispatch, in order; an empty list when the emulator does not trace."""
        return [] if self._recorder is None else self._recorder.events()

    def write_trace(self, path: str | os.PathLike[str]) -> None:
        """Write :meth:`trace_events` to ``path`` as JSON Lines (UTF-8, replacing the file; an
        empty file when the emulator does not trace). Read it back with
        :func:`sspi_async.load_trace`; render it with ``sspi-async trace render``."""
        Path(path).write_text(events_to_jsonl(self.trace_events()), encoding="utf-8")

    # ------------------------------------------------------------------ async contexts

    def create_async_context(self) -> SspiAsyncContext:
        """SspiCreateAsyncContext: a new context in IDLE with ``SEC_E_UNSUPPORTED_FUNCTION`` (A1)."""
        self._owner.check_sync("SspiCreateAsyncContext")
        actx = SspiAsyncContext._create(self)
        if self._life.state is _OPEN:  # a closed emulator holds nothing (E1)
            self._actxs.add(actx)
        return actx

    @staticmethod
    def _live(actx: SspiAsyncContext, function: str) -> None:
        if not isinstance(actx, SspiAsyncContext):
            raise TypeError(
                f"{function}: the async context must be an SspiAsyncContext or None, not {type(actx).__name__}"
            )
        if actx._state is CallState.FREED:
            raise SspiMisuseError(
                f"{function} was called with an SspiAsyncContext that was already freed "
                "(use-after-free on Windows); create a new one with SspiCreateAsyncContext()"
            )

    def set_callback(
        self, actx: SspiAsyncContext | None, callback: Callback | None, data: object
    ) -> int:
        """SspiSetAsyncNotifyCallback (A2)."""
        if actx is None:
            return S.SEC_E_INVALID_PARAMETER
        self._live(actx, "SspiSetAsyncNotifyCallback")
        owner = self._owner.ref  # E6, inlined: reinit is on every reused context's hot path
        if owner is None or owner() is not asyncio._get_running_loop():
            self._owner.check_sync("SspiSetAsyncNotifyCallback")
        if callback is not None and not callable(callback):
            raise TypeError(f"Callback must be callable or None, not {type(callback).__name__}")
        outcome = transition(actx._state, CallEvent.SET_CALLBACK)
        if isinstance(outcome, Refused):
            return as_status(outcome)
        actx._callback = callback
        actx._callback_data = data
        return S.SEC_E_OK

    def requires_notify(self, actx: SspiAsyncContext) -> bool:
        """SspiAsyncContextRequiresNotify (A3): True exactly when a callback is registered."""
        self._live(actx, "SspiAsyncContextRequiresNotify")
        return actx._callback is not None

    def call_status(self, actx: SspiAsyncContext | None) -> int:
        """SspiGetAsyncCallStatus (A8): never waits."""
        if actx is None:
            return S.SEC_E_INVALID_PARAMETER
        self._live(actx, "SspiGetAsyncCallStatus")
        return actx._status

    def reinit(self, actx: SspiAsyncContext | None) -> int:
        """SspiReinitAsyncContext (A9): back to ``SEC_E_UNSUPPORTED_FUNCTION``, callback kept."""
        if actx is None:
            return STATUS_INVALID_PARAMETER
        self._live(actx, "SspiReinitAsyncContext")
        owner = self._owner.ref  # E6, inlined: reinit is on every reused context's hot path
        if owner is None or owner() is not asyncio._get_running_loop():
            self._owner.check_sync("SspiReinitAsyncContext")
        outcome = TRANSITIONS[actx._state, CallEvent.REINIT]  # FREED was rejected by _live
        if isinstance(outcome, Refused):
            return as_status(outcome)
        actx._state = outcome
        actx._status = S.SEC_E_UNSUPPORTED_FUNCTION
        return STATUS_SUCCESS

    def free(self, actx: SspiAsyncContext | None) -> None:
        """SspiFreeAsyncContext (A11)."""
        if actx is None:
            return
        self._live(actx, "SspiFreeAsyncContext")
        owner = self._owner.ref  # E6, inlined: reinit is on every reused context's hot path
        if owner is None or owner() is not asyncio._get_running_loop():
            self._owner.check_sync("SspiFreeAsyncContext")
        if actx._state is CallState.PENDING and actx._callback is not None:
            raise SspiMisuseError(
                f"SspiFreeAsyncContext: context #{actx.id} has a pending call with a notify callback "
                "(use-after-free on Windows); free it in the callback, or after 'await wait_async_call(ctx)'"
            )
        if actx._callback_due:
            raise SspiMisuseError(
                f"SspiFreeAsyncContext: the notify callback of context #{actx.id} is still due "
                "(use-after-free on Windows); free the context inside the callback or after it ran"
            )
        if actx._state is CallState.PENDING:
            call = self._pending.get(id(actx))
            if call is not None:
                call.detached = True  # A11: completes detached, nobody is notified
        new_state = TRANSITIONS[actx._state, CallEvent.FREE]  # FREED was rejected by _live
        assert isinstance(new_state, CallState)
        actx._state = new_state
        self._actxs.discard(actx)
        self._fail_waiters(actx)

    def release(self, actx: SspiAsyncContext, cleanup: Callable[[], None]) -> None:
        """Free ``actx`` for an owner that is going away (E1): a call still pending completes
        detached (A11) and ``cleanup`` runs on the loop right after it completed, when its
        out-parameters are written (e.g. to delete the context handle the call registered);
        with no call pending, ``cleanup`` runs at once. Unlike :meth:`free`, a registered notify
        callback does not forbid it: the owner gives up the notification."""
        self._live(actx, "release")
        call = self._pending.get(id(actx)) if actx._state is CallState.PENDING else None
        if call is not None:
            call.callback = None
            call.on_detached = cleanup
        actx._callback = None
        self.free(actx)
        if call is None:
            cleanup()

    async def wait(self, actx: SspiAsyncContext | None) -> int:
        """``wait_async_call`` (A13): wait for the current call and return its result."""
        if actx is None:
            return S.SEC_E_INVALID_PARAMETER
        self._live(actx, "wait_async_call")
        loop = asyncio.get_running_loop()
        owner = self._owner.ref
        if owner is None or owner() is not loop:
            self._owner.adopt("wait_async_call", loop)
        if actx._state is CallState.IDLE:
            return S.SEC_E_UNSUPPORTED_FUNCTION
        if actx._state is CallState.COMPLETE:
            return actx._status
        future: asyncio.Future[int] = loop.create_future()
        if actx._waiters is None:
            actx._waiters = []
        actx._waiters.append(future)
        return await future

    async def result(self, actx: SspiAsyncContext) -> int:
        """Wait for the call just queued on ``actx`` and return its status (the Pythonic layer).

        The same as :meth:`wait`, one event-loop turn cheaper when the work was scheduled with
        ``call_soon`` (no latency, no fault delay): the caller yields once, behind the dispatch
        (the loop runs ready callbacks in order), and finds the call complete without a future.
        A call that is still pending then (a step handed to a crypto worker) is waited for as
        usual. The queueing coroutine has returned before the work either way (A7).
        """
        owner = self._owner.ref
        if owner is None or owner() is not asyncio.get_running_loop():
            self._owner.check("wait_async_call")
        call = actx._call
        if call is not None and type(call.scheduled) is asyncio.Handle:
            await asyncio.sleep(0)
        if actx._state is CallState.COMPLETE:
            return actx._status
        return await self.wait(actx)

    def _fail_waiters(self, actx: SspiAsyncContext) -> None:
        waiters, actx._waiters = actx._waiters, None
        for future in waiters or ():
            if not future.done():
                future.set_exception(
                    SspiMisuseError(f"async context #{actx.id} was freed while a task waited on it")
                )

    # ------------------------------------------------------------------ queue / work / complete

    def precheck(
        self, actx: SspiAsyncContext | None, function: str, info: CallInfo | None = None
    ) -> int | None:
        """A4, first check: context None or pending → ``SEC_E_INVALID_PARAMETER``; E6 before it
        (a call from another loop raises, whatever its arguments)."""
        if actx is None:
            return S.SEC_E_INVALID_PARAMETER
        self._live(actx, function)
        owner = self._owner.ref
        if owner is None or owner() is not asyncio.get_running_loop():
            self._owner.check(function)
        if actx._state is CallState.PENDING:
            return self._refuse(actx, function, S.SEC_E_INVALID_PARAMETER, info)
        return None

    def _refuse(
        self, actx: SspiAsyncContext, function: str, status: int, info: CallInfo | None = None
    ) -> int:
        """A4: the queueing coroutine returns ``status``, nothing queued; logged, and traced as a
        ``queued`` event with that status when a trace is active (``info`` given)."""
        status = as_status(status)  # SPEC §2: statuses print by name
        if enabled():
            logger.debug(CALL_REFUSED, function=function, actx=actx.id, status=status_name(status))
        if info is not None:
            observer = self._observer
            if observer is not None:
                observer.on_refused(info, status)
        return status

    def queue(
        self, actx: SspiAsyncContext, function: str, work: Any, info: CallInfo | None = None
    ) -> int:
        """Queue ``work`` (a zero-argument callable returning a status or a StepJob) on ``actx``.

        The caller has made the A4 argument checks, and :meth:`precheck` the E6 one (the running
        loop is the emulator's). ``info`` describes the call for the fault
        plan and the trace; callers build it only while ``_observer`` is set. Returns the
        queueing status.
        """
        if self._life.state is not _OPEN:
            return self._refuse(actx, function, S.SEC_E_SHUTDOWN_IN_PROGRESS, info)
        outcome = TRANSITIONS.get((actx._state, self._strict_event))  # hot path: the table, inlined
        if outcome is None:
            raise IllegalTransitionError(actx._state, self._strict_event)
        if isinstance(outcome, Refused):
            return self._refuse(actx, function, outcome, info)
        loop = asyncio.get_running_loop()
        decision = None
        if info is not None:
            observer = self._observer
            if observer is not None:
                decision = observer.on_queue(info)
                if decision is not None and decision.fail_at_queue is not None:
                    # §9: fail at queue time — as an A4 refusal: nothing queued, no callback.
                    status = as_status(decision.fail_at_queue)
                    if enabled():
                        logger.debug(
                            CALL_REFUSED,
                            function=function,
                            actx=actx.id,
                            status=status_name(status),
                            fault=True,
                        )
                    return status
        call = PendingCall(actx, function, work, info)
        actx._state = CallState.PENDING
        actx._status = S.SEC_I_ASYNC_CALL_PENDING
        actx._call = call
        self._pending[id(actx)] = call
        if enabled():
            logger.debug(CALL_QUEUED, function=function, actx=actx.id, tag=actx.tag)
        if decision is not None:
            self._schedule(call, decision, loop)
        elif self._eager:
            self._run(call, True)
        elif self._delay > 0:
            call.scheduled = loop.call_later(self._delay, self._run, call)
        else:
            call.scheduled = loop.call_soon(self._run, call)
        return S.SEC_E_OK

    def _schedule(
        self, call: PendingCall, decision: Decision, loop: asyncio.AbstractEventLoop
    ) -> None:
        """Schedule the work of a call a fault plan decided about (SPEC §9)."""
        if decision.stall:
            return  # scheduled stays None: aclose() completes it with SHUTDOWN (A15)
        delay = self.settings.latency + decision.delay
        if delay > 0:
            call.scheduled = self._delays.call_later(delay, self._run, call)
        elif decision.eager or self._eager:
            self._run(call, True)
        else:
            call.scheduled = loop.call_soon(self._run, call)

    def _run(self, call: PendingCall, inline: bool = False) -> None:
        """Do the work of ``call``; ``inline``: before the queueing coroutine returns (A7), so
        even a crypto step runs here, not in a worker."""
        call.scheduled = None
        info = call.info
        if info is not None:
            decision = info.decision
            if decision is not None and decision.fail_at_completion is not None:
                # §9: fail at completion — the work does not run, nothing is written.
                self._complete(call, as_status(decision.fail_at_completion))
                return
        try:
            outcome = call.work()
        except Exception:  # a bug must not leave the call pending forever
            logger.exception("sspi.call.crashed", function=call.function, actx=call.actx.id)
            outcome = S.SEC_E_INTERNAL_ERROR
        if isinstance(outcome, StepJob):
            if outcome.offload and self.settings.crypto_workers > 0 and not inline:
                self._offload(call, outcome)
                return
            result = outcome.run()
            if info is not None:
                result = CallObserver.on_output(info, result)
            outcome = outcome.finish(result)
        self._complete(call, as_status(outcome))  # type: ignore[arg-type]

    def _offload(self, call: PendingCall, job: StepJob) -> None:
        """Hand the package step to a crypto worker (A14); :meth:`_from_worker` completes it."""
        executor = self._executor
        if executor is None:
            # E10: a CleanThreadPool runs each job through run_clean, so no impersonation made
            # inside a step survives it on the worker thread.
            executor = self._executor = CleanThreadPool(
                self.settings.crypto_workers,
                thread_name_prefix="sspi-async-crypto",
                initializer=self._worker_started,
                initargs=(self.settings.worker_niceness,),
            )
        loop = asyncio.get_running_loop()
        future = call.offloaded = executor.submit(job.run)
        future.add_done_callback(functools.partial(self._back_to_loop, loop, call, job))

    def _worker_started(self, niceness: int) -> None:
        """In each new worker thread: count it (E1 statistics) and lower its priority."""
        self._worker_threads.add(threading.current_thread())
        _lower_priority(niceness)

    def _back_to_loop(
        self, loop: asyncio.AbstractEventLoop, call: PendingCall, job: StepJob, done: Future[Any]
    ) -> None:
        """In the worker thread: schedule :meth:`_from_worker` on the emulator's loop."""
        # RuntimeError: the loop was closed without aclose(), so nobody is left to notify.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self._from_worker, call, job, done)

    def _from_worker(self, call: PendingCall, job: StepJob, done: Future[Any]) -> None:
        """Back on the loop with a worker's result: write the out-parameters and complete."""
        # The worker's future holds its done-callback, which holds this call: a reference cycle
        # that kept each handshake's package context alive until a GC pass (and made those
        # passes longer, i.e. loop lag). The future is finished with, so let it go.
        call.offloaded = None
        job.entry.step_returned()
        if self._life.state is not _OPEN:
            # A15: shutdown wins even over a result the worker already produced.
            self._complete(call, S.SEC_E_SHUTDOWN_IN_PROGRESS)
            return
        error = done.exception()  # never cancelled here: only aclose() cancels, after CLOSE
        if error is not None:  # job.run catches package errors: this is our own bug
            logger.error(
                "sspi.call.crashed", function=call.function, actx=call.actx.id, exc_info=error
            )
            self._complete(call, S.SEC_E_INTERNAL_ERROR)
            return
        result = done.result()
        info = call.info
        if info is not None:
            result = CallObserver.on_output(info, result)
        self._complete(call, as_status(job.finish(result)))

    def _complete(self, call: PendingCall, status: int) -> None:
        actx = call.actx
        self._pending.pop(id(actx), None)
        info = call.info
        if call.detached:
            cleanup = call.on_detached
            if cleanup is not None:
                try:
                    cleanup()
                except Exception:  # an owner's cleanup must not leave the call pending
                    logger.exception("sspi.call.cleanup_failed", function=call.function)
            if enabled():
                logger.debug(
                    CALL_COMPLETED,
                    function=call.function,
                    actx=actx.id,
                    status=status_name(status),
                    detached=True,
                )
            if info is not None:
                self._observe_completion(info, status)
            self._check_idle()
            return
        actx._call = None
        actx._state = CallState.COMPLETE
        actx._status = status  # A6: after the out-parameters (written by the engine)
        if enabled():
            logger.debug(
                CALL_COMPLETED, function=call.function, actx=actx.id, status=status_name(status)
            )
        if info is not None:
            actx._token_chunks = info.token_chunks
            self._observe_completion(info, status)
        waiters, actx._waiters = actx._waiters, None
        for future in waiters or ():
            if not future.done():
                future.set_result(status)
        if call.callback is not None:
            actx._callback_due += 1
            self._callbacks_due += 1
            # call_soon runs _notify in its own copy of the current context (I5, A6).
            asyncio.get_running_loop().call_soon(
                self._notify, actx, call.callback, call.callback_data, info
            )
        else:
            self._check_idle()

    def _observe_completion(self, info: CallInfo, status: int) -> None:
        observer = self._observer
        if observer is not None:
            observer.on_complete(info, status)

    def _notify(
        self, actx: SspiAsyncContext, callback: Callback, data: object, info: CallInfo | None
    ) -> None:
        forget_inherited_token()  # I5: the callback starts at the process token
        actx._callback_due -= 1
        self._callbacks_due -= 1
        if enabled():
            logger.debug(CALLBACK_DISPATCHED, actx=actx.id, status=status_name(actx._status))
        if info is not None:
            observer = self._observer
            if observer is not None:
                observer.on_callback(info, actx._status)
        try:
            result = callback(actx, data)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException:  # E9: CancelledError & co. included; the loop never sees them
            logger.exception(CALLBACK_FAILED, actx=actx.id)
        else:
            # A coroutine function's coroutine becomes a task the emulator owns (A6).
            if result is not None and isinstance(result, Coroutine):
                task = asyncio.get_running_loop().create_task(self._guard(actx, result))
                self._tasks[task] = actx.id
                task.add_done_callback(self._task_done)
        if self._idle is not None:
            self._check_idle()

    async def _guard(self, actx: SspiAsyncContext, coro: Coroutine[Any, Any, Any]) -> None:
        try:
            await coro
        except asyncio.CancelledError:
            task = asyncio.current_task()
            # Cancelled from outside: abandoned by aclose() (E7, logged there; it is no longer in
            # _tasks), or — from Python 3.11, which counts cancel requests — by anyone else.
            if task is not None and (
                task not in self._tasks or (sys.version_info >= (3, 11) and task.cancelling())
            ):
                raise
            logger.exception(CALLBACK_FAILED, actx=actx.id)  # raised by the callback (E9)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException:  # E9: nothing reaches the loop's exception handler
            logger.exception(CALLBACK_FAILED, actx=actx.id)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.pop(task, None)
