"""SimTLS wire format (L2): handshake messages inside real TLS records.

Every record is a TLS record (``_records.make_record``: content type, version 0x0303, 16-bit
length). Handshake records (type 22) carry TLS-style handshake messages, ``msg_type(1) |
length(3) | body``; one flight is packed into as few records as possible, each body at most
16384 bytes. Field encodings (all integers big-endian):

=====================  ====  ===================================================================
message                type  body
=====================  ====  ===================================================================
ClientHello            1     version u16 | client_random[32] | rounds u8 | flags u8 |
                             [principal: u16 length + UTF-8, when flags & HAS_PRINCIPAL] |
                             ALPN ProtocolNameList: u16 length + (u8 length + id)*
ServerHello            2     version u16 | server_random[32] | principal: u16 length + UTF-8 |
                             selected ALPN id: u8 length + id (length 0: none)
NewSessionTicket       4     lifetime u32 | ticket: u16 length + bytes
ServerHelloDone        14    empty
ClientKeyExchange      16    empty (the PSK identity already travelled in the ClientHello)
Finished               20    verify_data[32] = HMAC-SHA256(finished key, label + SHA256(transcript))
Ping (client)          224   round u8 (1-based), private-use handshake type
Pong (server)          225   round u8, echoing the Ping
=====================  ====  ===================================================================

ClientHello flags: bit 0 = the client asked ``ISC_REQ_IDENTIFY``; bit 1 = a principal follows.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

from .._records import CONTENT_HANDSHAKE, MAX_FRAGMENT, make_record

__all__ = (
    "CLIENT_HELLO",
    "CLIENT_KEY_EXCHANGE",
    "FINISHED",
    "FLAG_HAS_PRINCIPAL",
    "FLAG_IDENTIFY",
    "MAX_MESSAGE",
    "NEW_SESSION_TICKET",
    "PING",
    "PONG",
    "RANDOM_SIZE",
    "SERVER_HELLO",
    "SERVER_HELLO_DONE",
    "VERIFY_SIZE",
    "ClientHello",
    "DecodeError",
    "NewSessionTicket",
    "ServerHello",
    "handshake_message",
    "handshake_records",
    "iter_messages",
)

CLIENT_HELLO: Final = 1
SERVER_HELLO: Final = 2
NEW_SESSION_TICKET: Final = 4
SERVER_HELLO_DONE: Final = 14
CLIENT_KEY_EXCHANGE: Final = 16
FINISHED: Final = 20
# 224..255 are reserved for private use in the TLS HandshakeType registry (RFC 8447 §5).
PING: Final = 224
PONG: Final = 225

FLAG_IDENTIFY: Final = 0x01
FLAG_HAS_PRINCIPAL: Final = 0x02

RANDOM_SIZE: Final = 32
VERIFY_SIZE: Final = 32
#: Largest handshake message body accepted; SimTLS's own are far smaller (credential limits).
MAX_MESSAGE: Final = 0x10000

_U16: Final = struct.Struct(">H")
_U32: Final = struct.Struct(">I")


class DecodeError(ValueError):
    """A handshake message body does not follow the SimTLS encoding."""


class _Reader:
    """Sequential reads from a message body; every overrun raises :class:`DecodeError`."""

    __slots__ = ("_data", "_pos")

    def __init__(self, data: bytes | memoryview) -> None:
        self._data = data
        self._pos = 0

    def take(self, n: int) -> bytes:
        end = self._pos + n
        if end > len(self._data):
            raise DecodeError("message body is shorter than its fields")
        chunk = bytes(self._data[self._pos : end])
        self._pos = end
        return chunk

    def u8(self) -> int:
        if self._pos >= len(self._data):
            raise DecodeError("message body is shorter than its fields")
        value = self._data[self._pos]
        self._pos += 1
        return value

    def u16(self) -> int:
        return int(_U16.unpack(self.take(2))[0])

    def u32(self) -> int:
        return int(_U32.unpack(self.take(4))[0])

    def name16(self) -> str:
        """A non-empty UTF-8 principal with a u16 length."""
        try:
            name = self.take(self.u16()).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DecodeError("a principal is not UTF-8") from exc
        if not name:
            raise DecodeError("empty principal")
        return name

    def end(self) -> None:
        if self._pos != len(self._data):
            raise DecodeError("message body has trailing bytes")


def _text16(value: str) -> bytes:
    raw = value.encode("utf-8")
    return _U16.pack(len(raw)) + raw


@dataclass(frozen=True, slots=True)
class ClientHello:
    """The client's first flight: who it is, what it offers, which shape it wants."""

    version: int
    random: bytes
    rounds: int
    identify: bool
    principal: str | None
    alpn: tuple[bytes, ...]

    def encode(self) -> bytes:
        """The message body."""
        flags = (FLAG_IDENTIFY if self.identify else 0) | (
            FLAG_HAS_PRINCIPAL if self.principal is not None else 0
        )
        parts = [_U16.pack(self.version), self.random, bytes((self.rounds, flags))]
        if self.principal is not None:
            parts.append(_text16(self.principal))
        protocols = b"".join(bytes((len(proto),)) + proto for proto in self.alpn)
        parts.append(_U16.pack(len(protocols)))
        parts.append(protocols)
        return b"".join(parts)

    @classmethod
    def decode(cls, body: bytes | memoryview) -> ClientHello:
        """Parse a body; raises :class:`DecodeError`."""
        reader = _Reader(body)
        version = reader.u16()
        random = reader.take(RANDOM_SIZE)
        rounds = reader.u8()
        flags = reader.u8()
        if flags & ~(FLAG_IDENTIFY | FLAG_HAS_PRINCIPAL):
            raise DecodeError("unknown ClientHello flag bits")
        principal = reader.name16() if flags & FLAG_HAS_PRINCIPAL else None
        alpn = _decode_protocols(reader.take(reader.u16()))
        reader.end()
        return cls(version, random, rounds, bool(flags & FLAG_IDENTIFY), principal, alpn)


def _decode_protocols(raw: bytes) -> tuple[bytes, ...]:
    """Parse an ALPN ProtocolNameList body (u8-length-prefixed, non-empty ids)."""
    out: list[bytes] = []
    pos = 0
    size = len(raw)
    while pos < size:
        end = pos + 1 + raw[pos]
        if end == pos + 1 or end > size:
            raise DecodeError("malformed ALPN protocol list")
        out.append(raw[pos + 1 : end])
        pos = end
    return tuple(out)


@dataclass(frozen=True, slots=True)
class ServerHello:
    """The server's answer: its identity, the negotiated version and the selected ALPN id."""

    version: int
    random: bytes
    principal: str
    alpn: bytes | None

    def encode(self) -> bytes:
        """The message body."""
        selected = self.alpn or b""
        return b"".join(
            (
                _U16.pack(self.version),
                self.random,
                _text16(self.principal),
                bytes((len(selected),)),
                selected,
            )
        )

    @classmethod
    def decode(cls, body: bytes | memoryview) -> ServerHello:
        """Parse a body; raises :class:`DecodeError`."""
        reader = _Reader(body)
        version = reader.u16()
        random = reader.take(RANDOM_SIZE)
        principal = reader.name16()
        selected = reader.take(reader.u8())
        reader.end()
        return cls(version, random, principal, selected or None)


@dataclass(frozen=True, slots=True)
class NewSessionTicket:
    """A post-handshake ticket (opaque to the client; SimTLS never resumes with it)."""

    lifetime: int
    ticket: bytes

    def encode(self) -> bytes:
        """The message body."""
        return _U32.pack(self.lifetime) + _U16.pack(len(self.ticket)) + self.ticket

    @classmethod
    def decode(cls, body: bytes | memoryview) -> NewSessionTicket:
        """Parse a body; raises :class:`DecodeError`."""
        reader = _Reader(body)
        lifetime = reader.u32()
        ticket = reader.take(reader.u16())
        reader.end()
        if not ticket:
            raise DecodeError("empty session ticket")
        return cls(lifetime, ticket)


def handshake_message(msg_type: int, body: bytes) -> bytes:
    """One handshake message: ``msg_type(1) | length(3) | body``."""
    length = len(body)
    return bytes((msg_type, length >> 16, (length >> 8) & 0xFF, length & 0xFF)) + body


def handshake_records(messages: bytes | bytearray) -> bytes:
    """Frame handshake bytes as type-22 records of at most 16384 bytes each."""
    if len(messages) <= MAX_FRAGMENT:
        return make_record(CONTENT_HANDSHAKE, bytes(messages))
    view = memoryview(messages)
    return b"".join(
        make_record(CONTENT_HANDSHAKE, bytes(view[start : start + MAX_FRAGMENT]))
        for start in range(0, len(messages), MAX_FRAGMENT)
    )


def iter_messages(data: memoryview) -> tuple[list[tuple[int, memoryview]], int]:
    """Split handshake bytes into whole messages.

    Returns the ``(msg_type, raw message)`` pairs (header included) and how many leading bytes
    they cover; a partial message at the end is left for the next record. Raises
    :class:`DecodeError` for a message longer than :data:`MAX_MESSAGE`.
    """
    messages: list[tuple[int, memoryview]] = []
    pos = 0
    size = len(data)
    while size - pos >= 4:
        length = (data[pos + 1] << 16) | (data[pos + 2] << 8) | data[pos + 3]
        if length > MAX_MESSAGE:
            raise DecodeError("handshake message too long")
        end = pos + 4 + length
        if end > size:
            break
        messages.append((data[pos], data[pos:end]))
        pos = end
    return messages, pos
