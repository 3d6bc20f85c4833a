"""SPEC §9 fault plans applied by the emulator, on SimTLS and Schannel, through the async calls.

Each action — delay (fixed, seeded random, ``time_scale``), fail at queue time or at completion,
stall (until shutdown: ``SEC_E_SHUTDOWN_IN_PROGRESS``, notified once, A15), eager, corrupt,
truncate and split of the output token — is run on both packages; then determinism (same seed,
same trace minus times), order at ``time_scale=0``, matching by package/side/tag/nth, swapping a
plan at run time, and plans that are rejected (the message names the rule and the field).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

from sspi_async import (
    Emulator,
    EmulatorSettings,
    FaultPlan,
    FaultPlanError,
    FaultRule,
    IncompleteMessageError,
    SplitAction,
    SspiError,
    StallAction,
    TraceEvent,
    acquire_credentials,
    handshake,
)
from sspi_async._core._fault_decider import split_token
from sspi_async.sspi import (
    SEC_E_INCOMPLETE_MESSAGE,
    SEC_E_INSUFFICIENT_MEMORY,
    SEC_E_INVALID_HANDLE,
    SEC_E_LOGON_DENIED,
    SEC_E_OK,
    SEC_E_SHUTDOWN_IN_PROGRESS,
    SEC_E_UNSUPPORTED_FUNCTION,
    SEC_I_ASYNC_CALL_PENDING,
    SEC_I_CONTINUE_NEEDED,
    SEC_SUCCESS,
    SECBUFFER_TOKEN,
    CtxtHandle,
    SecBuffer,
    SecBufferDesc,
    SspiAcquireCredentialsHandleAsync,
    SspiFreeAsyncContext,
    SspiGetAsyncCallStatus,
    wait_async_call,
)
from tests.core.fault_peers import PACKAGES, Kit, Peer, flat_handshake, kit, peers, take_token

ACH = "SspiAcquireCredentialsHandleAsync"
ISC = "SspiInitializeSecurityContextAsync"
ASC = "SspiAcceptSecurityContextAsync"
DSC = "SspiDeleteSecurityContextAsync"
FCH = "SspiFreeCredentialsHandleAsync"

pytestmark = pytest.mark.parametrize("package", PACKAGES)


def plan(*rules: dict[str, Any], seed: int = 0) -> FaultPlan:
    return FaultPlan.from_data({"seed": seed, "rules": list(rules)})


def settings(faults: FaultPlan, **fields: Any) -> EmulatorSettings:
    return EmulatorSettings(faults=faults, trace=True, **fields)


def events_of(emu: Emulator, function: str, kind: str) -> list[TraceEvent]:
    return [e for e in emu.trace_events() if e.function == function and e.kind == kind]


def without_times(events: list[TraceEvent]) -> list[dict[str, Any]]:
    return [e.model_dump(exclude={"time"}) for e in events]


# --------------------------------------------------------------------------- delay


async def test_fixed_delay_scaled_by_time_scale(package: str) -> None:
    """§9 delay: the work waits delay × time_scale seconds (0.2 s × 0.25 here); the call stays
    pending meanwhile and completes normally after it."""
    faults = plan({"function": "ISC", "action": {"kind": "delay", "seconds": 0.2}})
    async with Emulator(settings(faults, time_scale=0.25)) as emu:
        k = kit(package)
        client, _server = await peers(k)
        output = SecBufferDesc([SecBuffer(SECBUFFER_TOKEN)])
        started = time.monotonic()
        assert await client.queue(client.step(None, k.target, output)) == SEC_E_OK
        assert await SspiGetAsyncCallStatus(client.actx) == SEC_I_ASYNC_CALL_PENDING
        assert await client.result() == SEC_I_CONTINUE_NEEDED
        assert time.monotonic() - started >= 0.05
        assert take_token(output)
        (queued,) = events_of(emu, ISC, "queued")
        (completed,) = events_of(emu, ISC, "completed")
        assert queued.faults == ("delay 0.2 s",)
        assert completed.time - queued.time >= 0.05


async def test_seeded_random_delay_draws_from_the_range(package: str) -> None:
    """§9 delay [low, high]: a value drawn from the plan's seed, shown in the trace, waited for."""
    faults = plan({"function": "ACH", "action": {"kind": "delay", "seconds": [0.02, 0.06]}}, seed=7)
    async with Emulator(settings(faults)) as emu:
        await peers(kit(package))
        for queued, completed in zip(
            events_of(emu, ACH, "queued"), events_of(emu, ACH, "completed"), strict=False
        ):
            (label,) = queued.faults
            match = re.fullmatch(r"delay 0\.02–0\.06 s \(drew (\d\.\d{3}) s\)", label)
            assert match is not None, label
            drawn = float(match.group(1))
            assert 0.02 <= drawn <= 0.06
            assert completed.time - queued.time >= drawn - 0.001


async def test_time_scale_zero_keeps_the_order_without_waiting(package: str) -> None:
    """§9 time_scale=0: delayed calls do not wait, yet complete in the order of their delays
    (30 s, 10 s, 20 s and none, queued at once → none, 10, 20, 30)."""
    faults = plan(
        {"tag": "a", "action": {"kind": "delay", "seconds": 30}},
        {"tag": "b", "action": {"kind": "delay", "seconds": 10}},
        {"tag": "c", "action": {"kind": "delay", "seconds": 20}},
    )
    k = kit(package)
    started = time.monotonic()
    async with Emulator(settings(faults, time_scale=0)) as emu:
        sides = [await Peer(tag).open() for tag in ("a", "b", "c", "d")]
        for side in sides:
            side.client = True  # an outbound credential each
            assert await side.queue(side.acquire(k)) == SEC_E_OK
        for side in sides:
            assert await side.result() == SEC_E_OK
        completed = [e.tag for e in emu.trace_events() if e.kind == "completed"]
        callbacks = [e.tag for e in emu.trace_events() if e.kind == "callback"]
        assert completed == callbacks == ["d", "b", "c", "a"]
        assert emu._delays.virtual_time == 30.0
    assert time.monotonic() - started < 10


# --------------------------------------------------------------------------- fail


async def test_fail_at_queue_time_queues_nothing(package: str) -> None:
    """§9 fail at queue (A4): the queueing coroutine returns the status; nothing is queued, the
    context is untouched, no callback; the trace has the queued event with that status only."""
    faults = plan(
        {
            "function": "ISC",
            "action": {"kind": "fail", "status": "SEC_E_INSUFFICIENT_MEMORY", "at": "queue"},
        }
    )
    async with Emulator(settings(faults)) as emu:
        k = kit(package)
        client, _ = await peers(k)
        output = SecBufferDesc([SecBuffer(SECBUFFER_TOKEN)])
        queued = await client.queue(client.step(None, k.target, output))
        assert queued == SEC_E_INSUFFICIENT_MEMORY
        assert await SspiGetAsyncCallStatus(client.actx) == SEC_E_UNSUPPORTED_FUNCTION
        assert emu.statistics()["pending_calls"] == 0
        assert emu.statistics()["callbacks_due"] == 0
        assert client.ctx == CtxtHandle()
        assert output.pBuffers[0].cbBuffer == 0
        assert client.notified == [SEC_E_OK]  # the ACH's only
        (event,) = [e for e in emu.trace_events() if e.function == ISC]
        assert (event.kind, event.queue_status) == ("queued", "SEC_E_INSUFFICIENT_MEMORY")
        assert event.faults == ("fail SEC_E_INSUFFICIENT_MEMORY at queue",)


async def test_fail_at_completion_runs_no_work(package: str) -> None:
    """§9 fail at completion: the call completes with the status, its work never ran (no
    handle, no token written), and the callback sees the status once."""
    faults = plan({"function": "ASC", "action": {"kind": "fail", "status": "SEC_E_LOGON_DENIED"}})
    async with Emulator(settings(faults)) as emu:
        k = kit(package)
        client, server = await peers(k)
        assert await flat_handshake(k, client, server) == [
            SEC_I_CONTINUE_NEEDED,
            SEC_E_LOGON_DENIED,
        ]
        assert server.notified[-1] == SEC_E_LOGON_DENIED
        assert len(server.notified) == 2  # ACH, ASC
        assert not server.started
        assert server.ctx == CtxtHandle()
        assert emu.statistics()["contexts"] == 1  # the client's only: the server's never existed
        (completed,) = events_of(emu, ASC, "completed")
        assert (completed.result, completed.token_out, completed.context) == (
            "SEC_E_LOGON_DENIED",
            0,
            None,
        )


# --------------------------------------------------------------------------- stall


async def test_stall_until_shutdown_notifies_once(package: str) -> None:
    """§9 stall, A15: the call stays pending while other calls complete; shutting the emulator
    down completes it with SEC_E_SHUTDOWN_IN_PROGRESS, wakes a waiter and calls back once."""
    faults = plan({"function": "ISC", "action": "stall"})
    emu = Emulator(settings(faults))
    async with emu:
        k = kit(package)
        client, server = await peers(k)
        output = SecBufferDesc([SecBuffer(SECBUFFER_TOKEN)])
        assert await client.queue(client.step(None, k.target, output)) == SEC_E_OK
        waiter = asyncio.create_task(wait_async_call(client.actx))
        # Other calls still run to completion while the stalled one waits.
        assert await server.run(server.free()) == SEC_E_OK
        assert client.actx.status == SEC_I_ASYNC_CALL_PENDING
        assert client.notified == [SEC_E_OK]
        assert emu.statistics()["pending_calls"] == 1
    assert await waiter == SEC_E_SHUTDOWN_IN_PROGRESS
    assert client.notified == [SEC_E_OK, SEC_E_SHUTDOWN_IN_PROGRESS]
    assert client.actx.status == SEC_E_SHUTDOWN_IN_PROGRESS
    assert output.pBuffers[0].cbBuffer == 0
    assert client.ctx == CtxtHandle()
    assert emu.statistics() == {
        "pending_calls": 0,
        "callbacks_due": 0,
        "callback_tasks": 0,
        "credentials": 0,  # E1: aclose frees the client's credential the test left live
        "contexts": 0,
        "async_contexts": 0,
        "detached_calls": 0,
        "worker_threads": 0,
    }
    assert emu._executor is None
    (completed,) = events_of(emu, ISC, "completed")
    (callback,) = events_of(emu, ISC, "callback")
    assert completed.result == callback.result == "SEC_E_SHUTDOWN_IN_PROGRESS"


async def test_stalled_call_of_a_freed_context_completes_detached(package: str) -> None:
    """§9 stall + A11: a stalled call whose context was freed (no callback) completes detached
    at shutdown; nobody is notified and nothing is left behind."""
    faults = plan({"function": "ACH", "tag": "lonely", "action": "stall"})
    emu = Emulator(settings(faults))
    async with emu:
        lonely = await Peer("lonely").open(callback=False)
        lonely.client = True
        assert await lonely.queue(lonely.acquire(kit(package))) == SEC_E_OK
        await SspiFreeAsyncContext(lonely.actx)
        assert emu.statistics()["pending_calls"] == 1
    assert emu.statistics()["pending_calls"] == 0
    assert [(e.kind, e.result) for e in emu.trace_events()] == [
        ("queued", None),
        ("completed", "SEC_E_SHUTDOWN_IN_PROGRESS"),
    ]


# --------------------------------------------------------------------------- eager


async def test_eager_completes_before_the_queueing_coroutine_returns(package: str) -> None:
    """§9 eager (A7 for one call): the result is final when the await returns (a Schannel step
    runs inline, not in a worker); the callback is still deferred and runs once."""
    faults = plan({"function": "ISC", "action": "eager"})
    async with Emulator(settings(faults)) as emu:
        k = kit(package)
        client, _ = await peers(k)
        output = SecBufferDesc([SecBuffer(SECBUFFER_TOKEN)])
        assert await client.queue(client.step(None, k.target, output)) == SEC_E_OK
        assert await SspiGetAsyncCallStatus(client.actx) == SEC_I_CONTINUE_NEEDED
        assert output.pBuffers[0].cbBuffer > 0
        assert client.notified == [SEC_E_OK]  # the ACH's: this one's is still to come
        assert emu._executor is None
        assert await client.result() == SEC_I_CONTINUE_NEEDED
        assert client.notified == [SEC_E_OK, SEC_I_CONTINUE_NEEDED]


async def test_without_eager_the_status_is_pending_after_the_await(package: str) -> None:
    """A7 control for the eager test: the same call without the plan is still pending."""
    async with Emulator(EmulatorSettings(trace=True)):
        k = kit(package)
        client, _ = await peers(k)
        output = SecBufferDesc([SecBuffer(SECBUFFER_TOKEN)])
        assert await client.queue(client.step(None, k.target, output)) == SEC_E_OK
        assert await SspiGetAsyncCallStatus(client.actx) == SEC_I_ASYNC_CALL_PENDING
        assert await client.result() == SEC_I_CONTINUE_NEEDED


# --------------------------------------------------------------------------- output token


async def corrupt_run(k: Kit, faults: FaultPlan | None) -> tuple[list[int], list[TraceEvent]]:
    """A flat handshake with a fixed ``engine.random`` (so SimTLS tokens repeat byte for byte)."""
    async with Emulator(EmulatorSettings(faults=faults, trace_tokens=True)) as emu:
        emu.engine.random = bytes  # n zero bytes
        client, server = await peers(k)
        return await flat_handshake(k, client, server), emu.trace_events()


async def test_corrupt_output_token_breaks_the_handshake(package: str) -> None:
    """§9 corrupt: 4 bytes of the client's first token from offset 5 change (same length; which
    follows from the seed), so the peers' transcripts differ and the handshake fails."""
    k = kit(package)
    faults = plan(
        {"function": "ISC", "nth": 1, "action": {"kind": "corrupt", "count": 4, "start": 5}}
    )
    statuses, events = await corrupt_run(k, faults)
    assert not SEC_SUCCESS(statuses[-1]), statuses
    queued = [e for e in events if e.function == ISC and e.kind == "queued"]
    completed = [e for e in events if e.function == ISC and e.kind == "completed"]
    assert queued[0].faults == ("corrupt 4 bytes from 5",)
    asc = next(e for e in events if e.function == ASC and e.kind == "queued")
    assert asc.token_in == completed[0].token_out  # same length
    if package == "SimTLS":  # without the plan, the same bytes but for exactly those four
        clean_statuses, clean = await corrupt_run(k, None)
        assert clean_statuses[-1] == SEC_E_OK
        original = next(e for e in clean if e.function == ISC and e.kind == "completed")
        assert original.token_out_hex is not None
        assert completed[0].token_out_hex is not None
        a, b = bytes.fromhex(original.token_out_hex), bytes.fromhex(completed[0].token_out_hex)
        differ = [i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y]
        assert len(a) == len(b)
        assert len(differ) == 4
        assert min(differ) >= 5
        again, _ = await corrupt_run(k, faults)
        assert again == statuses


async def test_truncate_output_token(package: str) -> None:
    """§9 truncate: the out buffer holds the first 10 bytes; the server needs more
    (SEC_E_INCOMPLETE_MESSAGE), and the Pythonic handshake() says the token was cut short."""
    faults = plan({"function": "ISC", "nth": 1, "action": {"kind": "truncate", "length": 10}})
    async with Emulator(settings(faults)) as emu:
        k = kit(package)
        client, server = await peers(k)
        status, token = await client.exchange(None, k.target)
        assert status == SEC_I_CONTINUE_NEEDED
        assert len(token) == 10
        status, _ = await server.exchange(token, k.target)
        assert status == SEC_E_INCOMPLETE_MESSAGE
        (completed,) = events_of(emu, ISC, "completed")
        assert completed.token_out == 10
    async with Emulator(EmulatorSettings(faults=faults)):
        c, s = await pythonic_credentials(k)
        with pytest.raises(
            IncompleteMessageError,
            match=r"the server needs .* more bytes but the client sent no more",
        ):
            await handshake(c.client_context(k.target), s.server_context())


async def pythonic_credentials(k: Kit) -> tuple[Any, Any]:
    client = await acquire_credentials(k.package, "outbound", k.client_auth)
    server = await acquire_credentials(k.package, "inbound", k.server_auth)
    return client, server


async def test_split_keeps_the_bytes_and_delivers_chunks(package: str) -> None:
    """§9 split: the out buffer keeps the whole token; StepOutcome.chunks has the pieces; the
    Pythonic handshake() delivers them one at a time, so the server answers
    SEC_E_INCOMPLETE_MESSAGE twice, then the handshake completes."""
    faults = plan({"function": "ISC", "nth": 1, "action": {"kind": "split", "parts": 3}})
    async with Emulator(settings(faults)) as emu:
        k = kit(package)
        c, s = await pythonic_credentials(k)
        client, server = c.client_context(k.target), s.server_context()
        await handshake(client, server)
        assert client.complete
        assert server.complete
        asc = [e.result for e in events_of(emu, ASC, "completed")]
        assert asc[:3] == [
            "SEC_E_INCOMPLETE_MESSAGE",
            "SEC_E_INCOMPLETE_MESSAGE",
            "SEC_I_CONTINUE_NEEDED",
        ]
        first = events_of(emu, ISC, "completed")[0]
        assert first.token_out is not None
        pieces = split_token(bytes(first.token_out), parts=3)
        assert [e.token_in for e in events_of(emu, ASC, "queued")[:3]] == list(
            itertools.accumulate(map(len, pieces))
        )
        await client.aclose()
        await server.aclose()
        await c.aclose()
        await s.aclose()
    # The step itself: the whole token in the buffer, the pieces alongside.
    async with Emulator(EmulatorSettings(faults=faults)):
        c, s = await pythonic_credentials(k)
        outcome = await c.client_context(k.target).step(None)
        assert len(outcome.chunks) == 3
        assert b"".join(outcome.chunks) == outcome.token
        assert max(map(len, outcome.chunks)) - min(map(len, outcome.chunks)) <= 1
        unsplit = await c.client_context(k.target).step(None)  # nth=1: the next one is whole
        assert unsplit.chunks == (unsplit.token,)
        assert len(unsplit.token) == len(outcome.token)


async def test_split_server_flight_with_extra(package: str) -> None:
    """§9 split of the server's answer into 40-byte pieces: the client reads records as they
    complete (INCOMPLETE, or CONTINUE with EXTRA kept) and the handshake still completes."""
    faults = plan({"function": "ASC", "nth": 1, "action": {"kind": "split", "size": 40}})
    async with Emulator(settings(faults)) as emu:
        k = kit(package)
        c, s = await pythonic_credentials(k)
        await handshake(c.client_context(k.target), s.server_context())
        flight = events_of(emu, ASC, "completed")[0].token_out
        assert flight is not None
        assert flight > 80
        isc = events_of(emu, ISC, "queued")
        assert isc[1].token_in == 40  # the first piece reached the client alone
        assert (
            sum(
                1
                for e in events_of(emu, ISC, "completed")
                if e.result == "SEC_E_INCOMPLETE_MESSAGE"
            )
            >= 1
        )


# --------------------------------------------------------------------------- determinism


async def concurrent_run(k: Kit, seed: int) -> list[TraceEvent]:
    """Two handshakes at once under random delays, on the virtual clock, all on the loop."""
    faults = plan(
        {"name": "jitter", "action": {"kind": "delay", "seconds": [0.001, 0.5]}},
        {"function": "ASC", "nth": 2, "action": {"kind": "split", "parts": 2}},
        seed=seed,
    )
    async with Emulator(settings(faults, time_scale=0, crypto_workers=0)) as emu:
        c, s = await pythonic_credentials(k)
        await asyncio.gather(
            handshake(c.client_context(k.target), s.server_context()),
            handshake(c.client_context(k.target), s.server_context()),
        )
        return emu.trace_events()


async def test_same_plan_and_seed_give_the_same_trace(package: str) -> None:
    """§9 determinism: two runs of a seeded plan with random delays give identical traces apart
    from the times; another seed gives another run."""
    k = kit(package, rsa=True)  # RSA signatures have a fixed size: token sizes repeat too
    first = await concurrent_run(k, seed=11)
    second = await concurrent_run(k, seed=11)
    assert without_times(first) == without_times(second)
    assert len(first) > 20
    other = await concurrent_run(k, seed=12)
    assert without_times(other) != without_times(first)


# --------------------------------------------------------------------------- matching


async def test_rules_match_by_side_package_tag_and_nth(package: str) -> None:
    """§9 matching: side (ACH from fCredentialUse, DSC/FCH from the handle tables), package
    (another package's rule never fires), tag, and nth counted per rule."""
    other = "Schannel" if package == "SimTLS" else "SimTLS"
    faults = plan(
        {
            "function": "ACH",
            "package": other,
            "action": {"kind": "fail", "status": "SEC_E_LOGON_DENIED", "at": "queue"},
        },
        {
            "function": "DSC",
            "side": "server",
            "action": {"kind": "fail", "status": "SEC_E_LOGON_DENIED"},
        },
        {
            "function": "FCH",
            "side": "client",
            "action": {"kind": "fail", "status": "SEC_E_INSUFFICIENT_MEMORY"},
        },
        {"tag": "client", "function": "ISC", "nth": 2, "action": {"kind": "delay", "seconds": 0}},
    )
    async with Emulator(settings(faults)) as emu:
        k = kit(package)
        client, server = await peers(k)
        await flat_handshake(k, client, server)
        assert await client.run(client.delete()) == SEC_E_OK
        assert await server.run(server.delete()) == SEC_E_LOGON_DENIED
        assert await client.run(client.free()) == SEC_E_INSUFFICIENT_MEMORY
        assert await server.run(server.free()) == SEC_E_OK
        queued = [e for e in emu.trace_events() if e.kind == "queued"]
        assert all(e.package == package for e in queued)
        sides = {(e.function, e.tag): e.side for e in queued}
        assert sides[ACH, "client"] == sides[DSC, "client"] == sides[FCH, "client"] == "client"
        assert sides[ACH, "server"] == sides[DSC, "server"] == sides[FCH, "server"] == "server"
        isc = events_of(emu, ISC, "queued")
        assert [e.faults for e in isc] == [(), ("delay 0 s",)]


async def test_refused_calls_are_traced_and_not_counted(package: str) -> None:
    """§9/A4: a call refused at queue time is traced as queued with the refusal status (no
    completion), gets no faults and does not count for nth."""
    faults = plan(
        {"function": "ACH", "nth": 1, "action": {"kind": "fail", "status": "SEC_E_LOGON_DENIED"}}
    )
    async with Emulator(settings(faults)) as emu:
        k = kit(package)
        client = await Peer("client").open()
        refused = await client.queue(
            lambda actx: SspiAcquireCredentialsHandleAsync(
                actx, None, k.package, 2, None, k.client_auth, None, None, None, None
            )
        )
        assert refused == SEC_E_INVALID_HANDLE
        assert await client.run(client.acquire(k)) == SEC_E_LOGON_DENIED
        events = emu.trace_events()
        assert [(e.kind, e.queue_status or e.result, e.faults) for e in events] == [
            ("queued", "SEC_E_INVALID_HANDLE", ()),
            ("queued", "SEC_E_OK", ("fail SEC_E_LOGON_DENIED at completion",)),
            ("completed", "SEC_E_LOGON_DENIED", ()),
            ("callback", "SEC_E_LOGON_DENIED", ()),
        ]


# --------------------------------------------------------------------------- swapping plans


async def test_plan_swapped_at_run_time(package: str) -> None:
    """§9: set_fault_plan swaps the plan for calls queued from then on (rule counters start
    afresh; a call already queued keeps its decision); None removes it and, without a trace,
    the observer, so the hot path is back to one check."""
    stall = FaultPlan(rules=[FaultRule(function="ACH", tag="s", action=StallAction())])
    fail = plan(
        {"function": "ACH", "nth": 2, "action": {"kind": "fail", "status": "SEC_E_LOGON_DENIED"}}
    )
    k = kit(package)
    emu = Emulator(faults=stall)
    async with emu:
        assert emu.fault_plan is stall
        stalled = await Peer("s").open()
        stalled.client = True
        assert await stalled.queue(stalled.acquire(k)) == SEC_E_OK
        emu.set_fault_plan(fail)
        assert emu.fault_plan is fail
        peer = await Peer("client").open()
        assert await peer.run(peer.acquire(k)) == SEC_E_OK
        assert await peer.run(peer.acquire(k)) == SEC_E_LOGON_DENIED
        assert await peer.run(peer.acquire(k)) == SEC_E_OK
        emu.set_fault_plan(None)
        assert emu.fault_plan is None
        assert emu._observer is None
        assert await peer.run(peer.acquire(k)) == SEC_E_OK
        assert stalled.actx.status == SEC_I_ASYNC_CALL_PENDING  # the old plan's stall holds
        emu.set_fault_plan(fail)
        assert emu._observer is not None
        assert await peer.run(peer.acquire(k)) == SEC_E_OK
        assert await peer.run(peer.acquire(k)) == SEC_E_LOGON_DENIED
    assert stalled.notified == [SEC_E_SHUTDOWN_IN_PROGRESS]
    assert emu.trace_events() == []  # faults only: nothing traced


async def test_no_plan_no_trace_builds_nothing(package: str) -> None:
    """Performance contract: without a plan or a trace there is no observer, calls carry no
    CallInfo, and trace_events() is empty."""
    async with Emulator() as emu:
        assert emu._observer is None
        assert emu.fault_plan is None
        assert not emu.tracing
        client = await Peer("client").open()
        assert await client.queue(client.acquire(kit(package))) == SEC_E_OK
        assert client.actx._call is not None
        assert client.actx._call.info is None
        assert await client.result() == SEC_E_OK
        assert emu.trace_events() == []


# --------------------------------------------------------------------------- bad plans

BAD_PLANS: list[tuple[object, str]] = [
    (
        {"rules": [{"action": {"kind": "fail", "status": "SEC_E_FOO"}}]},
        "faults.rules[0].action.status: unknown status 'SEC_E_FOO'",
    ),
    (
        {"rules": [{"action": "stall"}, {"function": "Frobnicate", "action": "eager"}]},
        "faults.rules[1].function: unknown function 'Frobnicate'",
    ),
    (
        {"rules": [{"action": {"kind": "delay", "seconds": [2, 1]}}]},
        "faults.rules[0].action.seconds: the range [2, 1] has low > high",
    ),
    (
        {"rules": [{"nth": 0, "action": "stall"}]},
        "faults.rules[0].nth: Input should be greater than or equal to 1",
    ),
    ({"rules": [{"action": {"kind": "explode"}}]}, "faults.rules[0].action: Input tag 'explode'"),
    (
        {"rules": [{"side": "both", "action": "stall"}]},
        "faults.rules[0].side: Input should be 'client' or 'server'",
    ),
    ({"seed": 1, "colour": "red"}, "faults.colour: Extra inputs are not permitted"),
    (
        {"rules": [{"action": {"kind": "fail", "status": "SEC_I_CONTINUE_NEEDED"}}]},
        "faults.rules[0].action.status: SEC_I_CONTINUE_NEEDED is not an error status",
    ),
    (
        '{"rules": [{"action": {"kind": "truncate"}}]}',
        "faults.rules[0].action.length: Field required",
    ),
    ("{not json", "faults: invalid fault plan: not JSON"),
    (42, "faults: Input should be a valid dictionary or instance of FaultPlan"),
]


@pytest.mark.parametrize(("faults", "message"), BAD_PLANS)
def test_bad_plans_name_the_rule_and_field(package: str, faults: object, message: str) -> None:
    """§9: an invalid plan given to EmulatorSettings (dict or JSON) raises FaultPlanError whose
    message names the rule and the field."""
    del package  # the same for both
    with pytest.raises(FaultPlanError, match=re.escape(message)) as info:
        EmulatorSettings(faults=faults)
    assert str(info.value).startswith("invalid EmulatorSettings: faults")
    assert info.value.problems
    assert info.value.problems[0][0].startswith("faults")
    with pytest.raises(FaultPlanError, match=re.escape(message)):
        Emulator(faults=faults)


def test_plans_from_data_json_and_files_are_accepted(package: str, tmp_path: Path) -> None:
    """§9: faults= takes a FaultPlan, its data, JSON text or a .json/.toml path — all equal."""
    data = {
        "seed": 5,
        "rules": [
            {
                "function": "ASC",
                "package": package,
                "nth": 2,
                "action": {"kind": "split", "size": 16},
            }
        ],
    }
    expected = FaultPlan(
        seed=5,
        rules=[FaultRule(function="ASC", package=package, nth=2, action=SplitAction(size=16))],
    )
    toml = tmp_path / "plan.toml"
    toml.write_text(
        f'seed = 5\n[[rules]]\nfunction = "ASC"\npackage = "{package}"\nnth = 2\n'
        'action = {kind = "split", size = 16}\n'
    )
    jsonfile = tmp_path / "plan.json"
    jsonfile.write_text(json.dumps(data))
    for faults in (expected, data, json.dumps(data), toml, jsonfile):
        assert EmulatorSettings(faults=faults).faults == expected
    bad = tmp_path / "bad.toml"
    bad.write_text('[[rules]]\naction = {kind = "corrupt", count = 0}\n')
    with pytest.raises(
        FaultPlanError, match=r"bad\.toml: invalid fault plan: rules\[0\]\.action\.count"
    ):
        EmulatorSettings(faults=bad)


def test_set_fault_plan_wants_a_plan(package: str) -> None:
    """set_fault_plan takes a validated FaultPlan (or None), not raw data."""
    del package
    emu = Emulator()
    with pytest.raises(TypeError, match="plan must be a FaultPlan or None, not dict"):
        emu.set_fault_plan({"rules": []})  # type: ignore[arg-type]
    assert emu._observer is None


def test_settings_errors_outside_the_plan_stay_configuration_errors(package: str) -> None:
    """Other settings mistakes are ConfigurationError, not FaultPlanError."""
    del package
    from sspi_async import ConfigurationError

    with pytest.raises(ConfigurationError, match=r"crypto_workers: Input should be") as info:
        EmulatorSettings(crypto_workers=-1, faults={"rules": []})
    assert not isinstance(info.value, FaultPlanError)


async def test_handshake_stall_with_no_bytes_is_reported(package: str) -> None:
    """handshake(): a plan that truncates the client's first token to nothing leaves the server
    nothing to read: the driver says so instead of looping."""
    faults = plan({"function": "ISC", "nth": 1, "action": {"kind": "truncate", "length": 0}})
    async with Emulator(EmulatorSettings(faults=faults)):
        c, s = await pythonic_credentials(kit(package))
        with pytest.raises(
            SspiError,
            match="handshake stalled: no bytes are on their way and the client and the server are not complete",
        ):
            await handshake(c.client_context(kit(package).target), s.server_context())
