"""The two lifecycles of a COM asynchronous call, as transition tables (reference §8.1, R6–R8,
R18–R20).

Theory of operation
-------------------
**Server side** — one :class:`ServerState` per dispatched call::

    DISPATCHED --signal--> SIGNALED --return--> COMPLETE
        |                                          ^
        +------return-----> RETURNED --signal------+

* ``signal``: ``ISynchronize::Signal`` on the server call object has *returned* (for a
  synchronous method, or a ``Begin_`` that fails, raises or is cancelled, the dispatcher signals
  implicitly). It closes the call context: from then on ``ImpersonateClient`` fails in every task
  (I8/R6). Signalling again is harmless (R18).
* ``return``: ``Begin_`` (or the synchronous method) returned, raised or was cancelled; the
  dispatcher restored the dispatch task's token (I9/R8).
* Both orders are legal; the call is COMPLETE when both happened, and only then is the reply
  (``Finish_``'s HRESULT and out parameters) sent. ``return`` twice is a dispatcher bug.

**Client side** — one :class:`ClientState` per call object, reused call after call::

    IDLE --begin--> PENDING --reply--> REPLIED --finish--> IDLE
                       |                                    ^
                       +--cancel--> CANCELLED ---finish-----+

* ``begin`` while a call is pending, replied or cancelled-but-not-finished → ``RPC_S_CALLPENDING``
  (R19); ``finish`` with no call → ``RPC_E_CALL_COMPLETE`` (R19). ``finish`` while PENDING is not
  an event: the caller waits for the reply (or a cancel) first.
* ``cancel``: the cancel request was not satisfied within its time-out; ``Finish_`` then returns
  ``RPC_E_CALL_CANCELED`` at once and a late reply is dropped (R20).

The tables are data; :func:`server_transition` and :func:`client_transition` are their only
readers.
"""

from __future__ import annotations

import enum
from typing import Final

from .._machine import IllegalTransitionError, Refused, lookup
from ._hresults import HResult

__all__ = (
    "ClientEvent",
    "ClientState",
    "IllegalCallTransitionError",
    "Refused",
    "ServerEvent",
    "ServerState",
    "client_transition",
    "server_transition",
)


class ServerState(enum.Enum):
    """Where a dispatched call is (server side)."""

    DISPATCHED = "dispatched"
    SIGNALED = "signaled"
    RETURNED = "returned"
    COMPLETE = "complete"

    @property
    def open(self) -> bool:
        """True while the call context accepts ``ImpersonateClient`` (not yet signaled, R6)."""
        return self in (ServerState.DISPATCHED, ServerState.RETURNED)


class ServerEvent(enum.Enum):
    """What happens to a dispatched call."""

    SIGNAL = "signal"
    RETURN = "return"


class ClientState(enum.Enum):
    """Where a client call object is."""

    IDLE = "idle"
    PENDING = "pending"
    REPLIED = "replied"
    CANCELLED = "cancelled"


class ClientEvent(enum.Enum):
    """What a client does to, or receives on, its call object."""

    BEGIN = "begin"
    REPLY = "reply"
    CANCEL = "cancel"
    FINISH = "finish"


_BUSY = Refused(HResult.RPC_S_CALLPENDING)
_NO_CALL = Refused(HResult.RPC_E_CALL_COMPLETE)

SS, SE = ServerState, ServerEvent
SERVER_TRANSITIONS: Final[dict[tuple[ServerState, ServerEvent], ServerState]] = {
    (SS.DISPATCHED, SE.SIGNAL): SS.SIGNALED,
    (SS.DISPATCHED, SE.RETURN): SS.RETURNED,
    (SS.SIGNALED, SE.SIGNAL): SS.SIGNALED,
    (SS.SIGNALED, SE.RETURN): SS.COMPLETE,
    (SS.RETURNED, SE.SIGNAL): SS.COMPLETE,
    (SS.COMPLETE, SE.SIGNAL): SS.COMPLETE,
}
del SS, SE

CS, CE = ClientState, ClientEvent
CLIENT_TRANSITIONS: Final[dict[tuple[ClientState, ClientEvent], ClientState | Refused]] = {
    (CS.IDLE, CE.BEGIN): CS.PENDING,
    (CS.PENDING, CE.BEGIN): _BUSY,
    (CS.REPLIED, CE.BEGIN): _BUSY,
    (CS.CANCELLED, CE.BEGIN): _BUSY,
    (CS.PENDING, CE.REPLY): CS.REPLIED,
    (CS.CANCELLED, CE.REPLY): CS.CANCELLED,
    (CS.PENDING, CE.CANCEL): CS.CANCELLED,
    (CS.IDLE, CE.FINISH): _NO_CALL,
    (CS.REPLIED, CE.FINISH): CS.IDLE,
    (CS.CANCELLED, CE.FINISH): CS.IDLE,
}
del CS, CE


#: The COM name of the shared error (kept for the tests and callers that catch it by this name).
IllegalCallTransitionError = IllegalTransitionError


def server_transition(state: ServerState, event: ServerEvent) -> ServerState:
    """Look ``(state, event)`` up in the server table."""
    return lookup(SERVER_TRANSITIONS, state, event)  # type: ignore[return-value]


def client_transition(state: ClientState, event: ClientEvent) -> ClientState | Refused:
    """Look ``(state, event)`` up in the client table."""
    return lookup(CLIENT_TRANSITIONS, state, event)  # type: ignore[return-value]
