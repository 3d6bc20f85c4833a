"""What the next ISC/ASC on one security context does, as an explicit transition table.

Theory of operation
-------------------
The engine keeps one :class:`ContextEntry` per CtxtHandle; its state says what the next
InitializeSecurityContext/AcceptSecurityContext call does with it (DESIGN "State machines")::

    READY --begin--> STEPPING --finish--> READY | STASHED (the token did not fit, T2)
      |                        `-fail---> FAILED (the package failed: sticky, T11)
      |--renegotiated--> RENEGOTIATE    (M2: the follow-up call may pass pInput None)
      |--refused-------> ALERT_DUE      (E4: a record was refused; the next call, whatever its
      |                                  input, goes to the package for its fatal alert)
      `--alert---------> ALERT_REQUESTED (M4: ApplyControlToken; the next call emits the alert)
    ALERT_DUE, FAILED --alert--> FAILED_ALERT_REQUESTED --alert sent--> FAILED
    any --delete--> DELETED (terminal; a step in flight finishes into it, T13)

* begin: a step job is made (READY, RENEGOTIATE, STASHED, ALERT_DUE → STEPPING). While
  STEPPING a second step is refused: two steps at once on one context are the caller's bug, and
  the engine raises :class:`~sspi_async.SspiMisuseError` naming the context (E8). So is an
  ApplyControlToken while a step is in flight (the alert would race the step's token).
* finish / finish-stash / abandon: the step's out-parameters were written (or a worker's result
  came back during shutdown, abandon) → READY, or STASHED to redeliver a token that did not fit.
  The worker path marks the entry idle before it finishes, so the finish events are self-loops on
  READY too.
* fail: the step's result is an error status. FAILED is sticky: every later ISC/ASC, whatever
  its input (None too), goes to the package, which answers with its failure status and no
  token; a control token there emits what the package still has to send (E4: a pending fatal
  alert, else nothing) and the context stays FAILED.
* renegotiated / refused: DecryptMessage's verdicts (M2, E4). A step in flight absorbs them: the
  step's own result decides what comes next.
* alert-sent: the alert record went out (or the package refused to make it, M4) → READY.

The table is data; :class:`~sspi_async._machine.Machine` is its only writer (the entry fires
events). The stash payload and the requested alert stay fields: they are data, not state.
"""

from __future__ import annotations

import enum
from typing import Final

from .._errors import SspiMisuseError
from .._machine import Refused
from .._status import SecurityStatus

__all__ = ("ENTRY_TRANSITIONS", "EntryEvent", "EntryState", "busy_error")


class EntryState(enum.Enum):
    """What the next ISC/ASC on a security context does."""

    __hash__ = object.__hash__  # C-level hash: the table is read on every step

    READY = "ready"
    STEPPING = "stepping"
    RENEGOTIATE = "renegotiate"
    STASHED = "stashed"
    ALERT_DUE = "alert due"
    ALERT_REQUESTED = "alert requested"
    FAILED = "failed"
    FAILED_ALERT_REQUESTED = "failed, alert requested"
    DELETED = "deleted"


class EntryEvent(enum.Enum):
    """What can happen to a security context in the engine."""

    __hash__ = object.__hash__

    BEGIN = "begin a step"
    FINISH = "finish a step"
    FINISH_STASH = "finish a step, keeping its token"
    FINISH_FAILED = "finish a failed step"
    ABANDON = "abandon a step"
    RENEGOTIATED = "SEC_I_RENEGOTIATE"
    REFUSED = "record refused"
    ALERT = "alert requested"
    ALERT_SENT = "alert sent"
    DELETE = "delete"


#: A second step (or a control token) while one is in flight: the engine raises
#: SspiMisuseError; this status is what a queued call that meets it completes with (E8).
BUSY: Final = Refused(SecurityStatus.SEC_E_INVALID_PARAMETER)
_GONE = Refused(SecurityStatus.SEC_E_INVALID_HANDLE)

S, E = EntryState, EntryEvent
_WAITING = (S.READY, S.RENEGOTIATE, S.STASHED, S.ALERT_DUE, S.FAILED)
_ASKING = (S.READY, S.RENEGOTIATE, S.STASHED, S.ALERT_REQUESTED)
_FAILING = (S.ALERT_DUE, S.FAILED, S.FAILED_ALERT_REQUESTED)
ENTRY_TRANSITIONS: Final[dict[tuple[EntryState, EntryEvent], EntryState | Refused]] = {
    **{(state, E.BEGIN): S.STEPPING for state in _WAITING},
    **{(state, E.ALERT): S.ALERT_REQUESTED for state in _ASKING},
    **{(state, E.ALERT): S.FAILED_ALERT_REQUESTED for state in _FAILING},
    **{(state, E.DELETE): S.DELETED for state in S},
    (S.READY, E.FINISH): S.READY,
    (S.READY, E.FINISH_STASH): S.STASHED,
    (S.READY, E.FINISH_FAILED): S.FAILED,
    (S.READY, E.ABANDON): S.READY,
    (S.READY, E.RENEGOTIATED): S.RENEGOTIATE,
    (S.READY, E.REFUSED): S.ALERT_DUE,
    (S.STEPPING, E.BEGIN): BUSY,
    (S.STEPPING, E.ALERT): BUSY,
    (S.STEPPING, E.FINISH): S.READY,
    (S.STEPPING, E.FINISH_STASH): S.STASHED,
    (S.STEPPING, E.FINISH_FAILED): S.FAILED,
    (S.STEPPING, E.ABANDON): S.READY,
    (S.STEPPING, E.RENEGOTIATED): S.STEPPING,
    (S.STEPPING, E.REFUSED): S.STEPPING,
    (S.RENEGOTIATE, E.RENEGOTIATED): S.RENEGOTIATE,
    (S.RENEGOTIATE, E.REFUSED): S.ALERT_DUE,
    (S.STASHED, E.RENEGOTIATED): S.STASHED,
    (S.STASHED, E.REFUSED): S.ALERT_DUE,
    (S.ALERT_DUE, E.RENEGOTIATED): S.ALERT_DUE,
    (S.ALERT_DUE, E.REFUSED): S.ALERT_DUE,
    (S.ALERT_REQUESTED, E.ALERT_SENT): S.READY,
    (S.ALERT_REQUESTED, E.RENEGOTIATED): S.ALERT_REQUESTED,
    (S.ALERT_REQUESTED, E.REFUSED): S.ALERT_REQUESTED,
    (S.FAILED, E.RENEGOTIATED): S.FAILED,
    (S.FAILED, E.REFUSED): S.FAILED,
    (S.FAILED_ALERT_REQUESTED, E.ALERT_SENT): S.FAILED,
    (S.FAILED_ALERT_REQUESTED, E.RENEGOTIATED): S.FAILED_ALERT_REQUESTED,
    (S.FAILED_ALERT_REQUESTED, E.REFUSED): S.FAILED_ALERT_REQUESTED,
    (S.DELETED, E.BEGIN): _GONE,
    (S.DELETED, E.ALERT): _GONE,
    (S.DELETED, E.FINISH): S.DELETED,
    (S.DELETED, E.FINISH_STASH): S.DELETED,
    (S.DELETED, E.FINISH_FAILED): S.DELETED,
    (S.DELETED, E.ABANDON): S.DELETED,
    (S.DELETED, E.RENEGOTIATED): S.DELETED,
    (S.DELETED, E.REFUSED): S.DELETED,
}
del S, E


def busy_error(handle: object, what: str) -> SspiMisuseError:
    """E8: the error for a second step (or a control token) while one is in flight."""
    return SspiMisuseError(
        f"{what} on security context {handle!r} while another "
        "InitializeSecurityContext/AcceptSecurityContext step on it is in flight (queued or "
        "running); wait for that call to complete (SspiGetAsyncCallStatus, wait_async_call or "
        "its notify callback) before the next one: one context takes one step at a time"
    )
