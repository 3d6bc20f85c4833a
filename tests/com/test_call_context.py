"""The call context (I6, I7; R1–R5, R15): CoGetCallContext, IServerSecurity, the Co* helpers."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from sspi_async._core._impersonation import revert_to_self, set_thread_token
from sspi_async.com import (
    E_INVALIDARG,
    E_NOINTERFACE,
    EOAC_NONE,
    RPC_C_AUTHN_LEVEL_CONNECT,
    RPC_C_AUTHN_LEVEL_DEFAULT,
    RPC_C_AUTHN_LEVEL_NONE,
    RPC_C_AUTHN_LEVEL_PKT_PRIVACY,
    RPC_C_AUTHN_WINNT,
    RPC_C_AUTHZ_NONE,
    RPC_E_CALL_COMPLETE,
    RPC_E_UNSECURE_CALL,
    RPC_E_WRONG_THREAD,
    RPC_S_CALLPENDING,
    S_OK,
    CallBlanket,
    CoGetCallContext,
    CoImpersonateClient,
    ComError,
    CoQueryClientBlanket,
    CoRevertToSelf,
    CoTestCancel,
    ICancelMethodCalls,
    IID_ICancelMethodCalls,
    IID_IServerSecurity,
    IID_IUnknown,
    IServerSecurity,
    Runtime,
    current_token,
    process_token,
    run_as,
)
from tests.com.helpers import ALICE, BOB, CAROL, FnServer, begin, serve

P = process_token()


def _ss() -> IServerSecurity:
    hr, ss = CoGetCallContext(IID_IServerSecurity)
    assert hr == S_OK
    assert isinstance(ss, IServerSecurity)
    return ss


# ------------------------------------------------------------------------------ I6, R1


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_I6_call_context_inside_a_dispatched_call(kind: str) -> None:
    """I6/R1: inside the call, CoGetCallContext gives the call's IServerSecurity (the same object
    each time), ICancelMethodCalls, and E_NOINTERFACE for other IIDs."""
    seen: dict[str, Any] = {}

    async def body(co: Any) -> int:
        hr, ss = CoGetCallContext(IID_IServerSecurity)
        seen["ss"] = (hr, isinstance(ss, IServerSecurity), ss is _ss())
        hr, cancel = CoGetCallContext(IID_ICancelMethodCalls)
        seen["cancel"] = (hr, isinstance(cancel, ICancelMethodCalls))
        seen["other"] = CoGetCallContext(IID_IUnknown)
        seen["imp"] = (CoImpersonateClient(), current_token().user, _ss().IsImpersonating())
        seen["rev"] = (CoRevertToSelf(), current_token().user, _ss().IsImpersonating())
        if co is not None:
            co.sync.Signal()
        return S_OK

    async with serve(body) as s:
        result = await (s.proxy.Call() if kind == "sync" else begin(s.proxy).Finish())
    assert result == (S_OK,)
    assert seen == {
        "ss": (S_OK, True, True),
        "cancel": (S_OK, True),
        "other": (E_NOINTERFACE, None),
        "imp": (S_OK, "alice", True),
        "rev": (S_OK, P.user, False),
    }


def _no_call() -> tuple[object, ...]:
    return (
        CoGetCallContext(IID_IServerSecurity),
        CoImpersonateClient(),
        CoRevertToSelf(),
        CoQueryClientBlanket(),
        CoTestCancel(),
        current_token().user,
    )


NO_CALL = (
    (RPC_E_CALL_COMPLETE, None),
    RPC_E_CALL_COMPLETE,
    RPC_E_CALL_COMPLETE,
    (RPC_E_CALL_COMPLETE, None),
    RPC_E_CALL_COMPLETE,
    P.user,
)


async def test_R1_no_call_context_in_a_plain_task_a_callback_or_a_thread() -> None:
    """R1: with no current call every Co* helper returns RPC_E_CALL_COMPLETE and changes
    nothing — in a plain task, a loop callback and a worker thread."""
    assert _no_call() == NO_CALL
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[tuple[object, ...]] = loop.create_future()
    loop.call_soon(lambda: fut.set_result(_no_call()))
    assert await fut == NO_CALL
    assert await asyncio.to_thread(_no_call) == NO_CALL


async def test_R1_no_call_context_in_a_child_task_or_after_Begin_returned() -> None:
    """R1: a task started by the call, and the STA's task once Begin_ returned, have no call
    context (the context belongs to the dispatch task while the call runs)."""
    seen: dict[str, Any] = {}

    async def body(co: Any) -> int:
        seen["child"] = await asyncio.create_task(_child())
        co.sync.Signal()
        return S_OK

    async def _child() -> tuple[object, ...]:
        return _no_call()

    async with serve(body, apartment="sta") as s:
        assert await begin(s.proxy).Finish() == (S_OK,)
        after = await s.ref.apartment.run(_no_call)
    assert seen["child"] == NO_CALL
    assert after == NO_CALL


# ------------------------------------------------------------------------------------ R2


async def test_R2_retained_IServerSecurity_works_in_other_tasks_until_signal() -> None:
    """R2: the IServerSecurity may be kept and used from another task of the same loop."""
    seen: dict[str, Any] = {}

    async def body(co: Any) -> int:
        ss = _ss()

        async def other() -> None:
            seen["imp"] = (ss.ImpersonateClient(), current_token().user, ss.IsImpersonating())
            seen["rev"] = (ss.RevertToSelf(), current_token().user)
            seen["blanket"] = ss.QueryBlanket()[0]

        await asyncio.create_task(other())
        seen["dispatch"] = current_token().user
        co.sync.Signal()
        return S_OK

    async with serve(body) as s:
        assert await begin(s.proxy).Finish() == (S_OK,)
    assert seen == {
        "imp": (S_OK, "alice", True),
        "rev": (S_OK, P.user),
        "blanket": S_OK,
        "dispatch": P.user,
    }


async def test_R2_IServerSecurity_from_another_thread_or_loop_is_wrong_thread() -> None:
    """R2 (choice): from a worker thread or another event loop every method returns
    RPC_E_WRONG_THREAD (IsImpersonating: False) and nothing changes."""

    def probe(ss: IServerSecurity) -> tuple[object, ...]:
        return (
            ss.ImpersonateClient(),
            ss.RevertToSelf(),
            ss.QueryBlanket(),
            ss.IsImpersonating(),
            current_token().user,
        )

    expected = (RPC_E_WRONG_THREAD, RPC_E_WRONG_THREAD, (RPC_E_WRONG_THREAD, None), False, P.user)
    seen: dict[str, Any] = {}

    async def body(co: Any) -> int:
        ss = _ss()
        seen["thread"] = await asyncio.to_thread(probe, ss)

        async def in_other_loop() -> tuple[object, ...]:
            return probe(ss)

        seen["loop"] = await asyncio.to_thread(asyncio.run, in_other_loop())
        seen["dispatch"] = (ss.ImpersonateClient(), current_token().user)
        co.sync.Signal()
        return S_OK

    async with serve(body) as s:
        assert await begin(s.proxy).Finish() == (S_OK,)
    assert seen == {"thread": expected, "loop": expected, "dispatch": (S_OK, "alice")}


# ------------------------------------------------------------------------------------ R3


async def test_R3_an_unauthenticated_call_cannot_impersonate() -> None:
    """R3: at RPC_C_AUTHN_LEVEL_NONE ImpersonateClient → RPC_E_UNSECURE_CALL, token unchanged;
    the call itself still runs."""
    seen: dict[str, Any] = {}

    async def body(_: object) -> int:
        seen["imp"] = (CoImpersonateClient(), current_token().user, _ss().IsImpersonating())
        seen["blanket"] = CoQueryClientBlanket()
        return S_OK

    async with Runtime() as rt:
        ref = rt.mta().register(FnServer(body))
        proxy = rt.proxy(ref, identity=ALICE, authn_level=RPC_C_AUTHN_LEVEL_NONE)
        assert await proxy.Call() == (S_OK,)
    assert seen["imp"] == (RPC_E_UNSECURE_CALL, P.user, False)
    hr, blanket = seen["blanket"]
    assert hr == S_OK
    assert (blanket.authn_level, blanket.privs) == (RPC_C_AUTHN_LEVEL_NONE, None)


# ----------------------------------------------------------------------------- I7, R4, R5


async def test_I7_first_impersonation_saves_the_tasks_token_one_revert_restores_it() -> None:
    """I7/R4: the first ImpersonateClient saves the task's token — here a worker task handed
    carol's token by ``run_as`` — and one RevertToSelf brings exactly that token back."""
    seen: list[str] = []

    async def body(co: Any) -> int:
        ss = _ss()

        async def worker() -> None:
            seen.append(current_token().user)
            assert ss.ImpersonateClient() == S_OK
            seen.append(current_token().user)
            assert ss.RevertToSelf() == S_OK
            seen.append(current_token().user)

        await run_as(CAROL, worker)
        co.sync.Signal()
        return S_OK

    async with serve(body) as s:
        assert await begin(s.proxy).Finish() == (S_OK,)
    assert seen == ["carol", "alice", "carol"]


async def test_R4_repeated_impersonation_through_one_or_two_calls_needs_one_revert() -> None:
    """R4: impersonating twice through one IServerSecurity, or through two calls' (even in
    another order), saves once; a single RevertToSelf restores the token before the first."""
    ready = asyncio.Event()
    retained: dict[int, IServerSecurity] = {}
    gate = asyncio.Event()
    seen: list[object] = []

    async def body(co: Any, n: int) -> int:
        retained[n] = _ss()
        if len(retained) == 2:
            ready.set()
        await gate.wait()
        co.sync.Signal()
        return S_OK

    async with serve(body) as s:
        bob = s.rt.proxy(s.ref, identity=BOB, imp_level=3)
        calls = [begin(s.proxy, 1), begin(bob, 2)]
        await ready.wait()
        first, second = retained[1], retained[2]

        async def worker() -> None:
            assert first.ImpersonateClient() == S_OK
            assert first.ImpersonateClient() == S_OK
            seen.append(current_token().user)
            assert second.ImpersonateClient() == S_OK
            seen.append((current_token().user, first.IsImpersonating(), second.IsImpersonating()))
            assert first.RevertToSelf() == S_OK  # through the *other* call's interface
            seen.append((current_token().user, second.IsImpersonating()))
            assert second.RevertToSelf() == S_OK  # nothing left: R5
            seen.append(current_token().user)

        await asyncio.create_task(worker())
        gate.set()
        assert [await c.Finish() for c in calls] == [(S_OK,), (S_OK,)]
    assert seen == ["alice", ("bob", False, True), (P.user, False), P.user]


async def test_R5_revert_without_impersonation_is_S_OK_and_changes_nothing() -> None:
    """R5: RevertToSelf when the task is not impersonating through COM is S_OK and leaves the
    token alone — also a raw (SetThreadToken / SSPI) token, which COM did not make."""
    seen: list[object] = []

    async def body(_: object) -> int:
        seen.append((CoRevertToSelf(), current_token().user))
        set_thread_token(BOB)
        seen.append((CoRevertToSelf(), current_token().user, _ss().IsImpersonating()))
        revert_to_self()
        return S_OK

    async with serve(body) as s:
        assert await s.proxy.Call() == (S_OK,)
    assert seen == [(S_OK, P.user), (S_OK, "bob", False)]


async def test_impersonated_context_manager_and_its_error() -> None:
    """``ss.impersonated()`` impersonates and reverts; a refusal raises ComError with the
    HRESULT and a message saying what to do."""
    seen: list[object] = []

    async def body(co: Any) -> int:
        ss = _ss()
        with ss.impersonated() as token:
            seen.append((token.user, current_token().user))
        seen.append(current_token().user)
        co.sync.Signal()
        with (
            pytest.raises(ComError, match="impersonate before Signal") as info,
            ss.impersonated(),
        ):
            pass  # pragma: no cover - never entered
        seen.append(info.value.hresult)
        assert "RPC_E_CALL_COMPLETE" in str(info.value)
        return S_OK

    async with serve(body) as s:
        assert await begin(s.proxy).Finish() == (S_OK,)
    assert seen == [("alice", "alice"), P.user, RPC_E_CALL_COMPLETE]


# ------------------------------------------------------------------------------------ R15


async def test_R15_query_blanket_reports_everything_but_the_impersonation_level() -> None:
    """R15: QueryBlanket gives service, principal, authentication level, privs (the client's
    name for NTLM) and capabilities; it has no impersonation level, and asking for one is
    E_INVALIDARG. DEFAULT authentication resolves to CONNECT (choice)."""
    seen: list[object] = []

    async def body(_: object) -> int:
        seen.append(_ss().QueryBlanket())
        seen.append(_ss().QueryBlanket(pImpLevel=object()))
        seen.append(CoTestCancel())
        return S_OK

    async with Runtime(server_principal="HOST/server") as rt:
        ref = rt.mta().register(FnServer(body))
        for level, expected in [
            (RPC_C_AUTHN_LEVEL_PKT_PRIVACY, RPC_C_AUTHN_LEVEL_PKT_PRIVACY),
            (RPC_C_AUTHN_LEVEL_DEFAULT, RPC_C_AUTHN_LEVEL_CONNECT),
        ]:
            seen.clear()
            assert await rt.proxy(ref, identity=ALICE, authn_level=level).Call() == (S_OK,)
            assert seen[0] == (
                S_OK,
                CallBlanket(
                    authn_svc=RPC_C_AUTHN_WINNT,
                    authz_svc=RPC_C_AUTHZ_NONE,
                    server_principal="HOST/server",
                    authn_level=expected,
                    privs="alice",
                    capabilities=EOAC_NONE,
                ),
            )
            assert seen[1:] == [(E_INVALIDARG, None), RPC_S_CALLPENDING]
    assert not hasattr(seen[0][1], "imp_level")


async def test_I6_concurrent_calls_each_see_only_their_own_client() -> None:
    """I6: the call context is per task: two concurrent MTA calls each impersonate their own
    client."""
    both = asyncio.Event()
    count = 0
    seen: dict[str, str] = {}

    async def body(_: object, name: str) -> int:
        nonlocal count
        assert CoImpersonateClient() == S_OK
        count += 1
        if count == 2:
            both.set()
        await both.wait()
        seen[name] = current_token().user
        return S_OK

    async with serve(body) as s:
        bob = s.rt.proxy(s.ref, identity=BOB, imp_level=3)
        results = await asyncio.gather(s.proxy.Call("a"), bob.Call("b"))
    assert results == [(S_OK,), (S_OK,)]
    assert seen == {"a": "alice", "b": "bob"}
