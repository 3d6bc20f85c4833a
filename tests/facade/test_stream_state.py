"""The two halves of SspiTLSStream's lifecycle swept pair by pair (DESIGN "State machines";
E4, E5, and anyio's stream rules: EndOfStream, BrokenResourceError, ClosedResourceError)."""

from __future__ import annotations

import itertools

import pytest

from sspi_async._api._stream_state import READ_TRANSITIONS, WRITE_TRANSITIONS, Half, HalfEvent
from sspi_async._machine import IllegalTransitionError, Machine

H, E = Half, HalfEvent


def read_rule(state: Half, event: HalfEvent) -> Half | None:
    """The read half's rule, written independently of the table (None: illegal)."""
    if event is E.CLOSE or state is H.CLOSED:
        return H.CLOSED  # closing wins; what was in flight then changes nothing
    if state is H.OPEN:
        return H.EOF if event is E.END else H.BROKEN
    if state is H.BROKEN and event is E.BREAK:
        return H.BROKEN
    return None  # nothing is read after EOF or once broken


def write_rule(state: Half, event: HalfEvent) -> Half | None:
    """The write half's rule: no end of stream for sending (send_eof is not supported)."""
    if event is E.END or state is H.EOF:
        return None
    if event is E.CLOSE or state is H.CLOSED:
        return H.CLOSED
    return H.BROKEN


@pytest.mark.parametrize(("state", "event"), list(itertools.product(H, E)))
@pytest.mark.parametrize(
    ("table", "rule"),
    [(READ_TRANSITIONS, read_rule), (WRITE_TRANSITIONS, write_rule)],
    ids=["read", "write"],
)
def test_every_state_event_pair_of_both_halves(
    table: dict[tuple[Half, HalfEvent], Half],
    rule: object,
    state: Half,
    event: HalfEvent,
) -> None:
    """Each pair of each half does what the rules say, through Machine.fire (the only writer)."""
    assert callable(rule)
    expected = rule(state, event)
    machine = Machine("TLS stream", table, state)
    if expected is None:
        assert (state, event) not in table
        with pytest.raises(IllegalTransitionError):
            machine.fire(event)
        return
    assert machine.fire(event) is expected
    assert machine.state is expected
