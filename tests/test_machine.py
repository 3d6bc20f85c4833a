"""The shared state-machine plumbing (DESIGN "State machines"): one reader, one writer, one error."""

from __future__ import annotations

import enum

import pytest

from sspi_async._machine import IllegalTransitionError, Machine, Refused, lookup


class _S(enum.Enum):
    A = "a"
    B = "b"
    BROKEN = "broken"


class _E(enum.Enum):
    GO = "go"
    STOP = "stop"


_TABLE = {(_S.A, _E.GO): _S.B, (_S.B, _E.GO): Refused(7)}


def test_fire_moves_and_a_refusal_keeps_the_state() -> None:
    """fire() moves along the table; a Refused entry is returned and the state stays."""
    m = Machine("demo", _TABLE, _S.A)
    assert m.fire(_E.GO) is _S.B
    assert m.state is _S.B
    refused = m.fire(_E.GO)
    assert isinstance(refused, Refused)
    assert refused == 7
    assert m.state is _S.B
    assert m.can(_E.GO) is False


def test_a_missing_pair_names_machine_state_and_event_and_is_sticky() -> None:
    """An event with no entry raises IllegalTransitionError naming all three; with sticky the
    machine is left broken."""
    m = Machine("demo", _TABLE, _S.A, sticky=_S.BROKEN)
    with pytest.raises(IllegalTransitionError, match="demo: stop is not possible in state a"):
        m.fire(_E.STOP)
    assert m.state is _S.BROKEN
    assert "broken" in repr(m)


def test_lookup_is_the_reader() -> None:
    """lookup() answers the entry or raises the shared error (a RuntimeError)."""
    assert lookup(_TABLE, _S.A, _E.GO) is _S.B
    with pytest.raises(RuntimeError):
        lookup(_TABLE, _S.B, _E.STOP)
