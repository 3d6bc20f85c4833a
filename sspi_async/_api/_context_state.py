"""The lifecycle of a Pythonic :class:`~sspi_async.SecurityContext`, as a transition table.

Theory of operation
-------------------
A security context is driven by ``step()`` calls, one at a time, and closed once::

    NEW --begin--> FIRST_STEP --continue--> STARTED --begin--> STEP --continue--> STARTED
     ^                 |  |                                     |  \\--done--> COMPLETE
     +---incomplete----+  +--done--> COMPLETE --begin--> FOLLOW_UP --done--> COMPLETE

    any step in flight --cancel--> BROKEN          any --close--> CLOSED (terminal)

* ``begin``: a step is queued. From a step in flight it is refused (E8: two steps at once are a
  caller's bug, ``SspiMisuseError``); from BROKEN (E2) and CLOSED it is refused with the error
  the caller sees.
* The outcome of a step is one event: ``incomplete`` (``SEC_E_INCOMPLETE_MESSAGE``: nothing
  changed), ``continue`` (``SEC_I_CONTINUE_NEEDED``), ``done`` (``SEC_E_OK``), ``fail`` (an error,
  no handle was written) or ``fail_registered`` (an error, but the first call registered a handle
  that must be deleted: the context is STARTED as far as cleanup goes).
* ``abort``: the step raised before anything was queued (a misuse such as E6's wrong event
  loop): nothing changed, the context is where it was.
* ``cancel``: the task awaiting the step was cancelled (E2, trio's and anyio's rule): the context
  is broken for good; the queued call itself still completes (A6) and :meth:`aclose` frees what it
  registers (E1).
* ``close``: :meth:`aclose` ran, from any state, even while a step is in flight in another task;
  that step's outcome then leaves the context CLOSED (the stepping task is told so).

The table is data; :class:`~sspi_async._machine.Machine` is its only writer.
"""

from __future__ import annotations

import enum
from typing import Final

from .._machine import Refused
from .._status import SecurityStatus

__all__ = ("IN_FLIGHT", "TRANSITIONS", "ContextEvent", "ContextState")


class ContextState(enum.Enum):
    """Where a Pythonic security context is."""

    __hash__ = object.__hash__  # C-level identity hash: the table is read on every step

    NEW = "new"
    FIRST_STEP = "first step in flight"
    STARTED = "started"
    STEP = "step in flight"
    COMPLETE = "complete"
    FOLLOW_UP = "follow-up step in flight"
    BROKEN = "broken"
    CLOSED = "closed"


class ContextEvent(enum.Enum):
    """What happens to a Pythonic security context."""

    __hash__ = object.__hash__

    BEGIN = "begin a step"
    INCOMPLETE = "incomplete"
    CONTINUE = "continue"
    DONE = "done"
    FAIL = "fail"
    FAIL_REGISTERED = "fail (handle registered)"
    ABORT = "nothing queued"
    CANCEL = "cancel"
    CLOSE = "close"


S, E = ContextState, ContextEvent
#: States with a step in flight.
IN_FLIGHT: Final = frozenset({S.FIRST_STEP, S.STEP, S.FOLLOW_UP})
#: Refusals of ``begin``: the status of the error the caller gets (the message says why).
BUSY: Final = Refused(SecurityStatus.SEC_E_INVALID_PARAMETER)
BROKEN: Final = Refused(SecurityStatus.SEC_E_CONTEXT_EXPIRED)
CLOSED: Final = Refused(SecurityStatus.SEC_E_INVALID_HANDLE)

TRANSITIONS: Final[dict[tuple[ContextState, ContextEvent], ContextState | Refused]] = {
    (S.NEW, E.BEGIN): S.FIRST_STEP,
    (S.STARTED, E.BEGIN): S.STEP,
    (S.COMPLETE, E.BEGIN): S.FOLLOW_UP,
    (S.FIRST_STEP, E.BEGIN): BUSY,
    (S.STEP, E.BEGIN): BUSY,
    (S.FOLLOW_UP, E.BEGIN): BUSY,
    (S.BROKEN, E.BEGIN): BROKEN,
    (S.CLOSED, E.BEGIN): CLOSED,
    # outcomes of a first step
    (S.FIRST_STEP, E.INCOMPLETE): S.NEW,
    (S.FIRST_STEP, E.CONTINUE): S.STARTED,
    (S.FIRST_STEP, E.DONE): S.COMPLETE,
    (S.FIRST_STEP, E.FAIL): S.NEW,
    (S.FIRST_STEP, E.FAIL_REGISTERED): S.STARTED,
    (S.FIRST_STEP, E.ABORT): S.NEW,
    (S.FIRST_STEP, E.CANCEL): S.BROKEN,
    # outcomes of a later handshake step
    (S.STEP, E.INCOMPLETE): S.STARTED,
    (S.STEP, E.CONTINUE): S.STARTED,
    (S.STEP, E.DONE): S.COMPLETE,
    (S.STEP, E.FAIL): S.STARTED,
    (S.STEP, E.FAIL_REGISTERED): S.STARTED,
    (S.STEP, E.ABORT): S.STARTED,
    (S.STEP, E.CANCEL): S.BROKEN,
    # outcomes of a step after completion (M2 follow-up, M4 shutdown/alert)
    (S.FOLLOW_UP, E.INCOMPLETE): S.COMPLETE,
    (S.FOLLOW_UP, E.CONTINUE): S.COMPLETE,
    (S.FOLLOW_UP, E.DONE): S.COMPLETE,
    (S.FOLLOW_UP, E.FAIL): S.COMPLETE,
    (S.FOLLOW_UP, E.FAIL_REGISTERED): S.COMPLETE,
    (S.FOLLOW_UP, E.ABORT): S.COMPLETE,
    (S.FOLLOW_UP, E.CANCEL): S.BROKEN,
    # closing, from anywhere; a step that was in flight when another task closed ends CLOSED
    (S.NEW, E.CLOSE): S.CLOSED,
    (S.FIRST_STEP, E.CLOSE): S.CLOSED,
    (S.STARTED, E.CLOSE): S.CLOSED,
    (S.STEP, E.CLOSE): S.CLOSED,
    (S.COMPLETE, E.CLOSE): S.CLOSED,
    (S.FOLLOW_UP, E.CLOSE): S.CLOSED,
    (S.BROKEN, E.CLOSE): S.CLOSED,
    (S.CLOSED, E.CLOSE): S.CLOSED,
    (S.CLOSED, E.INCOMPLETE): S.CLOSED,
    (S.CLOSED, E.CONTINUE): S.CLOSED,
    (S.CLOSED, E.DONE): S.CLOSED,
    (S.CLOSED, E.FAIL): S.CLOSED,
    (S.CLOSED, E.FAIL_REGISTERED): S.CLOSED,
    (S.CLOSED, E.ABORT): S.CLOSED,
    (S.CLOSED, E.CANCEL): S.CLOSED,
}
del S, E
