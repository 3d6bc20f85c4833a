"""Asynchronous call objects (I12; R18–R20): ISynchronize, Begin_/Finish_, cancellation."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, ClassVar

import pytest
import structlog

from sspi_async.com import (
    CO_E_CANCEL_DISABLED,
    E_INVALIDARG,
    E_NOINTERFACE,
    INFINITE,
    RPC_E_CALL_CANCELED,
    RPC_E_CALL_COMPLETE,
    RPC_E_DISCONNECTED,
    RPC_E_SERVERFAULT,
    RPC_S_CALLPENDING,
    S_OK,
    ClientCall,
    CoGetCallContext,
    CoImpersonateClient,
    ComObject,
    CoTestCancel,
    EventKind,
    ICancelMethodCalls,
    IID_ICancelMethodCalls,
    ISynchronize,
    Runtime,
    ServerCallObject,
    current_token,
)
from sspi_async.com._call_state import (
    CLIENT_TRANSITIONS,
    SERVER_TRANSITIONS,
    ClientEvent,
    ClientState,
    IllegalCallTransitionError,
    Refused,
    ServerEvent,
    ServerState,
    client_transition,
    server_transition,
)
from tests.com.helpers import ALICE, FnServer, begin, serve, wait_for

# ------------------------------------------------------------------------------------ R18


async def test_I12_R18_std_event_auto_resets_and_polls() -> None:
    """R18: Wait(0) polls; Signal → S_OK (again too); a successful Wait resets a StdEvent;
    Reset → S_OK; a bad time-out is E_INVALIDARG."""
    sync = ISynchronize()
    assert await sync.Wait(0) == RPC_S_CALLPENDING
    assert (sync.Signal(), sync.Signal()) == (S_OK, S_OK)
    assert sync.signaled
    assert await sync.Wait(0) == S_OK
    assert await sync.Wait(0) == RPC_S_CALLPENDING
    sync.Signal()
    assert sync.Reset() == S_OK
    assert await sync.Wait(0) == RPC_S_CALLPENDING
    assert await sync.Wait(-1) == E_INVALIDARG
    assert "StdEvent nonsignaled" in repr(sync)


async def test_R18_manual_reset_event_stays_signaled_until_reset() -> None:
    """R18: a ManualResetEvent does not reset on a successful Wait and wakes every waiter."""
    sync = ISynchronize(EventKind.ManualResetEvent)
    waiters = [asyncio.create_task(sync.Wait(INFINITE)) for _ in range(3)]
    await asyncio.sleep(0)  # let them block (no event to wait on: they are the waiters)
    sync.Signal()
    assert await asyncio.gather(*waiters) == [S_OK] * 3
    assert await sync.Wait(0) == S_OK
    assert await sync.Wait(0) == S_OK
    sync.Reset()
    assert await sync.Wait(0) == RPC_S_CALLPENDING


async def test_R18_wait_times_out_with_RPC_S_CALLPENDING() -> None:
    """R18: a Wait that is not signaled in time returns RPC_S_CALLPENDING (the time-out is what
    is tested, so it really elapses: 20 ms); a later Signal is not lost."""
    sync = ISynchronize()
    assert await sync.Wait(20) == RPC_S_CALLPENDING
    sync.Signal()
    assert await sync.Wait(20) == S_OK


async def test_R18_std_event_wakes_one_waiter_per_signal_even_from_a_thread() -> None:
    """R18: each Signal of a StdEvent releases one waiter; Signal works from a worker thread."""
    sync = ISynchronize()
    first = asyncio.create_task(sync.Wait(INFINITE))
    second = asyncio.create_task(sync.Wait(INFINITE))
    await asyncio.sleep(0)
    assert await asyncio.to_thread(sync.Signal) == S_OK
    done, pending = await asyncio.wait({first, second}, return_when=asyncio.FIRST_COMPLETED)
    assert [t.result() for t in done] == [S_OK]
    assert len(pending) == 1
    sync.Signal()
    assert await wait_for(pending.pop()) == S_OK
    assert not sync.signaled


async def test_R18_wait_in_an_STA_dispatches_incoming_calls() -> None:
    """R18/[ISync-Wait]: in an STA, Wait is the modal loop: a call arriving meanwhile runs (and
    here signals the event the first call waits on)."""
    sync = ISynchronize()
    waiting = asyncio.Event()

    class Server(ComObject):
        async def Block(self) -> int:
            waiting.set()
            return await sync.Wait(INFINITE)

        async def Release(self) -> int:
            return sync.Signal()

    async with Runtime() as rt:
        proxy = rt.proxy(rt.sta("one").register(Server()), identity=ALICE)
        blocked = asyncio.create_task(proxy.Block())
        await wait_for(waiting.wait())
        assert await wait_for(proxy.Release()) == (S_OK,)
        assert await wait_for(blocked) == (S_OK,)


# ------------------------------------------------------------------------------------ R19


async def test_I12_R19_begin_while_pending_finish_without_call_and_finish_waits() -> None:
    """R19: Finish_ with no call → RPC_E_CALL_COMPLETE; Begin_ while a call is pending or
    replied-but-unfinished → RPC_S_CALLPENDING; Finish_ before Signal waits for it; the call
    object is reusable; Begin_Job/Finish_Job name the same calls."""
    go = asyncio.Event()

    async def body(co: Any, n: int) -> int:
        await go.wait()
        co.outs = (n * 10,)
        co.sync.Signal()
        return S_OK

    async with serve(body) as s:
        hr, call = s.proxy.CreateCall("Job")
        assert hr == S_OK
        assert isinstance(call, ClientCall)
        assert await call.Finish_Job() == (RPC_E_CALL_COMPLETE,)
        assert call.Begin_Job(1) == S_OK
        assert call.Begin_Job(2) == RPC_S_CALLPENDING
        finishing = asyncio.create_task(call.Finish())
        await asyncio.sleep(0)
        assert not finishing.done()
        go.set()
        assert await wait_for(finishing) == (S_OK, 10)
        assert await call.Finish() == (RPC_E_CALL_COMPLETE,)
        assert call.Begin(3) == S_OK
        assert await call.sync.Wait(INFINITE) == S_OK
        assert call.Begin(4) == RPC_S_CALLPENDING  # replied, not finished
        assert await call.Finish() == (S_OK, 30)
        with pytest.raises(AttributeError, match="Begin_Job and Finish_Job"):
            call.Begin_Other  # noqa: B018


async def test_R19_finish_returns_exactly_what_the_synchronous_call_returns() -> None:
    """R19: an asynchronous call to a synchronous method returns its HRESULT and outs; a
    synchronous call to an asynchronous-only method runs Begin_/Finish_ (reference §2.3)."""

    async def body(co: Any, value: int) -> Any:
        if co is None:
            return S_OK, value + 1
        co.outs = (value + 2,)
        co.sync.Signal()
        return S_OK

    async with serve(body) as s:
        assert await s.proxy.Call(1) == (S_OK, 2)
        assert await begin(s.proxy, 1, method="Call").Finish() == (S_OK, 2)
        assert await s.proxy.call("Job", 1) == (S_OK, 3)
        assert await begin(s.proxy, 1).Finish() == (S_OK, 3)


async def test_R19_failures_reach_the_client_as_HRESULTs() -> None:
    """R19: a failing Begin_ is the call's result (no Finish_); a raising method or Finish_ is
    RPC_E_SERVERFAULT (logged with the error); an unknown method is E_NOINTERFACE."""

    class Broken(ServerCallObject):
        async def Begin_Fails(self) -> int:
            return E_INVALIDARG

        async def Begin_BadFinish(self) -> int:
            self.sync.Signal()
            return S_OK

        def Finish_BadFinish(self) -> int:
            raise ValueError("no results")

    class Server(ComObject):
        async_calls: ClassVar[Mapping[str, type[ServerCallObject]]] = {
            "Fails": Broken,
            "BadFinish": Broken,
        }

        async def Odd(self) -> str:
            return "not an HRESULT"

    with structlog.testing.capture_logs() as logs:
        async with Runtime() as rt:
            proxy = rt.proxy(rt.mta().register(Server()), identity=ALICE)
            assert await proxy.call("Fails") == (E_INVALIDARG,)
            assert await proxy.call("BadFinish") == (RPC_E_SERVERFAULT,)
            assert await proxy.Odd() == (RPC_E_SERVERFAULT,)
            assert await proxy.call("Missing") == (E_NOINTERFACE,)
            assert proxy.CreateCall("Missing") == (E_NOINTERFACE, None)
            with pytest.raises(AttributeError, match="Server has no COM method 'Missing'"):
                proxy.Missing  # noqa: B018
    odd = [e for e in logs if e["event"] == "com.call.returned" and e["method"] == "Odd"]
    assert "HRESULT or a tuple" in odd[0]["error"]


async def test_R19_a_call_object_may_be_released_without_Finish() -> None:
    """R19: dropping a call object without Finish_ is allowed; the runtime closes cleanly and a
    call still queued in a closed apartment replies RPC_E_DISCONNECTED."""
    gate = asyncio.Event()

    async def body(co: Any) -> int:
        await gate.wait()
        co.sync.Signal()
        return S_OK

    async with serve(body, apartment="sta") as s:
        begin(s.proxy)  # never finished
        queued = begin(s.proxy)  # waits behind the first in the STA
    assert await queued.Finish() == (RPC_E_DISCONNECTED,)
    assert await s.proxy.Call() == (RPC_E_DISCONNECTED,)
    with pytest.raises(RuntimeError, match="not running"):
        s.rt.sta("late")


# ------------------------------------------------------------------------------------ R20


async def test_I12_R20_cancel_codes_and_the_context_survives_a_cancel() -> None:
    """R20: Cancel/TestCancel with no call → RPC_E_CALL_COMPLETE; Cancel(0) → S_OK and the
    server's TestCancel → RPC_E_CALL_CANCELED, but the server can still impersonate (cancel does
    not close the call context); a second Cancel → RPC_E_CALL_CANCELED; Begin_ → CALLPENDING
    until Finish_, which returns RPC_E_CALL_CANCELED at once; the late reply is dropped."""
    requested, finish_server, server_done = asyncio.Event(), asyncio.Event(), asyncio.Event()
    seen: list[object] = []

    async def body(co: Any) -> int:
        await co.cancel.requested()
        seen.append((co.cancel.TestCancel(), CoTestCancel()))
        seen.append((CoImpersonateClient(), current_token().user))
        requested.set()
        await finish_server.wait()
        co.sync.Signal()
        server_done.set()
        return S_OK

    async with serve(body) as s:
        call = s.proxy.CreateCall("Job")[1]
        assert call is not None
        assert await call.cancel.Cancel(0) == RPC_E_CALL_COMPLETE
        assert call.cancel.TestCancel() == RPC_E_CALL_COMPLETE
        assert call.Begin() == S_OK
        assert call.cancel.TestCancel() == RPC_S_CALLPENDING
        assert await call.cancel.Cancel(0) == S_OK
        await wait_for(requested.wait())
        assert call.cancel.TestCancel() == RPC_E_CALL_CANCELED
        assert await call.cancel.Cancel(0) == RPC_E_CALL_CANCELED
        assert call.Begin() == RPC_S_CALLPENDING
        assert await call.Finish() == (RPC_E_CALL_CANCELED,)
        finish_server.set()
        await wait_for(server_done.wait())  # its reply is on its way...
        await asyncio.sleep(0)  # ...and delivered: dropped, the call object stays idle
        assert call.state is ClientState.IDLE
        assert await call.sync.Wait(0) == RPC_S_CALLPENDING
        assert call.Begin() == S_OK  # a new call on the same object (closed with the runtime)
    assert seen == [(RPC_E_CALL_CANCELED, RPC_E_CALL_CANCELED), (S_OK, "alice")]


async def test_R20_cancel_that_completes_within_the_time_out_is_call_complete() -> None:
    """R20: when the server finishes within ``ulSeconds`` after the request, Cancel returns
    RPC_E_CALL_COMPLETE and Finish_ gives the call's real result."""

    async def body(co: Any) -> int:
        await co.cancel.requested()
        co.outs = ("stopped early",)
        co.sync.Signal()
        return S_OK

    async with serve(body) as s:
        call = begin(s.proxy)
        assert await call.cancel.Cancel(30) == RPC_E_CALL_COMPLETE
        assert await call.Finish() == (S_OK, "stopped early")


async def test_R20_cancel_disabled_and_server_side_cancel() -> None:
    """R20: a call object made with cancel_enabled=False answers CO_E_CANCEL_DISABLED; the
    server's own ICancelMethodCalls records a request (S_OK, then RPC_E_CALL_CANCELED)."""
    seen: list[object] = []

    async def body(co: Any) -> int:
        hr, cancel = CoGetCallContext(IID_ICancelMethodCalls)
        assert hr == S_OK
        assert isinstance(cancel, ICancelMethodCalls)
        seen.append(await cancel.Cancel(0))
        seen.append(await cancel.Cancel(0))
        seen.append(cancel.TestCancel())
        co.sync.Signal()
        return S_OK

    async with serve(body) as s:
        hr, call = s.proxy.CreateCall("Job", cancel_enabled=False)
        assert hr == S_OK
        assert call is not None
        assert call.Begin() == S_OK
        assert await call.cancel.Cancel(0) == CO_E_CANCEL_DISABLED
        assert await call.Finish() == (S_OK,)
    assert seen == [S_OK, RPC_E_CALL_CANCELED, RPC_E_CALL_CANCELED]


# ------------------------------------------------------------------------- state tables


def test_server_table_covers_both_orders_and_refuses_a_second_return() -> None:
    """§8.1: SIGNALED and RETURNED both lead to COMPLETE; only DISPATCHED/RETURNED are open;
    a second return is a dispatcher bug (IllegalCallTransitionError naming state and event)."""
    S, E = ServerState, ServerEvent
    assert server_transition(server_transition(S.DISPATCHED, E.SIGNAL), E.RETURN) is S.COMPLETE
    assert server_transition(server_transition(S.DISPATCHED, E.RETURN), E.SIGNAL) is S.COMPLETE
    assert [s for s in S if s.open] == [S.DISPATCHED, S.RETURNED]
    assert len(SERVER_TRANSITIONS) == 6
    with pytest.raises(
        IllegalCallTransitionError, match="return is not possible in state complete"
    ):
        server_transition(S.COMPLETE, E.RETURN)


def test_client_table_refusals_carry_their_HRESULT() -> None:
    """R19: every refused client transition carries the HRESULT the call returns."""
    C, E = ClientState, ClientEvent
    refused = {k: int(v) for k, v in CLIENT_TRANSITIONS.items() if isinstance(v, Refused)}
    assert refused == {
        (C.PENDING, E.BEGIN): RPC_S_CALLPENDING,
        (C.REPLIED, E.BEGIN): RPC_S_CALLPENDING,
        (C.CANCELLED, E.BEGIN): RPC_S_CALLPENDING,
        (C.IDLE, E.FINISH): RPC_E_CALL_COMPLETE,
    }
    assert client_transition(C.CANCELLED, E.REPLY) is C.CANCELLED
    with pytest.raises(IllegalCallTransitionError):
        client_transition(C.IDLE, E.REPLY)


async def test_server_call_object_outside_a_call_says_how_to_get_one() -> None:
    """A server call object made by hand is not bound to a call: its sync/cancel raise with a
    message that says COM makes them through the call factory."""
    obj = ServerCallObject(FnServer(lambda *_: asyncio.sleep(0)))
    with pytest.raises(RuntimeError, match="through the server's call factory"):
        obj.sync  # noqa: B018
    assert obj.call_id is None
