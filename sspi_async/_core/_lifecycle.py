"""The async-call lifecycle of one ``SspiAsyncContext`` as an explicit transition table.

Theory of operation
-------------------
An async context tracks at most one call at a time (SPEC §3)::

    IDLE --queue--> PENDING --complete--> COMPLETE --reinit--> IDLE
      ^                                      |
      +----------------- queue (A10) --------+        any --free--> FREED (terminal)

* ``SspiCreateAsyncContext`` starts in IDLE with status ``SEC_E_UNSUPPORTED_FUNCTION`` (A1).
* queue: IDLE/COMPLETE -> PENDING (A4). PENDING refuses with ``SEC_E_INVALID_PARAMETER``. With
  ``strict=True`` COMPLETE refuses too: reuse requires reinit (A10).
* set_callback: refused while PENDING (A2).
* reinit: IDLE/COMPLETE -> IDLE; refused while PENDING with ``STATUS_INVALID_PARAMETER`` (A9).
* free: IDLE/COMPLETE -> FREED. While PENDING the table says DETACH: allowed only when no callback
  is registered (A11); the caller checks that, because it depends on data, not state.
* complete: PENDING -> COMPLETE; a detached call (FREED) completes silently.
* Every event on FREED except a detached completion is a use-after-free: ``SspiMisuseError``.

The table is data; :func:`transition` is the only reader.
"""

from __future__ import annotations

import enum
from typing import Final

from .._machine import IllegalTransitionError, Refused, lookup
from .._status import STATUS_INVALID_PARAMETER, SecurityStatus

__all__ = ("CallEvent", "CallState", "IllegalTransitionError", "Refused", "transition")


class CallState(enum.Enum):
    """Where an async context is in its call lifecycle."""

    # Members are singletons compared by identity; Enum's own __hash__ runs in Python on every
    # table lookup (the hot path of every queued call), object's runs in C.
    __hash__ = object.__hash__

    IDLE = "idle"
    PENDING = "pending"
    COMPLETE = "complete"
    FREED = "freed"


class CallEvent(enum.Enum):
    """What can happen to an async context."""

    __hash__ = object.__hash__

    QUEUE = "queue"
    QUEUE_STRICT = "queue (strict)"
    COMPLETE = "complete"
    SET_CALLBACK = "set callback"
    REINIT = "reinit"
    FREE = "free"


_INVALID = Refused(SecurityStatus.SEC_E_INVALID_PARAMETER)
_NT_INVALID = Refused(STATUS_INVALID_PARAMETER)

S, E = CallState, CallEvent
#: (state, event) -> next state, or the status the refusal returns. Missing pairs on FREED are
#: use-after-free; :func:`transition` raises for them.
TRANSITIONS: Final[dict[tuple[CallState, CallEvent], CallState | Refused]] = {
    (S.IDLE, E.QUEUE): S.PENDING,
    (S.IDLE, E.QUEUE_STRICT): S.PENDING,
    (S.COMPLETE, E.QUEUE): S.PENDING,
    (S.COMPLETE, E.QUEUE_STRICT): _INVALID,
    (S.PENDING, E.QUEUE): _INVALID,
    (S.PENDING, E.QUEUE_STRICT): _INVALID,
    (S.PENDING, E.COMPLETE): S.COMPLETE,
    (S.FREED, E.COMPLETE): S.FREED,
    (S.IDLE, E.SET_CALLBACK): S.IDLE,
    (S.COMPLETE, E.SET_CALLBACK): S.COMPLETE,
    (S.PENDING, E.SET_CALLBACK): _INVALID,
    (S.IDLE, E.REINIT): S.IDLE,
    (S.COMPLETE, E.REINIT): S.IDLE,
    (S.PENDING, E.REINIT): _NT_INVALID,
    (S.IDLE, E.FREE): S.FREED,
    (S.COMPLETE, E.FREE): S.FREED,
    (S.PENDING, E.FREE): S.FREED,
}
del S, E


def transition(state: CallState, event: CallEvent) -> CallState | Refused:
    """Look ``(state, event)`` up; raise :class:`IllegalTransitionError` when the table has no entry."""
    return lookup(TRANSITIONS, state, event, "async call")  # type: ignore[return-value]
