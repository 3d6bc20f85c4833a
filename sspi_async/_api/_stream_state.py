"""The two halves of an ``SspiTLSStream``'s lifecycle, as transition tables.

Theory of operation
-------------------
A TLS stream reads and writes independently (one task may send while another receives), so each
direction is its own machine, as anyio's and trio's streams treat them::

    read:   OPEN --end--> EOF            write:  OPEN --break--> BROKEN
              |                                    |
              +--break--> BROKEN                   +--close--> CLOSED
              any --close--> CLOSED

* ``end`` (read only): the peer's close_notify, or the transport's EOF with
  ``standard_compatible`` false — every later receive raises ``EndOfStream``.
* ``break``: a record did not decrypt (E4), the transport failed or ended without close_notify,
  a send failed or was cancelled part-way — every later call raises ``BrokenResourceError``.
  A refused record breaks both halves: its fatal alert was the last record (E4).
* ``close``: :meth:`SspiTLSStream.aclose` — every later call raises ``ClosedResourceError``. An
  operation still in flight in another task may then end or break: on CLOSED that changes
  nothing.

The tables are data; :class:`~sspi_async._machine.Machine` is their only writer.
"""

from __future__ import annotations

import enum
from typing import Final

__all__ = ("READ_TRANSITIONS", "WRITE_TRANSITIONS", "Half", "HalfEvent")


class Half(enum.Enum):
    """Where one direction of a TLS stream is."""

    __hash__ = object.__hash__  # C-level identity hash: read on every receive and send

    OPEN = "open"
    EOF = "at end of stream"
    BROKEN = "broken"
    CLOSED = "closed"


class HalfEvent(enum.Enum):
    """What happens to one direction of a TLS stream."""

    __hash__ = object.__hash__

    END = "end"
    BREAK = "break"
    CLOSE = "close"


H, E = Half, HalfEvent
READ_TRANSITIONS: Final[dict[tuple[Half, HalfEvent], Half]] = {
    (H.OPEN, E.END): H.EOF,
    (H.OPEN, E.BREAK): H.BROKEN,
    (H.OPEN, E.CLOSE): H.CLOSED,
    (H.EOF, E.CLOSE): H.CLOSED,
    (H.BROKEN, E.BREAK): H.BROKEN,
    (H.BROKEN, E.CLOSE): H.CLOSED,
    (H.CLOSED, E.END): H.CLOSED,
    (H.CLOSED, E.BREAK): H.CLOSED,
    (H.CLOSED, E.CLOSE): H.CLOSED,
}
WRITE_TRANSITIONS: Final[dict[tuple[Half, HalfEvent], Half]] = {
    (H.OPEN, E.BREAK): H.BROKEN,
    (H.OPEN, E.CLOSE): H.CLOSED,
    (H.BROKEN, E.BREAK): H.BROKEN,
    (H.BROKEN, E.CLOSE): H.CLOSED,
    (H.CLOSED, E.BREAK): H.CLOSED,
    (H.CLOSED, E.CLOSE): H.CLOSED,
}
del H, E
