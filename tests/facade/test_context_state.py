"""The Pythonic SecurityContext lifecycle table swept pair by pair (DESIGN "State machines"; E2,
E8, E1): every (state, event) is either a listed transition, a listed refusal, or illegal."""

from __future__ import annotations

import itertools

import pytest

from sspi_async._api._context_state import (
    BROKEN,
    BUSY,
    CLOSED,
    IN_FLIGHT,
    TRANSITIONS,
    ContextEvent,
    ContextState,
)
from sspi_async._machine import IllegalTransitionError, Machine, Refused

S, E = ContextState, ContextEvent
OUTCOMES = (E.INCOMPLETE, E.CONTINUE, E.DONE, E.FAIL, E.FAIL_REGISTERED)
#: Where each in-flight state settles after an outcome (FAIL_REGISTERED: a handle exists).
SETTLED = {
    (S.FIRST_STEP, E.INCOMPLETE): S.NEW,
    (S.FIRST_STEP, E.CONTINUE): S.STARTED,
    (S.FIRST_STEP, E.DONE): S.COMPLETE,
    (S.FIRST_STEP, E.FAIL): S.NEW,
    (S.FIRST_STEP, E.FAIL_REGISTERED): S.STARTED,
    **{(S.STEP, e): S.STARTED for e in OUTCOMES if e is not E.DONE},
    (S.STEP, E.DONE): S.COMPLETE,
    **{(S.FOLLOW_UP, e): S.COMPLETE for e in OUTCOMES},
}


def expected(state: ContextState, event: ContextEvent) -> ContextState | Refused | None:
    """The rule for one pair, written independently of the table (None: illegal)."""
    if event is E.CLOSE:
        return S.CLOSED  # E1: closing works from anywhere, once or many times
    if event is E.BEGIN:
        return {
            S.NEW: S.FIRST_STEP,
            S.STARTED: S.STEP,
            S.COMPLETE: S.FOLLOW_UP,
            S.BROKEN: BROKEN,
            S.CLOSED: CLOSED,
        }.get(state, BUSY)  # E8: a step in flight refuses another
    if state is S.CLOSED:
        return S.CLOSED  # the outcome of a step another task's aclose() overtook
    if state not in IN_FLIGHT:
        return None  # nothing is in flight: an outcome or a cancel is a bug of the owner
    if event is E.CANCEL:
        return S.BROKEN  # E2
    if event is E.ABORT:  # raised before anything was queued: back where it was
        return {S.FIRST_STEP: S.NEW, S.STEP: S.STARTED, S.FOLLOW_UP: S.COMPLETE}[state]
    return SETTLED[state, event]


@pytest.mark.parametrize(("state", "event"), list(itertools.product(S, E)))
def test_E1_E2_E8_every_state_event_pair(state: ContextState, event: ContextEvent) -> None:
    """Each pair does what the rules say, through Machine.fire (the only writer)."""
    machine = Machine("security context", TRANSITIONS, state)
    rule = expected(state, event)
    if rule is None:
        assert (state, event) not in TRANSITIONS
        with pytest.raises(IllegalTransitionError, match=f"in state {state.value}"):
            machine.fire(event)
        return
    outcome = machine.fire(event)
    assert outcome == rule
    assert type(outcome) is type(rule)
    assert machine.state is (state if isinstance(rule, Refused) else rule)


def test_the_refusals_carry_distinct_statuses() -> None:
    """Busy, broken and closed are told apart by their status (misuse, expired, invalid)."""
    assert len({int(BUSY), int(BROKEN), int(CLOSED)}) == 3
