"""The plumbing every lifecycle table of the project shares (DESIGN "State machines").

Each lifecycle (an async call, a package context, an engine context entry, a Pythonic security
context, a COM call) keeps its states as one ``enum.Enum`` and its transitions as one
``dict[(state, event)] -> next`` (h11's ``_state.py``, h2's ``stream.py``). This module holds what
they have in common, once:

* :class:`Refused` — a table entry that refuses the event with a status (an ``int`` subclass, so a
  refusal is returned to the caller as the status it carries);
* :class:`IllegalTransitionError` — an event the table has no entry for: a bug of the owner (or a
  misuse a caller turns into a clearer error first), naming the machine, the state and the event;
* :func:`lookup` — the one reader of a table;
* :class:`Machine` — the one writer of a state: ``fire(event)`` looks the pair up and moves.

L0: no imports beyond the standard library, so sans-IO packages (L2) use it too.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Generic, TypeVar

__all__ = ("IllegalTransitionError", "Machine", "Refused", "lookup")

StateT = TypeVar("StateT", bound=enum.Enum)
EventT = TypeVar("EventT", bound=enum.Enum)


class Refused(int):
    """A transition the table refuses, carrying the status (or HRESULT) to return."""


class IllegalTransitionError(RuntimeError):
    """An event that has no entry for the current state.

    Attributes:
        machine: which lifecycle (e.g. ``"async call"``).
        state: the state the machine was in.
        event: the event that has no entry there.
    """

    def __init__(self, state: enum.Enum, event: enum.Enum, machine: str = "") -> None:
        where = f"{machine}: " if machine else ""
        super().__init__(f"{where}{event.value} is not possible in state {state.value}")
        self.machine = machine
        self.state = state
        self.event = event


def lookup(
    table: Mapping[tuple[StateT, EventT], object], state: StateT, event: EventT, machine: str = ""
) -> object:
    """``table[state, event]``; raise :class:`IllegalTransitionError` when there is no entry."""
    try:
        return table[state, event]
    except KeyError:
        raise IllegalTransitionError(state, event, machine) from None


class Machine(Generic[StateT, EventT]):
    """One lifecycle's current state and the only code that changes it.

    ``table`` maps ``(state, event)`` to the next state, or to a :class:`Refused` status (the
    state does not change and :meth:`fire` returns the refusal). A missing pair raises
    :class:`IllegalTransitionError`; when ``sticky`` is given, the machine moves there first, so
    an error leaves it in its failed/broken state (DESIGN "State machines").
    """

    __slots__ = ("_sticky", "name", "state", "table")

    def __init__(
        self,
        name: str,
        table: Mapping[tuple[StateT, EventT], StateT | Refused],
        initial: StateT,
        *,
        sticky: StateT | None = None,
    ) -> None:
        self.name = name
        self.table = table
        self.state = initial
        self._sticky = sticky

    def fire(self, event: EventT) -> StateT | Refused:
        """Apply ``event``: move to the next state and return it, or return the refusal."""
        try:
            outcome = self.table[self.state, event]
        except KeyError:
            error = IllegalTransitionError(self.state, event, self.name)
            if self._sticky is not None:
                self.state = self._sticky
            raise error from None
        if outcome.__class__ is not Refused:  # hot path: every step fires; no isinstance call
            self.state = outcome  # type: ignore[assignment]
        return outcome

    def can(self, event: EventT) -> bool:
        """Whether ``event`` is a (non-refused) transition from the current state."""
        outcome = self.table.get((self.state, event))
        return outcome is not None and not isinstance(outcome, Refused)

    def __repr__(self) -> str:
        return f"<Machine {self.name} {self.state.value}>"
