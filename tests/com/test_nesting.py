"""Nesting (I10; R10, R11): the A/B/C/D case of ``IServerSecurity::ImpersonateClient``.

A (an STA) receives a call from B and impersonates B, then calls C and waits; while it waits, D
calls A, and the call is dispatched nested in A's task; D's call impersonates D, reverts and
returns; then C replies. Apartment model: A's token is B again. Traditional: last one wins, A
ends as itself.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest

from sspi_async.com import (
    RPC_C_IMP_LEVEL_IMPERSONATE,
    S_OK,
    CoImpersonateClient,
    ComObject,
    CoRevertToSelf,
    Proxy,
    Runtime,
    current_token,
    process_token,
)
from tests.com.helpers import BOB, DAVE, wait_for

P = process_token().user


@dataclass
class Timeline:
    """What A saw, in order."""

    events: list[tuple[str, str]] = field(default_factory=list)
    tasks: set[object] = field(default_factory=set)

    def note(self, what: str) -> None:
        self.events.append((what, current_token().user))
        self.tasks.add(asyncio.current_task())


class C(ComObject):
    """C replies when the test says so (after D's call to A returned)."""

    def __init__(self) -> None:
        self.called = asyncio.Event()
        self.reply = asyncio.Event()

    async def Work(self) -> int:
        self.called.set()
        await self.reply.wait()
        return S_OK


class A(ComObject):
    """The STA server of the case."""

    def __init__(self, timeline: Timeline, impersonate_d: bool = True) -> None:
        self.timeline = timeline
        self.impersonate_d = impersonate_d
        self.c: Proxy | None = None

    async def FromB(self) -> int:
        self.timeline.note("B's call starts")
        assert CoImpersonateClient() == S_OK
        self.timeline.note("A impersonates B")
        assert self.c is not None
        assert await self.c.call("Work") == (S_OK,)  # waits in the modal loop: D nests here
        self.timeline.note("C replied")
        return S_OK

    async def FromD(self) -> int:
        self.timeline.note("D's call starts (nested)")
        if self.impersonate_d:
            assert CoImpersonateClient() == S_OK
            self.timeline.note("A impersonates D")
            assert CoRevertToSelf() == S_OK
            self.timeline.note("A reverts")
        return S_OK


async def run_case(nesting: str, *, impersonate_d: bool = True) -> Timeline:
    """Play the A/B/C/D case; return A's timeline."""
    timeline = Timeline()
    async with Runtime(nesting=nesting) as rt:  # type: ignore[arg-type]
        a, c = A(timeline, impersonate_d), C()
        sta = rt.sta("A")
        a_ref = sta.register(a)
        a.c = rt.proxy(rt.mta().register(c))
        b = rt.proxy(a_ref, identity=BOB, imp_level=RPC_C_IMP_LEVEL_IMPERSONATE)
        d = rt.proxy(a_ref, identity=DAVE, imp_level=RPC_C_IMP_LEVEL_IMPERSONATE)
        b_call = asyncio.create_task(b.FromB())
        await wait_for(c.called.wait(), "A's call to C")
        assert await d.FromD() == (S_OK,)
        c.reply.set()
        assert await wait_for(b_call, "B's call") == (S_OK,)
        timeline.events.append(("after B's call", (await sta.run(current_token)).user))
    return timeline


async def test_I10_apartment_model_restores_B_after_the_nested_call() -> None:
    """I10/R10: D's call starts at the process token, its revert gives the process token
    (choice for the gap), and after C's reply A's token is B, not A's own."""
    timeline = await run_case("apartment")
    assert timeline.events == [
        ("B's call starts", P),
        ("A impersonates B", "bob"),
        ("D's call starts (nested)", P),
        ("A impersonates D", "dave"),
        ("A reverts", P),
        ("C replied", "bob"),
        ("after B's call", P),
    ]
    assert len(timeline.tasks) == 1, "D's call ran nested in A's own task"


async def test_R11_traditional_nesting_last_impersonation_wins() -> None:
    """R11: one slot: D's call starts with B's token, D's impersonation replaces it, D's revert
    gives A's own token, and after C's reply A's token is its own (the process token)."""
    timeline = await run_case("traditional")
    assert timeline.events == [
        ("B's call starts", P),
        ("A impersonates B", "bob"),
        ("D's call starts (nested)", "bob"),
        ("A impersonates D", "dave"),
        ("A reverts", P),
        ("C replied", P),
        ("after B's call", P),
    ]


@pytest.mark.parametrize(("nesting", "during_d"), [("apartment", P), ("traditional", "bob")])
async def test_R10_R11_a_nested_call_that_does_not_impersonate(nesting: str, during_d: str) -> None:
    """R10/R11: a nested call that never impersonates leaves B's token in force after it, in
    both modes (traditional COM reverts only a slot the call changed, choice)."""
    timeline = await run_case(nesting, impersonate_d=False)
    assert timeline.events == [
        ("B's call starts", P),
        ("A impersonates B", "bob"),
        ("D's call starts (nested)", during_d),
        ("C replied", "bob"),
        ("after B's call", P),
    ]


@pytest.mark.parametrize("nesting", ["apartment", "traditional"])
async def test_I10_no_nesting_in_the_MTA(nesting: str) -> None:
    """I10: in the MTA D's call gets a task of its own, so A keeps B in both modes."""
    seen: dict[str, Any] = {}
    b_started, d_done = asyncio.Event(), asyncio.Event()

    class Server(ComObject):
        async def FromB(self) -> int:
            assert CoImpersonateClient() == S_OK
            seen["b task"] = asyncio.current_task()
            b_started.set()
            await d_done.wait()
            seen["after D"] = current_token().user
            return S_OK

        async def FromD(self) -> int:
            seen["d start"] = current_token().user
            seen["d task"] = asyncio.current_task()
            assert CoImpersonateClient() == S_OK
            return S_OK  # auto-revert

    async with Runtime(nesting=nesting) as rt:  # type: ignore[arg-type]
        ref = rt.mta().register(Server())
        b = rt.proxy(ref, identity=BOB, imp_level=RPC_C_IMP_LEVEL_IMPERSONATE)
        d = rt.proxy(ref, identity=DAVE, imp_level=RPC_C_IMP_LEVEL_IMPERSONATE)
        b_call = asyncio.create_task(b.FromB())
        await wait_for(b_started.wait(), "B's call")
        assert await d.FromD() == (S_OK,)
        d_done.set()
        assert await b_call == (S_OK,)
    assert seen["d start"] == P
    assert seen["after D"] == "bob"
    assert seen["b task"] is not seen["d task"]
