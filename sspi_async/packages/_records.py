"""TLS record framing (L2): the 5-byte header every TLS-framed package speaks (RFC 8446 §5.1).

Used by the emulator to cut input into whole records (T4) and by packages to build records.
"""

from __future__ import annotations

from typing import Final

__all__ = (
    "CONTENT_ALERT",
    "CONTENT_APPLICATION_DATA",
    "CONTENT_CHANGE_CIPHER_SPEC",
    "CONTENT_HANDSHAKE",
    "HEADER_SIZE",
    "MAX_FRAGMENT",
    "TLS12_VERSION",
    "alert_record",
    "make_record",
    "record_length",
    "split_records",
)

HEADER_SIZE: Final = 5
MAX_FRAGMENT: Final = 16384
TLS12_VERSION: Final = 0x0303

CONTENT_CHANGE_CIPHER_SPEC: Final = 20
CONTENT_ALERT: Final = 21
CONTENT_HANDSHAKE: Final = 22
CONTENT_APPLICATION_DATA: Final = 23


def make_record(content_type: int, body: bytes, version: int = TLS12_VERSION) -> bytes:
    """Frame ``body`` as one record (``len(body)`` must fit in 16 bits)."""
    return (
        bytes((content_type, version >> 8, version & 0xFF, len(body) >> 8, len(body) & 0xFF)) + body
    )


def alert_record(level: int, description: int, version: int = TLS12_VERSION) -> bytes:
    """A plaintext alert record, e.g. close_notify ``15 03 03 00 02 01 00``."""
    return make_record(CONTENT_ALERT, bytes((level, description)), version)


def record_length(data: bytes | memoryview, offset: int = 0) -> int | None:
    """Total length (header included) of the record starting at ``offset``; ``None`` if the header
    itself is incomplete."""
    if len(data) - offset < HEADER_SIZE:
        return None
    return HEADER_SIZE + ((data[offset + 3] << 8) | data[offset + 4])


def split_records(data: bytes) -> tuple[int, int]:
    """Measure the whole records at the start of ``data``.

    Returns ``(complete, missing)``: ``complete`` is how many leading bytes form whole records;
    when that is 0, ``missing`` is how many more bytes the first record needs (T4: 5 for no
    bytes, ``5 - n`` for a partial header, the rest of the record otherwise). ``missing`` is 0
    when at least one record is complete.
    """
    offset = 0
    size = len(data)
    while True:
        length = record_length(data, offset)
        if length is None or offset + length > size:
            break
        offset += length
    if offset:
        return offset, 0
    length = record_length(data, 0)
    if length is None:
        return 0, HEADER_SIZE - size
    return 0, length - size
