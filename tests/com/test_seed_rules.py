"""The seed rules (I8, I9; R6–R9): impersonation around ``ISynchronize::Signal`` and the return
of ``Begin_``, from the dispatch task and from a worker task, before and after Signal, with
``Begin_`` returning, raising and being cancelled, in an STA and in the MTA."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import structlog

from sspi_async.com import (
    E_FAIL,
    RPC_E_CALL_CANCELED,
    RPC_E_CALL_COMPLETE,
    RPC_E_SERVERFAULT,
    S_OK,
    CoGetCallContext,
    IID_IServerSecurity,
    IServerSecurity,
    current_token,
    process_token,
)
from tests.com.helpers import begin, serve, wait_for

P = process_token()
REPLY = {"return": (S_OK,), "raise": (RPC_E_SERVERFAULT,), "cancel": (RPC_E_CALL_CANCELED,)}


def _ss() -> IServerSecurity:
    hr, ss = CoGetCallContext(IID_IServerSecurity)
    assert hr == S_OK
    assert isinstance(ss, IServerSecurity)
    return ss


async def _end(ending: str) -> int:
    """Finish Begin_ the way the test asks."""
    if ending == "raise":
        raise RuntimeError("Begin_ failed on purpose")
    if ending == "cancel":
        task = asyncio.current_task()
        assert task is not None
        task.cancel()
        await asyncio.Event().wait()  # the cancellation lands here
    return S_OK


@pytest.mark.parametrize("ending", ["return", "raise", "cancel"])
@pytest.mark.parametrize("when", ["before", "after"])
@pytest.mark.parametrize("where", ["dispatch", "worker"])
@pytest.mark.parametrize("apartment", ["sta", "mta"])
async def test_seed_rules_I8_I9_matrix(apartment: str, where: str, when: str, ending: str) -> None:
    """I8: after Signal, ImpersonateClient fails in every task (token unchanged). I9: an
    impersonation made before Signal survives it; in the dispatch task it ends when Begin_
    returns, raises or is cancelled (R8); in a worker task it outlives the call (R9) with a
    ResourceWarning at completion."""
    seen: dict[str, Any] = {}
    worker_ready, worker_release, signaled = asyncio.Event(), asyncio.Event(), asyncio.Event()
    worker_done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def worker(ss: IServerSecurity) -> None:
        if when == "after":
            await signaled.wait()
        seen["hr"] = ss.ImpersonateClient()
        worker_ready.set()
        await signaled.wait()
        seen["after signal"] = (current_token().user, ss.IsImpersonating())
        await worker_release.wait()
        seen["worker after call"] = current_token().user
        assert ss.RevertToSelf() == S_OK
        worker_done.set_result(None)

    async def body(co: Any) -> int:
        ss = _ss()
        if where == "worker":
            asyncio.get_running_loop().create_task(worker(ss))
            if when == "before":
                await worker_ready.wait()
        elif when == "before":
            seen["hr"] = ss.ImpersonateClient()
        co.sync.Signal()
        signaled.set()
        if where == "dispatch":
            if when == "after":
                seen["hr"] = ss.ImpersonateClient()
            seen["after signal"] = (current_token().user, ss.IsImpersonating())
        else:
            await worker_ready.wait()
            seen["dispatch after signal"] = current_token().user
        return await _end(ending)

    survives = where == "worker" and when == "before"
    with structlog.testing.capture_logs() as logs:
        async with serve(body, apartment=apartment) as s:
            call = begin(s.proxy)
            if survives:
                with pytest.warns(ResourceWarning, match="still impersonate its client"):
                    result = await call.Finish()
            else:
                result = await call.Finish()
            assert result == REPLY[ending]
            if apartment == "sta" and ending != "cancel":
                seen["apartment after call"] = (await s.ref.apartment.run(current_token)).user
            worker_release.set()
            if where == "worker":
                await wait_for(worker_done, "the worker")

    impersonated = when == "before"
    assert seen["hr"] == (S_OK if impersonated else RPC_E_CALL_COMPLETE)
    assert seen["after signal"] == (("alice", True) if impersonated else (P.user, False))
    if where == "worker":
        assert seen["dispatch after signal"] == P.user  # the worker's token is its own
        assert seen["worker after call"] == ("alice" if survives else P.user)
    if "apartment after call" in seen:
        assert seen["apartment after call"] == P.user
    (returned,) = [e for e in logs if e["event"] == "com.call.returned"]
    assert returned["token"] == P.user  # the dispatcher restored the dispatch task (R8)
    assert (
        returned["outcome"]
        == {"return": "returned", "raise": "raised", "cancel": "cancelled"}[ending]
    )


async def test_I8_impersonate_after_signal_fails_in_every_task_documented_style() -> None:
    """I8/R6: with error_style="documented" the refusal is E_FAIL — from the dispatch task while
    Begin_ still runs, from another task and through CoImpersonateClient; token unchanged."""
    seen: list[object] = []

    async def body(co: Any) -> int:
        ss = _ss()
        co.sync.Signal()
        seen.append((ss.ImpersonateClient(), current_token().user))

        async def other() -> None:
            seen.append((ss.ImpersonateClient(), current_token().user))

        await asyncio.create_task(other())
        seen.append(ss.QueryBlanket())  # R6 (choice): the blanket is gone with the context
        return S_OK

    async with serve(body, error_style="documented") as s:
        assert await begin(s.proxy).Finish() == (S_OK,)
    assert seen == [(E_FAIL, P.user), (E_FAIL, P.user), (RPC_E_CALL_COMPLETE, None)]


async def test_I9_R7_impersonation_before_signal_ends_at_the_first_revert() -> None:
    """I9/R7: after Signal the client token stays until RevertToSelf — whichever comes first —
    and cannot be taken again."""
    seen: list[object] = []

    async def body(co: Any) -> int:
        ss = _ss()
        assert ss.ImpersonateClient() == S_OK
        co.sync.Signal()
        seen.append((current_token().user, ss.IsImpersonating()))
        assert ss.RevertToSelf() == S_OK
        seen.append((current_token().user, ss.IsImpersonating()))
        seen.append(ss.ImpersonateClient())
        return S_OK

    async with serve(body) as s:
        assert await begin(s.proxy).Finish() == (S_OK,)
    assert seen == [("alice", True), (P.user, False), RPC_E_CALL_COMPLETE]


async def test_R6_signal_closes_the_context_even_when_Begin_keeps_working() -> None:
    """R6: Begin_ keeps running after Signal and its results wait for its return; a second
    Signal is harmless (R18)."""
    resume = asyncio.Event()
    seen: list[object] = []

    async def body(co: Any) -> int:
        co.sync.Signal()
        assert co.sync.Signal() == S_OK
        await resume.wait()
        seen.append(_ss().ImpersonateClient())
        co.outs = ("late",)
        return S_OK

    async with serve(body) as s:
        call = begin(s.proxy)
        assert await call.sync.Wait(0) != S_OK  # no reply while Begin_ still runs
        resume.set()
        assert await call.Finish() == (S_OK, "late")
    assert seen == [RPC_E_CALL_COMPLETE]


async def test_R8_synchronous_method_restores_the_token_on_return_raise_and_cancel() -> None:
    """R8/S3: COM reverts at the end of each synchronous method too, however it ends."""
    for ending in ("return", "raise", "cancel"):

        async def body(_: object, ending: str = ending) -> int:
            assert _ss().ImpersonateClient() == S_OK
            return await _end(ending)

        async with serve(body, apartment="sta") as s:
            assert await s.proxy.Call() == REPLY[ending]
            if ending != "cancel":
                assert (await s.ref.apartment.run(current_token)) == P


@pytest.mark.parametrize("strict", [False, True])
async def test_R9_worker_impersonation_outlives_the_call_unless_strict(strict: bool) -> None:
    """R9: a worker's impersonation is not removed by Begin_'s return or the call's completion
    (default); strict_worker_revert retires it at completion. Both warn."""
    release, impersonated, done = asyncio.Event(), asyncio.Event(), asyncio.Event()
    seen: list[str] = []

    async def body(co: Any) -> int:
        ss = _ss()

        async def worker() -> None:
            assert ss.ImpersonateClient() == S_OK
            impersonated.set()
            await release.wait()
            seen.append(current_token().user)
            assert ss.RevertToSelf() == S_OK
            seen.append(current_token().user)
            done.set()

        asyncio.get_running_loop().create_task(worker())
        await impersonated.wait()
        co.sync.Signal()
        return S_OK

    async with serve(body, strict_worker_revert=strict) as s:
        match = "retired" if strict else "still impersonate"
        with pytest.warns(ResourceWarning, match=match):
            assert await begin(s.proxy).Finish() == (S_OK,)
        release.set()
        await wait_for(done.wait(), "the worker")
    assert seen == ([P.user, P.user] if strict else ["alice", P.user])
