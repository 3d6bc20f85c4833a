"""The Schannel buffer mapping (T1–T7), once, for every TLS-framed package.

Theory of operation
-------------------
A package sees whole records and answers with bytes and a verdict (``StepResult``); this module
turns the caller's ``SecBufferDesc`` structures into that and back, with Schannel's exact rules
(reference §6.1, §7 ``establish_context``, §8 cases 11–27):

* output: the first TOKEN buffer (else the first EMPTY one) receives the token; a TOKEN or ALERT
  buffer with ``cbBuffer == 0`` and no ALLOCATE_MEMORY flag is ``SEC_E_INSUFFICIENT_MEMORY``
  before anything else happens [12, 13]; with the flag, or with ``pvBuffer`` None, the package
  allocates [14, 16]; a caller buffer too small is ``SEC_E_BUFFER_TOO_SMALL``; an ALERT buffer
  with no alert gets ``cbBuffer = 0`` [15].
* input: an EMPTY buffer with ``cbBuffer != 0`` is ``SEC_E_INVALID_TOKEN`` [26]; bytes that are
  not a TLS record header are ``SEC_E_INVALID_TOKEN`` [19]; too few bytes for one whole record
  turn the first EMPTY buffer after the token into ``SECBUFFER_MISSING`` [22–24]; an unconsumed
  tail turns it into ``SECBUFFER_EXTRA`` (T6).
"""

from __future__ import annotations

import struct

from .._buffers import SecBuffer, SecBufferDesc
from .._flags import (
    SECBUFFER_ALERT,
    SECBUFFER_APPLICATION_PROTOCOLS,
    SECBUFFER_EMPTY,
    SECBUFFER_EXTRA,
    SECBUFFER_MISSING,
    SECBUFFER_TOKEN,
    SecApplicationProtocolNegotiationExt_ALPN,
)
from .._status import SecurityStatus
from . import _allocations

__all__ = (
    "InputToken",
    "application_protocols",
    "check_output_sizes",
    "clear_alerts",
    "encode_application_protocols",
    "mark_input",
    "read_input",
    "write_buffer",
    "write_output",
)

_TOKEN_TYPES = (SECBUFFER_TOKEN, SECBUFFER_ALERT)
# TLS 1.2 allows ciphertext fragments up to 2^14 + 2048 bytes (RFC 5246 §6.2.3).
_MAX_RECORD_BODY = 16384 + 2048


def check_output_sizes(output: SecBufferDesc, allocate: bool) -> int | None:
    """T2: a zero-sized TOKEN/ALERT buffer without ALLOCATE_MEMORY is INSUFFICIENT_MEMORY."""
    if not output.pBuffers:
        return SecurityStatus.SEC_E_INVALID_TOKEN
    if not allocate:
        for buf in output.pBuffers:
            if (buf.BufferType & 0x0FFFFFFF) in _TOKEN_TYPES and buf.cbBuffer == 0:
                return SecurityStatus.SEC_E_INSUFFICIENT_MEMORY
    return None


def _writable(obj: object) -> bool:
    if isinstance(obj, bytearray):
        return True
    return isinstance(obj, memoryview) and not obj.readonly


def write_buffer(buf: SecBuffer, data: bytes, allocate: bool) -> int | None:
    """Put ``data`` into ``buf``; return a failure status or None.

    The package allocates when asked to (ALLOCATE_MEMORY) or when ``pvBuffer`` is None [14, 16];
    otherwise ``data`` is copied into the caller's memory (a ``bytes`` object, being immutable, is
    replaced by the result instead).
    """
    if not data:
        buf.cbBuffer = 0
        return None
    if allocate or buf.pvBuffer is None:
        buf.pvBuffer = _allocations.allocate(data)
        buf.cbBuffer = len(data)
        return None
    capacity = min(buf.cbBuffer, len(buf.pvBuffer))
    if len(data) > capacity:
        return SecurityStatus.SEC_E_BUFFER_TOO_SMALL
    if _writable(buf.pvBuffer):
        memoryview(buf.pvBuffer).cast("B")[: len(data)] = data
    else:
        buf.pvBuffer = data
    buf.cbBuffer = len(data)
    return None


def _first(output: SecBufferDesc, *types: int) -> SecBuffer | None:
    for wanted in types:
        for buf in output.pBuffers:
            if (buf.BufferType & 0x0FFFFFFF) == wanted:
                return buf
    return None


def clear_alerts(output: SecBufferDesc) -> None:
    """[15]: every ALERT buffer that carries no alert gets ``cbBuffer = 0``."""
    for buf in output.pBuffers:
        if (buf.BufferType & 0x0FFFFFFF) == SECBUFFER_ALERT:
            buf.cbBuffer = 0


def write_output(output: SecBufferDesc, data: bytes, allocate: bool, is_alert: bool) -> int | None:
    """Write a step's output: an alert into the ALERT buffer when one was passed (T11), else the
    first TOKEN (or EMPTY) buffer, which is retyped TOKEN. Returns a failure status or None."""
    token = _first(output, SECBUFFER_TOKEN, SECBUFFER_EMPTY)
    alert = _first(output, SECBUFFER_ALERT) if is_alert else None
    target = alert if alert is not None else token
    if target is None:
        return SecurityStatus.SEC_E_INVALID_TOKEN
    status = write_buffer(target, data, allocate)
    if status is not None:
        return status
    if target is token:
        token.BufferType = SECBUFFER_TOKEN
        _clear_other_alerts(output, None)
    else:
        if token is not None:
            token.cbBuffer = 0
        _clear_other_alerts(output, target)
    return None


def _clear_other_alerts(output: SecBufferDesc, keep: SecBuffer | None) -> None:
    for buf in output.pBuffers:
        if buf is not keep and (buf.BufferType & 0x0FFFFFFF) == SECBUFFER_ALERT:
            buf.cbBuffer = 0


class InputToken:
    """The TOKEN bytes of an input descriptor and the buffer that reports MISSING/EXTRA."""

    __slots__ = ("data", "spare")

    def __init__(self, data: bytes, spare: SecBuffer | None) -> None:
        self.data = data
        self.spare = spare


def read_input(pInput: SecBufferDesc) -> InputToken | int:
    """Find the TOKEN buffer; return it with the first EMPTY buffer after it, or a status.

    [26] an EMPTY buffer with a non-zero size is INVALID_TOKEN; no TOKEN at all is
    INCOMPLETE_MESSAGE (reference §7).
    """
    token_index = -1
    for index, buf in enumerate(pInput.pBuffers):
        kind = buf.BufferType & 0x0FFFFFFF
        if kind == SECBUFFER_EMPTY and buf.cbBuffer != 0:
            return SecurityStatus.SEC_E_INVALID_TOKEN
        if kind == SECBUFFER_TOKEN and token_index < 0:
            token_index = index
    if token_index < 0:
        return SecurityStatus.SEC_E_INCOMPLETE_MESSAGE
    spare = None
    for buf in pInput.pBuffers[token_index + 1 :]:
        if (buf.BufferType & 0x0FFFFFFF) == SECBUFFER_EMPTY:
            spare = buf
            break
    return InputToken(pInput.pBuffers[token_index].data(), spare)


def header_plausible(data: bytes | memoryview) -> bool:
    """Whether ``data`` could begin a TLS record: content type 20–24, version major 3, and a
    length no TLS record may exceed. Checks only the bytes present (a partial header passes if
    what is there fits). Garbage fails here instead of waiting forever for bytes [19]."""
    if not data:
        return True
    if not 20 <= data[0] <= 24:
        return False
    if len(data) >= 2 and data[1] != 3:
        return False
    return not (len(data) >= 5 and ((data[3] << 8) | data[4]) > _MAX_RECORD_BODY)


def mark_input(spare: SecBuffer | None, buffer_type: int, count: int) -> bool:
    """Turn ``spare`` into a MISSING or EXTRA buffer of ``count`` bytes; False if there is none."""
    if spare is None:
        return False
    spare.BufferType = buffer_type
    spare.cbBuffer = count
    return True


def mark_extra(spare: SecBuffer | None, tail: bytes) -> bool:
    """T6: the last ``len(tail)`` input bytes were not consumed."""
    if not mark_input(spare, SECBUFFER_EXTRA, len(tail)):
        return False
    assert spare is not None
    spare.pvBuffer = tail
    return True


def mark_missing(spare: SecBuffer | None, count: int) -> None:
    """T4: ``count`` more bytes are needed."""
    mark_input(spare, SECBUFFER_MISSING, count)


def application_protocols(pInput: SecBufferDesc | None) -> tuple[bytes, ...] | int | None:
    """Parse a SECBUFFER_APPLICATION_PROTOCOLS input buffer (case 39 wire layout).

    Layout (little-endian): ``ProtocolListsSize:u32``, then lists of ``ProtoNegoExt:u32,
    ProtocolListSize:u16, ProtocolList`` where the list holds 8-bit length-prefixed ids. Returns
    the ALPN ids, ``None`` when there is no such buffer, or INVALID_TOKEN when it is malformed.
    """
    if pInput is None:
        return None
    buf = next(
        (
            b
            for b in pInput.pBuffers
            if (b.BufferType & 0x0FFFFFFF) == SECBUFFER_APPLICATION_PROTOCOLS
        ),
        None,
    )
    if buf is None:
        return None
    raw = buf.data()
    try:
        (lists_size,) = struct.unpack_from("<I", raw, 0)
        end = 4 + lists_size
        if end > len(raw):
            raise ValueError("lists overrun the buffer")
        offset, ids = 4, []
        while offset < end:
            ext, list_size = struct.unpack_from("<IH", raw, offset)
            offset += 6
            chunk = raw[offset : offset + list_size]
            if len(chunk) != list_size:
                raise ValueError("protocol list overruns the buffer")
            offset += list_size
            pos = 0
            while pos < len(chunk):
                size = chunk[pos]
                ident = chunk[pos + 1 : pos + 1 + size]
                if size == 0 or len(ident) != size:
                    raise ValueError("bad protocol id length")
                if ext == SecApplicationProtocolNegotiationExt_ALPN:
                    ids.append(bytes(ident))
                pos += 1 + size
    except (struct.error, ValueError):
        return SecurityStatus.SEC_E_INVALID_TOKEN
    return tuple(ids)


def encode_application_protocols(protocols: list[str] | tuple[str, ...]) -> bytes:
    """Build a SECBUFFER_APPLICATION_PROTOCOLS payload offering ``protocols`` over ALPN."""
    ids = b"".join(bytes((len(p.encode()),)) + p.encode() for p in protocols)
    one_list = struct.pack("<IH", SecApplicationProtocolNegotiationExt_ALPN, len(ids)) + ids
    return struct.pack("<I", len(one_list)) + one_list
