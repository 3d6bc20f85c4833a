"""The phases of one SimTLS package context as an explicit transition table (DESIGN "State
machines").

Theory of operation
-------------------
::

    HANDSHAKING --done--> OPEN --local close--> LOCAL_CLOSED --peer close--> CLOSED
      |    |                |  `--peer close--> PEER_CLOSED ---local close--> CLOSED
      |    `--local close--> HANDSHAKING_CLOSED --done--> LOCAL_CLOSED
      `--fail--> HANDSHAKE_FAILED     OPEN / LOCAL_CLOSED --refuse--> ALERT_DUE --alert taken-->
                                      FAILED; any complete phase --fail/peer alert--> FAILED

* HANDSHAKING: every step feeds the peer's records to the handshake (T1–T8). A failed step
  hands out its alert with the failure (T11) and moves to HANDSHAKE_FAILED.
* HANDSHAKING_CLOSED: this side sent close_notify or a fatal alert before the handshake
  completed (``alert()`` does not fail the context by itself): the handshake goes on, but once it
  completes no data goes out (LOCAL_CLOSED).
* OPEN: records flow both ways (M1, M2).
* LOCAL_CLOSED / PEER_CLOSED / CLOSED: close_notify (or a fatal alert) sent, close_notify
  received, both (M4). Whichever side closed, this side sends no more data; it still reads
  records until the peer's close_notify.
* ALERT_DUE: a record was refused after the handshake (E4); the fatal alert made for it waits
  for the next ISC/ASC, or for the ``SCHANNEL_SHUTDOWN`` that asks for close_notify. FAILED: that
  alert went out (or there was none: a failed post-handshake step, or the peer's fatal alert);
  nothing more ever does: no close_notify after a fatal alert (E4, RFC 8446 §6.2).
* ENCRYPT and DECRYPT are events too: a self-loop where records may flow, else the refusal
  status (``SEC_E_UNSUPPORTED_FUNCTION`` before completion, ``SEC_E_CONTEXT_EXPIRED`` after).

:class:`~sspi_async._machine.Machine` is the only writer of the phase; the context fires events.
"""

from __future__ import annotations

import enum
from typing import Final

from ..._machine import Refused
from ..._status import SecurityStatus

__all__ = ("COMPLETE_PHASES", "FAILED_PHASES", "HANDSHAKE_PHASES", "PHASES", "Event", "Phase")


class Phase(enum.Enum):
    """Where a SimTLS context is."""

    __hash__ = object.__hash__  # C-level hash: the table is read once per record

    HANDSHAKING = "handshaking"
    HANDSHAKING_CLOSED = "handshaking after close sent"
    HANDSHAKE_FAILED = "handshake failed"
    OPEN = "open"
    LOCAL_CLOSED = "local closed"
    PEER_CLOSED = "peer closed"
    CLOSED = "closed"
    ALERT_DUE = "alert due"
    FAILED = "failed"


class Event(enum.Enum):
    """What can happen to a SimTLS context."""

    __hash__ = object.__hash__

    DONE = "handshake done"
    FAIL = "step failed"
    ENCRYPT = "encrypt"
    DECRYPT = "decrypt"
    REFUSE = "record refused with an alert"
    PEER_ALERT = "fatal alert received"
    PEER_CLOSE = "close_notify received"
    LOCAL_CLOSE = "close_notify or fatal alert sent"
    ALERT_TAKEN = "alert taken"


P, E = Phase, Event
_NOT_YET = Refused(SecurityStatus.SEC_E_UNSUPPORTED_FUNCTION)
_EXPIRED = Refused(SecurityStatus.SEC_E_CONTEXT_EXPIRED)

#: Phases before the handshake completed, failed or not (``step`` still runs the handshake in
#: the first two).
HANDSHAKE_PHASES: Final = frozenset((P.HANDSHAKING, P.HANDSHAKING_CLOSED, P.HANDSHAKE_FAILED))
#: Phases after a successful handshake (``complete`` is true there, keys are in use).
COMPLETE_PHASES: Final = frozenset(Phase) - HANDSHAKE_PHASES
#: Phases with a sticky failure status.
FAILED_PHASES: Final = frozenset((P.HANDSHAKE_FAILED, P.ALERT_DUE, P.FAILED))

PHASES: Final[dict[tuple[Phase, Event], Phase | Refused]] = {
    (P.HANDSHAKING, E.DONE): P.OPEN,
    (P.HANDSHAKING, E.FAIL): P.HANDSHAKE_FAILED,
    (P.HANDSHAKING, E.LOCAL_CLOSE): P.HANDSHAKING_CLOSED,
    (P.HANDSHAKING, E.ENCRYPT): _NOT_YET,
    (P.HANDSHAKING, E.DECRYPT): _NOT_YET,
    (P.HANDSHAKING_CLOSED, E.DONE): P.LOCAL_CLOSED,
    (P.HANDSHAKING_CLOSED, E.FAIL): P.HANDSHAKE_FAILED,
    (P.HANDSHAKING_CLOSED, E.LOCAL_CLOSE): P.HANDSHAKING_CLOSED,
    (P.HANDSHAKING_CLOSED, E.ENCRYPT): _NOT_YET,
    (P.HANDSHAKING_CLOSED, E.DECRYPT): _NOT_YET,
    # A plaintext alert may still be asked for after a failed handshake (T9).
    (P.HANDSHAKE_FAILED, E.LOCAL_CLOSE): P.HANDSHAKE_FAILED,
    (P.HANDSHAKE_FAILED, E.ENCRYPT): _NOT_YET,
    (P.HANDSHAKE_FAILED, E.DECRYPT): _NOT_YET,
    (P.OPEN, E.ENCRYPT): P.OPEN,
    (P.OPEN, E.DECRYPT): P.OPEN,
    (P.OPEN, E.FAIL): P.FAILED,
    (P.OPEN, E.REFUSE): P.ALERT_DUE,
    (P.OPEN, E.PEER_ALERT): P.FAILED,
    (P.OPEN, E.PEER_CLOSE): P.PEER_CLOSED,
    (P.OPEN, E.LOCAL_CLOSE): P.LOCAL_CLOSED,
    (P.LOCAL_CLOSED, E.ENCRYPT): _EXPIRED,
    (P.LOCAL_CLOSED, E.DECRYPT): P.LOCAL_CLOSED,
    (P.LOCAL_CLOSED, E.FAIL): P.FAILED,
    (P.LOCAL_CLOSED, E.REFUSE): P.ALERT_DUE,
    (P.LOCAL_CLOSED, E.PEER_ALERT): P.FAILED,
    (P.LOCAL_CLOSED, E.PEER_CLOSE): P.CLOSED,
    (P.LOCAL_CLOSED, E.LOCAL_CLOSE): P.LOCAL_CLOSED,
    (P.PEER_CLOSED, E.ENCRYPT): _EXPIRED,
    (P.PEER_CLOSED, E.DECRYPT): _EXPIRED,
    (P.PEER_CLOSED, E.FAIL): P.FAILED,
    (P.PEER_CLOSED, E.LOCAL_CLOSE): P.CLOSED,
    (P.CLOSED, E.ENCRYPT): _EXPIRED,
    (P.CLOSED, E.DECRYPT): _EXPIRED,
    (P.CLOSED, E.FAIL): P.FAILED,
    (P.CLOSED, E.LOCAL_CLOSE): P.CLOSED,
    (P.ALERT_DUE, E.ENCRYPT): _EXPIRED,
    (P.ALERT_DUE, E.DECRYPT): _EXPIRED,
    (P.ALERT_DUE, E.ALERT_TAKEN): P.FAILED,
    (P.FAILED, E.ENCRYPT): _EXPIRED,
    (P.FAILED, E.DECRYPT): _EXPIRED,
}
del P, E
