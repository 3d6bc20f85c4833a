"""The emulator's edges of SPEC §12: one loop, one owner (E6), bounded shutdown (E7), callbacks
that cannot escape (E9), nothing outliving ``Emulator.aclose()`` (E1) and clean worker threads
(E10).

Nothing sleeps to wait for something: callbacks set ``asyncio.Event``\\s, other threads are
awaited with ``asyncio.to_thread``, and anything that could hang is bounded by
``anyio.fail_after`` or ``asyncio.wait_for``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from structlog.testing import capture_logs

import sspi_async.sspi as sspi
from sspi_async import (
    AccessToken,
    Emulator,
    EmulatorSettings,
    FaultPlan,
    SimTLSCred,
    SspiError,
    SspiMisuseError,
    call_as,
    current_emulator,
    current_token,
    process_token,
    register_package,
)
from sspi_async._core._emulator import EMULATOR_TRANSITIONS, EmulatorEvent, EmulatorState
from sspi_async._core._impersonation import revert_to_self, set_thread_token
from sspi_async._core._log import CALLBACK_ABANDONED, CALLBACK_FAILED
from sspi_async._flags import Role
from sspi_async._machine import IllegalTransitionError, Machine
from sspi_async.packages.simtls import SimTLSPackage
from sspi_async.sspi import (
    ISC_REQ_ALLOCATE_MEMORY,
    ISC_REQ_CONFIDENTIALITY,
    ISC_REQ_STREAM,
    SEC_E_INVALID_HANDLE,
    SEC_E_OK,
    SEC_E_SECPKG_NOT_FOUND,
    SEC_E_SHUTDOWN_IN_PROGRESS,
    SEC_I_CONTINUE_NEEDED,
    SECBUFFER_TOKEN,
    SECPKG_CRED_OUTBOUND,
    SECURITY_NATIVE_DREP,
    CredHandle,
    CtxtHandle,
    SecBuffer,
    SecBufferDesc,
    SspiAsyncContext,
    SspiCreateAsyncContext,
    SspiSetAsyncNotifyCallback,
    wait_async_call,
)
from sspi_async.testing import ContextPair

ALICE = SimTLSCred(principal="alice", secret="s3cret")
CLIENT = AccessToken(user="alice", source="SimTLS")
ISC_FLAGS = ISC_REQ_ALLOCATE_MEMORY | ISC_REQ_CONFIDENTIALITY | ISC_REQ_STREAM


# --------------------------------------------------------------------------- helpers


async def ach_unknown(actx: SspiAsyncContext) -> int:
    """Queue an ACH that completes with SEC_E_SECPKG_NOT_FOUND (no crypto, no handle)."""
    return await sspi.SspiAcquireCredentialsHandleAsync(
        actx, None, "NoSuchPkg", SECPKG_CRED_OUTBOUND, None, None, None, None, CredHandle(), None
    )


def on_other_loop(fn: Callable[[], Any]) -> BaseException | None:
    """Run the coroutine ``fn()`` makes on a new event loop in this (worker) thread; return what
    it raised (None when it returned)."""

    async def main() -> None:
        await asyncio.wait_for(fn(), 5)

    try:
        asyncio.run(main())
    except BaseException as exc:  # handed back to the test to assert on
        return exc
    return None


def in_plain_thread(fn: Callable[[], object]) -> BaseException | None:
    """Call ``fn()`` in this (worker) thread, which runs no event loop; return what it raised."""
    try:
        fn()
    except BaseException as exc:  # handed back to the test to assert on
        return exc
    return None


class LoopErrors:
    """A loop exception handler that records every call (E9: it must see nothing)."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        self.calls.append(context)


@contextlib.contextmanager
def loop_errors() -> Iterator[LoopErrors]:
    """Install a recording exception handler on the running loop while the block runs."""
    loop = asyncio.get_running_loop()
    recorder = LoopErrors()
    previous = loop.get_exception_handler()
    loop.set_exception_handler(recorder)
    try:
        yield recorder
    finally:
        loop.set_exception_handler(previous)


class _StepHookContext:
    """Wraps a SimTLS context: runs the package's hook at the start of every step."""

    def __init__(self, inner: Any, package: _HookedSimTLS) -> None:
        self._inner = inner
        self._package = package

    def step(self, data: bytes) -> Any:
        self._package.hook()
        return self._inner.step(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _HookedSimTLS(SimTLSPackage):
    """SimTLS flagged ``offload=True`` (steps go to crypto workers) with a per-step hook."""

    __slots__ = ("hook",)

    def __init__(self, hook: Callable[[], None]) -> None:
        self.hook = hook

    @property
    def offload(self) -> bool:
        return True

    def new_context(self, credential: Any, request: Any) -> Any:
        return _StepHookContext(super().new_context(credential, request), self)


def register_hooked(hook: Callable[[], None]) -> str:
    """Register an offloaded SimTLS whose steps run ``hook`` first; return its unique name."""
    name = f"EdgeHook-{uuid.uuid4().hex}"
    package = _HookedSimTLS(hook)
    register_package(name, lambda: package, auth_model=SimTLSCred)
    return name


async def first_client_step(package: str) -> int:
    """Acquire a client credential of ``package`` and run the first ISC step through the async
    calls (so the step runs on a crypto worker); return the step's result."""
    actx = await SspiCreateAsyncContext()
    cred, ctx = CredHandle(), CtxtHandle()
    assert (
        await sspi.SspiAcquireCredentialsHandleAsync(
            actx, None, package, SECPKG_CRED_OUTBOUND, None, ALICE, None, None, cred, None
        )
        == SEC_E_OK
    )
    assert await wait_async_call(actx) == SEC_E_OK
    out = SecBufferDesc([SecBuffer(SECBUFFER_TOKEN)])
    assert (
        await sspi.SspiInitializeSecurityContextAsync(
            actx,
            cred,
            None,
            "localhost",
            ISC_FLAGS,
            0,
            SECURITY_NATIVE_DREP,
            None,
            0,
            ctx,
            out,
            None,
            None,
        )
        == SEC_E_OK
    )
    result = await wait_async_call(actx)
    sspi.DeleteSecurityContext(ctx)
    sspi.FreeCredentialsHandle(cred)
    await sspi.SspiFreeAsyncContext(actx)
    return result


# --------------------------------------------------------------------------- E6


async def test_e6_wait_from_another_loop_raises_naming_both_loops() -> None:
    """wait_async_call from a loop other than the emulator's raises SspiMisuseError at once,
    naming both loops and threads, instead of never waking (E6)."""
    stall = FaultPlan.from_data({"rules": [{"function": "ACH", "action": "stall"}]})
    async with Emulator(EmulatorSettings(faults=stall)) as emu:
        actx = emu.create_async_context()
        assert await ach_unknown(actx) == SEC_E_OK  # stays pending until shutdown
        error = await asyncio.to_thread(on_other_loop, lambda: wait_async_call(actx))
        assert isinstance(error, SspiMisuseError), error
        assert str(error).startswith("wait_async_call")
        assert "thread 'MainThread'" in str(error)
        assert "thread 'asyncio_" in str(error)  # the to_thread worker's loop
        assert actx.state == "pending"
    assert actx.status == SEC_E_SHUTDOWN_IN_PROGRESS


async def test_e6_result_from_another_loop_raises() -> None:
    """Emulator.result (the Pythonic layer's wait) from another loop raises SspiMisuseError, even
    for a call already complete, instead of answering silently (E6)."""
    async with Emulator() as emu:
        actx = emu.create_async_context()
        assert await ach_unknown(actx) == SEC_E_OK
        assert await emu.result(actx) == SEC_E_SECPKG_NOT_FOUND
        error = await asyncio.to_thread(on_other_loop, lambda: emu.result(actx))
        assert isinstance(error, SspiMisuseError), error
        assert str(error).startswith("wait_async_call: this Emulator")


async def test_e6_queue_from_another_loop_raises_and_queues_nothing() -> None:
    """Queueing a call on an async context of another loop's emulator raises SspiMisuseError and
    leaves the context untouched (E6)."""
    async with Emulator() as emu:
        actx = emu.create_async_context()
        error = await asyncio.to_thread(on_other_loop, lambda: ach_unknown(actx))
        assert isinstance(error, SspiMisuseError), error
        assert str(error).startswith("SspiAcquireCredentialsHandleAsync")
        assert "belong to the event loop" in str(error)
        assert actx.state == "idle"
        assert emu.statistics()["pending_calls"] == 0


@pytest.mark.parametrize("operation", ["free", "reinit", "set_callback", "create"])
async def test_e6_sync_operations_from_another_thread_raise(operation: str) -> None:
    """free, reinit, set_callback and create_async_context from a thread other than the
    emulator's raise SspiMisuseError naming both threads (E6)."""
    async with Emulator() as emu:
        actx = emu.create_async_context()
        calls: dict[str, Callable[[], object]] = {
            "free": lambda: emu.free(actx),
            "reinit": lambda: emu.reinit(actx),
            "set_callback": lambda: emu.set_callback(actx, None, None),
            "create": emu.create_async_context,
        }
        error = await asyncio.to_thread(in_plain_thread, calls[operation])
        assert isinstance(error, SspiMisuseError), error
        assert "thread 'MainThread'" in str(error)
        assert "use it only from its own loop" in str(error)
        assert actx.state == "idle"
        assert emu.statistics()["async_contexts"] == 1


async def test_e6_emulator_made_inside_a_loop_belongs_to_it() -> None:
    """An Emulator created inside a running loop belongs to it: aclose from another loop raises
    SspiMisuseError (E6), and the owner closes it normally."""
    emu = Emulator()
    error = await asyncio.to_thread(on_other_loop, emu.aclose)
    assert isinstance(error, SspiMisuseError), error
    assert str(error).startswith("Emulator.aclose")
    assert not emu.closed
    await emu.aclose()
    assert emu.closed


async def test_e6_classic_functions_from_plain_threads_use_the_process_default() -> None:
    """Classic functions from a plain thread use the process-wide default emulator (no loop
    needed); from asyncio.to_thread they reach the calling task's emulator (E6 choice)."""

    def acquire_and_free() -> tuple[int, int, int]:
        cred = CredHandle()
        status = sspi.AcquireCredentialsHandle(
            None, "SimTLS", SECPKG_CRED_OUTBOUND, None, ALICE, None, None, cred, None
        )
        return status, sspi.FreeCredentialsHandle(cred), id(current_emulator())

    result: list[tuple[int, int, int]] = []
    thread = threading.Thread(target=lambda: result.append(acquire_and_free()))
    thread.start()
    await asyncio.to_thread(thread.join)
    async with Emulator() as emu:
        assert result[0][:2] == (SEC_E_OK, SEC_E_OK)
        assert result[0][2] != id(emu)
        status, freed, used = await asyncio.to_thread(acquire_and_free)
        assert (status, freed, used) == (SEC_E_OK, SEC_E_OK, id(emu))


async def test_e6_entered_in_one_task_and_exited_in_another_raises_and_shuts_down() -> None:
    """An Emulator entered in one task and exited in another raises SspiMisuseError (not
    ContextVar's ValueError) and is shut down all the same (E6, defect 9)."""
    emu = Emulator()
    await asyncio.get_running_loop().create_task(emu.__aenter__())
    actx = emu.create_async_context()
    assert await ach_unknown(actx) == SEC_E_OK
    with pytest.raises(SspiMisuseError, match=r"exit it in the task that entered it"):
        await emu.__aexit__(None, None, None)
    assert emu.closed
    assert actx.status == SEC_E_SHUTDOWN_IN_PROGRESS
    assert emu.statistics() == dict.fromkeys(emu.statistics(), 0)


# --------------------------------------------------------------------------- E7


async def test_e7_aclose_abandons_a_callback_that_never_returns() -> None:
    """aclose cancels an async notify callback still running after callback_grace, logs
    sspi.callback.abandoned and returns with nothing left running (E7)."""
    started, never = asyncio.Event(), asyncio.Event()
    cancelled: list[bool] = []

    async def stuck(ctx: SspiAsyncContext, data: object) -> None:
        started.set()
        try:
            await never.wait()
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    emu = Emulator(EmulatorSettings(callback_grace=0.01))
    actx = emu.create_async_context()
    assert await SspiSetAsyncNotifyCallback(actx, stuck, None) == SEC_E_OK
    assert await ach_unknown(actx) == SEC_E_OK
    await started.wait()
    with capture_logs() as logs:
        await asyncio.wait_for(emu.aclose(), 5)
    assert cancelled == [True]
    assert [e["event"] for e in logs if e["event"].startswith("sspi.callback")] == [
        CALLBACK_ABANDONED
    ]
    assert emu.statistics() == dict.fromkeys(emu.statistics(), 0)


async def test_e7_callback_grace_must_not_be_negative() -> None:
    """callback_grace is validated (>= 0) at the settings edge (E7)."""
    with pytest.raises(ValueError, match="callback_grace"):
        EmulatorSettings(callback_grace=-1)


async def test_e7_cancelling_aclose_leaves_no_worker_thread() -> None:
    """Cancelling aclose() while it waits for a callback still joins the crypto worker threads
    (E7)."""
    started, release = asyncio.Event(), asyncio.Event()
    workers: list[threading.Thread] = []

    async def stuck(ctx: SspiAsyncContext, data: object) -> None:
        started.set()
        await release.wait()

    package = register_hooked(lambda: workers.append(threading.current_thread()))
    emu = Emulator(EmulatorSettings(crypto_workers=1, callback_grace=60))
    async with emu:
        try:
            assert await first_client_step(package) == SEC_I_CONTINUE_NEEDED
            assert emu.statistics()["worker_threads"] == 1
            actx = emu.create_async_context()
            assert await SspiSetAsyncNotifyCallback(actx, stuck, None) == SEC_E_OK
            assert await ach_unknown(actx) == SEC_E_OK
            await started.wait()
            closing = emu.aclose()
            closing.send(None)  # aclose() runs up to its wait for the callback task
            with pytest.raises(asyncio.CancelledError):
                closing.throw(asyncio.CancelledError())
            assert emu.statistics()["worker_threads"] == 0
            assert [thread.is_alive() for thread in workers] == [False]
        finally:
            release.set()  # the second aclose (async with) then finishes at once


# --------------------------------------------------------------------------- E9


class Boom(BaseException):
    """A BaseException that is neither KeyboardInterrupt nor SystemExit."""


@pytest.mark.parametrize("raised", [asyncio.CancelledError, Boom])
async def test_e9_plain_callback_raising_a_base_exception_is_logged_not_escaped(
    raised: type[BaseException],
) -> None:
    """A plain notify callback raising CancelledError or another BaseException is logged as
    sspi.callback.failed; the loop's exception handler sees nothing (E9)."""
    ran = asyncio.Event()

    def callback(ctx: SspiAsyncContext, data: object) -> None:
        ran.set()
        raise raised()

    with capture_logs() as logs, loop_errors() as errors:
        async with Emulator() as emu:
            actx = emu.create_async_context()
            assert await SspiSetAsyncNotifyCallback(actx, callback, None) == SEC_E_OK
            assert await ach_unknown(actx) == SEC_E_OK
            await ran.wait()
    assert [e["event"] for e in logs if e["event"].startswith("sspi.callback.f")] == [
        CALLBACK_FAILED
    ]
    assert errors.calls == []


@pytest.mark.parametrize("raised", [asyncio.CancelledError, Boom])
async def test_e9_async_callback_raising_a_base_exception_is_logged_not_escaped(
    raised: type[BaseException],
) -> None:
    """An async notify callback raising CancelledError or another BaseException is logged as
    sspi.callback.failed, not abandoned; the loop's exception handler sees nothing (E9)."""

    async def callback(ctx: SspiAsyncContext, data: object) -> None:
        raise raised()

    with capture_logs() as logs, loop_errors() as errors:
        async with Emulator() as emu:
            actx = emu.create_async_context()
            assert await SspiSetAsyncNotifyCallback(actx, callback, None) == SEC_E_OK
            assert await ach_unknown(actx) == SEC_E_OK
            assert await wait_async_call(actx) == SEC_E_SECPKG_NOT_FOUND
        gc.collect()  # a task whose exception nobody retrieved reports it when collected
    assert [e["event"] for e in logs if e["event"].startswith("sspi.callback.")][-1:] == [
        CALLBACK_FAILED
    ]
    assert errors.calls == []


# --------------------------------------------------------------------------- E1 (defect 8)


async def test_e1_after_aclose_every_handle_is_freed_and_answers_invalid_handle() -> None:
    """After aclose the handle tables are empty, classic calls on the old handles answer
    SEC_E_INVALID_HANDLE and the engine refuses new credentials (E1, defect 8)."""
    emu = Emulator()
    async with emu:
        pair = await ContextPair.simtls(emulator=emu)
        conn = await pair.handshake()
        assert conn.client_to_server(b"up") == b"up"
    assert emu.statistics()["credentials"] == emu.statistics()["contexts"] == 0
    out = SecBufferDesc([SecBuffer(SECBUFFER_TOKEN)])
    ctx = CtxtHandle()
    status = emu.engine.security_context(
        Role.CLIENT,
        pair.client_credentials.handle,
        None,
        "localhost",
        ISC_FLAGS,
        None,
        ctx,
        out,
        None,
        None,
    )
    assert status == SEC_E_INVALID_HANDLE
    with pytest.raises(SspiError) as info:
        conn.client.encrypt(b"after close")
    assert info.value.status == SEC_E_INVALID_HANDLE
    assert emu.engine.delete_context(conn.server.handle) == SEC_E_INVALID_HANDLE
    cred = CredHandle()
    status = emu.engine.acquire_credentials(None, "SimTLS", SECPKG_CRED_OUTBOUND, ALICE, cred, None)
    assert status == SEC_E_SHUTDOWN_IN_PROGRESS
    await pair.aclose()


async def test_e1_statistics_count_live_async_contexts_weakly() -> None:
    """statistics() counts async contexts created and not freed; a dropped one stops counting
    when it is collected, and aclose leaves none (E1)."""
    async with Emulator() as emu:
        kept = emu.create_async_context()
        dropped = emu.create_async_context()
        freed = emu.create_async_context()
        assert emu.statistics()["async_contexts"] == 3
        emu.free(freed)
        del dropped
        gc.collect()
        assert emu.statistics()["async_contexts"] == 1
    assert emu.statistics()["async_contexts"] == 0
    assert kept.status == sspi.SEC_E_UNSUPPORTED_FUNCTION


async def test_e1_statistics_count_detached_calls_and_worker_threads() -> None:
    """statistics() counts detached calls still running and live worker threads; after aclose
    every count is 0 (E1)."""
    package = register_hooked(lambda: None)
    emu = Emulator(EmulatorSettings(crypto_workers=1))
    async with emu:
        assert await first_client_step(package) == SEC_I_CONTINUE_NEEDED
        assert emu.statistics()["worker_threads"] == 1
        actx = emu.create_async_context()
        assert await ach_unknown(actx) == SEC_E_OK
        emu.free(actx)  # A11: completes detached
        stats = emu.statistics()
        assert (stats["detached_calls"], stats["pending_calls"]) == (1, 1)
    assert emu.statistics() == dict.fromkeys(emu.statistics(), 0)


async def test_e1_async_context_after_aclose_refuses_calls_and_can_be_freed() -> None:
    """An async context still live at aclose is released by it: new calls answer
    SEC_E_SHUTDOWN_IN_PROGRESS and freeing it later is allowed (E1, A15)."""
    async with Emulator() as emu:
        actx = emu.create_async_context()
    assert await ach_unknown(actx) == SEC_E_SHUTDOWN_IN_PROGRESS
    assert actx.status == sspi.SEC_E_UNSUPPORTED_FUNCTION
    await sspi.SspiFreeAsyncContext(actx)
    assert emu.statistics()["async_contexts"] == 0


# --------------------------------------------------------------------------- E10


async def test_e10_impersonation_in_a_worker_job_does_not_survive_the_job() -> None:
    """A job on an emulator-owned worker thread that impersonates and does not revert leaves
    the next job on that thread at the process token (E10)."""
    seen: list[AccessToken] = []

    def hook() -> None:
        seen.append(current_token())
        set_thread_token(CLIENT)  # and never reverted

    package = register_hooked(hook)
    async with Emulator(EmulatorSettings(crypto_workers=1)) as emu:
        assert await first_client_step(package) == SEC_I_CONTINUE_NEEDED
        assert await first_client_step(package) == SEC_I_CONTINUE_NEEDED
        assert emu.statistics()["worker_threads"] == 1
    assert seen == [process_token(), process_token()]


def test_e10_bare_executor_job_keeps_its_impersonation_on_the_pool_thread() -> None:
    """Documented pitfall (E10): a bare executor job that impersonates without reverting leaves
    the token on the pool thread for the next job; call_as scopes it to one call."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(call_as, CLIENT, current_token).result()
        assert pool.submit(current_token).result() == process_token()
        pool.submit(set_thread_token, CLIENT).result()
        assert pool.submit(current_token).result() == CLIENT
        pool.submit(revert_to_self).result()
        assert pool.submit(current_token).result() == process_token()


async def test_e10_bare_run_in_executor_job_starts_at_the_process_token() -> None:
    """A bare run_in_executor job does not inherit the submitting task's impersonation: it
    starts at the process token (E10)."""
    set_thread_token(CLIENT)
    try:
        token = await asyncio.get_running_loop().run_in_executor(None, current_token)
        assert token == process_token()
        assert current_token() == CLIENT
    finally:
        revert_to_self()


# --------------------------------------------------------------------------- the emulator's table


@pytest.mark.parametrize("state", list(EmulatorState))
@pytest.mark.parametrize("event", list(EmulatorEvent))
def test_e7_emulator_table_sweep(state: EmulatorState, event: EmulatorEvent) -> None:
    """Every (state, event) pair of the emulator's lifecycle either moves as its table says or
    raises IllegalTransitionError naming the state and event (DESIGN "State machines", E7)."""
    machine = Machine("emulator", EMULATOR_TRANSITIONS, state)
    expected = EMULATOR_TRANSITIONS.get((state, event))
    if expected is None:
        with pytest.raises(IllegalTransitionError, match=f"{event.value} is not possible"):
            machine.fire(event)
    else:
        assert machine.fire(event) is expected
        assert machine.state is expected


async def test_e7_a_closed_emulator_cannot_be_entered_and_closes_again_at_once() -> None:
    """Entering a closed Emulator raises naming what to do; a second aclose returns (E7)."""
    emu = Emulator()
    await emu.aclose()
    with pytest.raises(RuntimeError, match="was closed; create a new one"):
        await emu.__aenter__()
    await emu.aclose()
    assert emu.closed


async def test_e10_to_thread_job_impersonation_ends_with_the_job() -> None:
    """asyncio.to_thread runs each job in a copy of the caller's context, so an impersonation a
    job leaves in force ends with the job even on the same pool thread (E10)."""
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(1) as pool:
        loop.set_default_executor(pool)
        await asyncio.to_thread(set_thread_token, CLIENT)
        assert await asyncio.to_thread(current_token) == process_token()
