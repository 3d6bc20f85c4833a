"""The phases of one Schannel package context as an explicit transition table (DESIGN "State
machines").

Theory of operation
-------------------
::

    HANDSHAKING --done--> OPEN <--reply taken-- REPLY_PENDING
         |                 |  \\--reply queued-->/
         |                 |--peer close--> PEER_CLOSED --local close--> CLOSED
         |                 |--local close--> CLOSING ----peer close--> CLOSED
         |                 `--refuse--> ALERT_PENDING --alert taken--> FAILED
         `--fail--> HANDSHAKE_FAILED          (any open phase --fail--> FAILED)

* HANDSHAKING: ``do_handshake`` runs on every step (T1–T8). A failure hands its alert out with
  the failing step (T11) and moves to HANDSHAKE_FAILED; a fatal ``SCHANNEL_ALERT`` does too.
* OPEN: records flow (M1, M2). A TLS 1.3 KeyUpdate that OpenSSL answers queues a reply:
  REPLY_PENDING refuses to encrypt (the reply must go first, M2) until the follow-up ISC/ASC
  takes it.
* PEER_CLOSED / CLOSING / CLOSED: close_notify received / sent / both (half-close, M2, M4).
* ALERT_PENDING: a record was refused after the handshake; the fatal alert OpenSSL wrote under
  the current keys waits for the next ISC/ASC, with or without ``SCHANNEL_SHUTDOWN`` (E4).
  FAILED: that alert went out (or there was none); nothing more ever does: no close_notify after
  a fatal alert, no plaintext record once keys are in use (E4, RFC 8446 §6.2, RFC 5246 §7.2).
* ENCRYPT and DECRYPT are events too: a self-loop where records may flow, else the refusal
  status (a failed phase's decrypt answers with the context's own failure status instead).

:class:`~sspi_async._machine.Machine` is the only writer of the phase; the context fires events.
"""

from __future__ import annotations

import enum
from typing import Final

from ..._machine import Refused
from ..._status import SecurityStatus

__all__ = ("COMPLETE_PHASES", "FAILED_PHASES", "PHASES", "Event", "Phase")


class Phase(enum.Enum):
    """Where a Schannel context is."""

    __hash__ = object.__hash__  # C-level hash: the table is read once per record

    HANDSHAKING = "handshaking"
    HANDSHAKE_FAILED = "handshake failed"
    OPEN = "open"
    REPLY_PENDING = "reply pending"
    PEER_CLOSED = "peer closed"
    CLOSING = "closing"
    CLOSED = "closed"
    ALERT_PENDING = "alert pending"
    FAILED = "failed"


class Event(enum.Enum):
    """What can happen to a Schannel context."""

    __hash__ = object.__hash__

    DONE = "handshake done"
    FAIL = "fail"
    REFUSE = "record refused with an alert"
    ALERT_TAKEN = "alert taken"
    REPLY_QUEUED = "reply queued"
    REPLY_TAKEN = "reply taken"
    PEER_CLOSE = "peer close_notify"
    LOCAL_CLOSE = "local close_notify"
    ENCRYPT = "encrypt"
    DECRYPT = "decrypt"


P, E = Phase, Event
_NOT_YET = Refused(SecurityStatus.SEC_E_UNSUPPORTED_FUNCTION)
_EXPIRED = Refused(SecurityStatus.SEC_E_CONTEXT_EXPIRED)
_OUT_OF_SEQUENCE = Refused(SecurityStatus.SEC_E_OUT_OF_SEQUENCE)

#: Phases after a successful handshake (``complete`` is true there).
COMPLETE_PHASES: Final = frozenset(
    (P.OPEN, P.REPLY_PENDING, P.PEER_CLOSED, P.CLOSING, P.CLOSED, P.ALERT_PENDING, P.FAILED)
)
#: Phases with a sticky failure status.
FAILED_PHASES: Final = frozenset((P.HANDSHAKE_FAILED, P.ALERT_PENDING, P.FAILED))

PHASES: Final[dict[tuple[Phase, Event], Phase | Refused]] = {
    (P.HANDSHAKING, E.DONE): P.OPEN,
    (P.HANDSHAKING, E.FAIL): P.HANDSHAKE_FAILED,
    (P.HANDSHAKING, E.ENCRYPT): _NOT_YET,
    (P.HANDSHAKING, E.DECRYPT): _NOT_YET,
    (P.HANDSHAKE_FAILED, E.FAIL): P.HANDSHAKE_FAILED,
    (P.HANDSHAKE_FAILED, E.ENCRYPT): _NOT_YET,
    (P.HANDSHAKE_FAILED, E.DECRYPT): _NOT_YET,
    (P.OPEN, E.ENCRYPT): P.OPEN,
    (P.OPEN, E.DECRYPT): P.OPEN,
    (P.OPEN, E.REPLY_QUEUED): P.REPLY_PENDING,
    (P.OPEN, E.REPLY_TAKEN): P.OPEN,
    (P.OPEN, E.PEER_CLOSE): P.PEER_CLOSED,
    (P.OPEN, E.LOCAL_CLOSE): P.CLOSING,
    (P.OPEN, E.REFUSE): P.ALERT_PENDING,
    (P.OPEN, E.FAIL): P.FAILED,
    (P.REPLY_PENDING, E.ENCRYPT): _OUT_OF_SEQUENCE,
    (P.REPLY_PENDING, E.DECRYPT): P.REPLY_PENDING,
    (P.REPLY_PENDING, E.REPLY_QUEUED): P.REPLY_PENDING,
    (P.REPLY_PENDING, E.REPLY_TAKEN): P.OPEN,
    (P.REPLY_PENDING, E.PEER_CLOSE): P.PEER_CLOSED,
    (P.REPLY_PENDING, E.LOCAL_CLOSE): P.CLOSING,
    (P.REPLY_PENDING, E.REFUSE): P.ALERT_PENDING,
    (P.REPLY_PENDING, E.FAIL): P.FAILED,
    (P.PEER_CLOSED, E.ENCRYPT): P.PEER_CLOSED,
    (P.PEER_CLOSED, E.DECRYPT): _EXPIRED,
    (P.PEER_CLOSED, E.REPLY_TAKEN): P.PEER_CLOSED,
    (P.PEER_CLOSED, E.LOCAL_CLOSE): P.CLOSED,
    (P.PEER_CLOSED, E.FAIL): P.FAILED,
    (P.CLOSING, E.ENCRYPT): _EXPIRED,
    (P.CLOSING, E.DECRYPT): P.CLOSING,
    (P.CLOSING, E.REPLY_QUEUED): P.CLOSING,
    (P.CLOSING, E.REPLY_TAKEN): P.CLOSING,
    (P.CLOSING, E.PEER_CLOSE): P.CLOSED,
    (P.CLOSING, E.LOCAL_CLOSE): P.CLOSING,
    (P.CLOSING, E.REFUSE): P.ALERT_PENDING,
    (P.CLOSING, E.FAIL): P.FAILED,
    (P.CLOSED, E.ENCRYPT): _EXPIRED,
    (P.CLOSED, E.DECRYPT): _EXPIRED,
    (P.CLOSED, E.REPLY_TAKEN): P.CLOSED,
    (P.CLOSED, E.LOCAL_CLOSE): P.CLOSED,
    (P.ALERT_PENDING, E.ENCRYPT): _EXPIRED,
    (P.ALERT_PENDING, E.DECRYPT): _EXPIRED,
    (P.ALERT_PENDING, E.ALERT_TAKEN): P.FAILED,
    (P.FAILED, E.ENCRYPT): _EXPIRED,
    (P.FAILED, E.DECRYPT): _EXPIRED,
    (P.FAILED, E.ALERT_TAKEN): P.FAILED,
}
del P, E
