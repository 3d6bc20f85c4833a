"""SimTLS keys (L2): key schedule, Finished values and application-data record protection.

Key schedule (all HMAC-SHA256)::

    master          = HMAC(secret, "simtls master" + client_random + server_random)
    <dir> write key = HMAC(master, "simtls <c|s> write")
    <dir> mac key   = HMAC(master, "simtls <c|s> mac")
    <dir> finished  = HMAC(master, "simtls <c|s> finished")
    verify_data     = HMAC(<dir> finished, "<client|server> finished" + SHA256(transcript))

Application data (content type 23): ``body = plaintext XOR SHAKE256(write key + seq)``,
``trailer = HMAC(mac key, seq + header + body)`` where ``seq`` is the 64-bit per-direction record
number and ``header`` the 5-byte record header (its length counts body and trailer). This is
integrity plus obfuscation, not real confidentiality: SimTLS is a test double.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Final

from .._records import CONTENT_APPLICATION_DATA, HEADER_SIZE, TLS12_VERSION

__all__ = (
    "MAC_SIZE",
    "CLIENT_FINISHED_LABEL",
    "SERVER_FINISHED_LABEL",
    "KeySchedule",
    "RecordKeys",
    "derive_keys",
    "finished_value",
    "verify_finished",
)

MAC_SIZE: Final = 32
CLIENT_FINISHED_LABEL: Final = b"client finished"
SERVER_FINISHED_LABEL: Final = b"server finished"

_MAX_SEQUENCE: Final = 1 << 64
_VERSION_BYTES: Final = bytes((TLS12_VERSION >> 8, TLS12_VERSION & 0xFF))


@dataclass(frozen=True, slots=True)
class KeySchedule:
    """Every key one connection needs, both directions."""

    client_write: bytes
    client_mac: bytes
    client_finished: bytes
    server_write: bytes
    server_mac: bytes
    server_finished: bytes


def derive_keys(secret: bytes, client_random: bytes, server_random: bytes) -> KeySchedule:
    """Derive the connection keys from the shared secret and both randoms."""
    master = hmac.digest(secret, b"simtls master" + client_random + server_random, "sha256")

    def key(label: bytes) -> bytes:
        return hmac.digest(master, label, "sha256")

    return KeySchedule(
        client_write=key(b"simtls c write"),
        client_mac=key(b"simtls c mac"),
        client_finished=key(b"simtls c finished"),
        server_write=key(b"simtls s write"),
        server_mac=key(b"simtls s mac"),
        server_finished=key(b"simtls s finished"),
    )


def finished_value(key: bytes, label: bytes, transcript_hash: bytes) -> bytes:
    """The 32-byte verify_data over ``transcript_hash`` (SHA-256 of the transcript so far)."""
    return hmac.digest(key, label + transcript_hash, "sha256")


def verify_finished(
    key: bytes, label: bytes, transcript_hash: bytes, received: bytes | memoryview
) -> bool:
    """True when ``received`` is the verify_data this side expects (constant-time compare)."""
    return hmac.compare_digest(finished_value(key, label, transcript_hash), bytes(received))


class RecordKeys:
    """Protection for one direction of application data, with its sequence number.

    A sequence number is used once; after 2**64 records the direction refuses to go on
    (:meth:`seal` raises ``OverflowError``), as TLS requires a new connection then.
    """

    __slots__ = ("_mac", "_seq", "_write")

    def __init__(self, write_key: bytes, mac_key: bytes) -> None:
        self._write = write_key
        self._mac = mac_key
        self._seq = 0

    @property
    def sequence(self) -> int:
        """The number the next record will carry."""
        return self._seq

    def _keystream_xor(self, data: bytes | memoryview, seq_bytes: bytes) -> bytes:
        size = len(data)
        if not size:
            return b""
        stream = hashlib.shake_256(self._write + seq_bytes).digest(size)
        # One big-int XOR is far faster than a per-byte loop in pure Python.
        return (int.from_bytes(data, "big") ^ int.from_bytes(stream, "big")).to_bytes(size, "big")

    def seal(
        self, plaintext: bytes | memoryview, content_type: int = CONTENT_APPLICATION_DATA
    ) -> tuple[bytes, bytes, bytes]:
        """Protect ``plaintext`` as one record of ``content_type``: ``(header, body, trailer)``.

        Application data, and after the handshake alerts too (E4: never a plaintext record
        once keys are in use); the MAC covers the header, so the type is authenticated. The
        caller bounds ``len(plaintext)`` (16384).
        """
        seq = self._seq
        if seq >= _MAX_SEQUENCE:
            raise OverflowError("SimTLS: record sequence number exhausted")
        seq_bytes = seq.to_bytes(8, "big")
        body = self._keystream_xor(plaintext, seq_bytes)
        length = len(body) + MAC_SIZE
        header = bytes((content_type,)) + _VERSION_BYTES + bytes((length >> 8, length & 0xFF))
        trailer = hmac.digest(self._mac, seq_bytes + header + body, "sha256")
        self._seq = seq + 1
        return header, body, trailer

    def open(self, record: bytes | memoryview) -> bytes | None:
        """Check and unprotect one whole protected record (application data or alert); ``None``
        when the MAC does not verify (the sequence number then stays where it was)."""
        size = len(record)
        if size < HEADER_SIZE + MAC_SIZE or self._seq >= _MAX_SEQUENCE:
            return None
        seq_bytes = self._seq.to_bytes(8, "big")
        view = memoryview(record)
        signed_end = size - MAC_SIZE
        expected = hmac.digest(self._mac, seq_bytes + bytes(view[:signed_end]), "sha256")
        if not hmac.compare_digest(expected, bytes(view[signed_end:])):
            return None
        self._seq += 1
        return self._keystream_xor(view[HEADER_SIZE:signed_end], seq_bytes)
