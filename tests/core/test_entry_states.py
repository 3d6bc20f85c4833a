"""The engine's security-context entry states (DESIGN "State machines"; M2, M4, T2, T11, T13,
E4, E8): a sweep over every (state, event) pair against the matrix written out here."""

from __future__ import annotations

import itertools

import pytest

from sspi_async._core._entry_states import ENTRY_TRANSITIONS, EntryEvent, EntryState
from sspi_async._machine import IllegalTransitionError, Machine, Refused
from sspi_async._status import SecurityStatus as S

St, Ev = EntryState, EntryEvent
BUSY, GONE = S.SEC_E_INVALID_PARAMETER, S.SEC_E_INVALID_HANDLE
_ABSORB = {Ev.RENEGOTIATED: None, Ev.REFUSED: None}  # None: stays where it is
#: Every pair the table holds: the next state (None: the same), or the refusal status.
EXPECTED: dict[EntryState, dict[EntryEvent, EntryState | int | None]] = {
    St.READY: {
        Ev.BEGIN: St.STEPPING, Ev.ALERT: St.ALERT_REQUESTED, Ev.DELETE: St.DELETED,
        Ev.FINISH: None, Ev.FINISH_STASH: St.STASHED, Ev.FINISH_FAILED: St.FAILED,
        Ev.ABANDON: None, Ev.RENEGOTIATED: St.RENEGOTIATE, Ev.REFUSED: St.ALERT_DUE,
    },
    St.STEPPING: {
        Ev.BEGIN: BUSY, Ev.ALERT: BUSY, Ev.DELETE: St.DELETED, Ev.FINISH: St.READY,
        Ev.FINISH_STASH: St.STASHED, Ev.FINISH_FAILED: St.FAILED, Ev.ABANDON: St.READY,
        **_ABSORB,
    },
    St.RENEGOTIATE: {
        Ev.BEGIN: St.STEPPING, Ev.ALERT: St.ALERT_REQUESTED, Ev.DELETE: St.DELETED,
        Ev.RENEGOTIATED: None, Ev.REFUSED: St.ALERT_DUE,
    },
    St.STASHED: {
        Ev.BEGIN: St.STEPPING, Ev.ALERT: St.ALERT_REQUESTED, Ev.DELETE: St.DELETED,
        Ev.RENEGOTIATED: None, Ev.REFUSED: St.ALERT_DUE,
    },
    St.ALERT_DUE: {
        Ev.BEGIN: St.STEPPING, Ev.ALERT: St.FAILED_ALERT_REQUESTED, Ev.DELETE: St.DELETED,
        **_ABSORB,
    },
    St.ALERT_REQUESTED: {
        Ev.ALERT: None, Ev.ALERT_SENT: St.READY, Ev.DELETE: St.DELETED, **_ABSORB,
    },
    St.FAILED: {
        Ev.BEGIN: St.STEPPING, Ev.ALERT: St.FAILED_ALERT_REQUESTED, Ev.DELETE: St.DELETED,
        **_ABSORB,
    },
    St.FAILED_ALERT_REQUESTED: {
        Ev.ALERT: None, Ev.ALERT_SENT: St.FAILED, Ev.DELETE: St.DELETED, **_ABSORB,
    },
    St.DELETED: {
        Ev.BEGIN: GONE, Ev.ALERT: GONE, Ev.DELETE: None, Ev.FINISH: None, Ev.FINISH_STASH: None,
        Ev.FINISH_FAILED: None, Ev.ABANDON: None, **_ABSORB,
    },
}  # fmt: skip


@pytest.mark.parametrize(
    ("state", "event"), list(itertools.product(EntryState, EntryEvent)), ids=lambda x: x.name
)
def test_every_entry_state_event_pair_is_as_written(state: EntryState, event: EntryEvent) -> None:
    """DESIGN "State machines": each (state, event) moves, refuses or is illegal as written."""
    machine = Machine("security context", ENTRY_TRANSITIONS, state)
    row = EXPECTED[state]
    if event not in row:
        with pytest.raises(IllegalTransitionError, match=f"{event.value} is not possible in"):
            machine.fire(event)
        return
    expected = row[event]
    outcome = machine.fire(event)
    if isinstance(expected, EntryState) or expected is None:
        assert outcome is (expected or state)
        assert machine.state is (expected or state)
    else:
        assert isinstance(outcome, Refused)
        assert int(outcome) == expected
        assert machine.state is state


def test_deleted_is_terminal() -> None:
    """T13: nothing leaves DELETED."""
    for (state, _), outcome in ENTRY_TRANSITIONS.items():
        if state is EntryState.DELETED:
            assert outcome is EntryState.DELETED or isinstance(outcome, Refused)
