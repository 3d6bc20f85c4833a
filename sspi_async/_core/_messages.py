"""EncryptMessage, DecryptMessage and QueryContextAttributes (M1–M3) over a package context.

Stream mode only, as Schannel (reference §6.3–6.4, cases 35–38): one record per call, with the
buffer layouts and statuses of the Wine cases.
"""

from __future__ import annotations

import copy
from typing import Any

from .._attributes import (
    SecPkgContext_Bindings,
    SecPkgContext_Names,
    SecPkgContext_PackageInfo,
    SecPkgContext_Sizes,
    SecPkgInfo,
)
from .._buffers import SecBuffer, SecBufferDesc
from .._flags import (
    SECBUFFER_DATA,
    SECBUFFER_EMPTY,
    SECBUFFER_EXTRA,
    SECBUFFER_MISSING,
    SECBUFFER_STREAM_HEADER,
    SECBUFFER_STREAM_TRAILER,
    SECBUFFER_TOKEN,
    SECPKG_ATTR_NAMES,
    SECPKG_ATTR_PACKAGE_INFO,
    SECPKG_ATTR_SIZES,
    SECPKG_ATTR_STREAM_SIZES,
)
from .._status import SecurityStatus
from ..packages import PackageError
from . import _allocations, _bufmap
from ._checks import check_int, check_optional, check_out_value
from ._engine import ContextEntry, Engine
from ._entry_states import EntryEvent

__all__ = ("decrypt_message", "encrypt_message", "query_attributes")

S = SecurityStatus


_HEADER_TYPES = (SECBUFFER_STREAM_HEADER, SECBUFFER_TOKEN)
#: Statuses of a package's decrypt that do not refuse a record: before the handshake, after a
#: close, and the informational ones.
_NOT_REFUSED = frozenset(
    (
        S.SEC_E_OK,
        S.SEC_I_RENEGOTIATE,
        S.SEC_I_CONTEXT_EXPIRED,
        S.SEC_E_UNSUPPORTED_FUNCTION,
        S.SEC_E_CONTEXT_EXPIRED,
    )
)
#: The longest record body TLS 1.2 allows on the wire (RFC 5246 §6.2.3).
_MAX_WIRE_BODY = 16384 + 2048
_TRAILER_TYPES = (SECBUFFER_STREAM_TRAILER, SECBUFFER_TOKEN)


def _view(buf: SecBuffer) -> memoryview:
    """``pvBuffer[:cbBuffer]`` as a byte view (no copy); release it before returning, so that a
    caller's bytearray can be resized again."""
    pv = buf.pvBuffer
    if pv is None:
        return memoryview(b"")
    view = memoryview(pv)
    if view.format != "B" or view.ndim != 1:
        view = view.cast("B")
    return view[: buf.cbBuffer]


def _place(buf: SecBuffer, chunk: bytes | memoryview) -> None:
    """Write ``chunk`` where the caller's buffer is (Schannel encrypts in place, M1); a buffer
    without writable room of its own gets the bytes instead."""
    pv = buf.pvBuffer
    size = len(chunk)
    if pv is not None and len(pv) >= size:
        if type(pv) is bytearray:
            pv[:size] = chunk
            buf.cbBuffer = size
            return
        if type(pv) is memoryview and not pv.readonly:
            target = pv if pv.format == "B" and pv.ndim == 1 else pv.cast("B")
            target[:size] = chunk
            buf.cbBuffer = size
            return
    buf.pvBuffer = bytes(chunk)
    buf.cbBuffer = size


def encrypt_message(
    engine: Engine, phContext: object, fQOP: int, pMessage: SecBufferDesc | None, MessageSeqNo: int
) -> int:
    """EncryptMessage (M1): ``[STREAM_HEADER, DATA, STREAM_TRAILER, EMPTY]`` become one record.

    The package reads the plaintext through a view of the DATA buffer and its record is copied
    once, into the caller's three buffers (the record is contiguous when they are).
    """
    # The checks of SPEC §2, skipped for the exact types (hot path: once per record).
    if type(fQOP) is not int or type(MessageSeqNo) is not int:
        check_int("fQOP", fQOP)
        check_int("MessageSeqNo", MessageSeqNo)
    if type(pMessage) is not SecBufferDesc:
        check_optional("pMessage", pMessage, SecBufferDesc)
    entry = engine.context(phContext)
    if entry is None:
        return S.SEC_E_INVALID_HANDLE
    if pMessage is None:
        return S.SEC_E_INVALID_TOKEN
    if fQOP != 0:
        return S.SEC_E_QOP_NOT_SUPPORTED
    # One pass: the first DATA buffer, the first header before it and the first trailer after
    # it. Schannel also accepts {TOKEN, DATA, TOKEN} (reference §7).
    header = data = trailer = None
    for buf in pMessage.pBuffers:
        kind = buf.BufferType & 0x0FFFFFFF
        if data is None:
            if kind == SECBUFFER_DATA:
                data = buf
            elif header is None and kind in _HEADER_TYPES:
                header = buf
        elif kind in _TRAILER_TYPES:
            trailer = buf
            break
    if data is None or header is None or trailer is None:
        return S.SEC_E_INVALID_TOKEN
    pkg = entry.pkg
    sizes = pkg.stream_sizes()
    with _view(data) as plaintext:
        if (
            len(plaintext) > sizes.cbMaximumMessage
            or header.cbBuffer < sizes.cbHeader
            or trailer.cbBuffer < sizes.cbTrailer
        ):
            return S.SEC_E_BUFFER_TOO_SMALL
        try:
            head, body, tail = pkg.encrypt(plaintext)
        except PackageError as exc:
            return exc.status
    if len(head) > header.cbBuffer or len(tail) > trailer.cbBuffer:
        return S.SEC_E_BUFFER_TOO_SMALL
    hp, dp, tp = header.pvBuffer, data.pvBuffer, trailer.pvBuffer
    if type(hp) is memoryview and type(dp) is memoryview and type(tp) is memoryview:
        # Hot path: views of the caller's memory (one contiguous buffer, as C callers allocate
        # it). A read-only, too short or non-byte view raises and takes the general path.
        try:
            hp[: len(head)] = head
            dp[: len(body)] = body
            tp[: len(tail)] = tail
        except (TypeError, ValueError):
            pass
        else:
            header.cbBuffer, data.cbBuffer, trailer.cbBuffer = len(head), len(body), len(tail)
            return S.SEC_E_OK
    _place(header, head)
    _place(data, body)
    _place(trailer, tail)
    return S.SEC_E_OK


def decrypt_message(
    engine: Engine, phContext: object, pMessage: SecBufferDesc | None, MessageSeqNo: int, pfQOP: Any
) -> int:
    """DecryptMessage (M2): one record per call, with EXTRA, MISSING and the post-handshake and
    close_notify informational statuses.

    The package reads the record through a view of the caller's DATA buffer (no copy); the
    HEADER, TRAILER and EXTRA buffers then hold their own small copies, so the caller may reuse or
    resize its buffer afterwards.
    """
    if type(pMessage) is not SecBufferDesc or type(MessageSeqNo) is not int:
        check_optional("pMessage", pMessage, SecBufferDesc)
        check_int("MessageSeqNo", MessageSeqNo)
    if pfQOP is not None:
        check_out_value("pfQOP", pfQOP)
    entry = engine.context(phContext)
    if entry is None:
        return S.SEC_E_INVALID_HANDLE
    if pMessage is None:
        return S.SEC_E_INVALID_TOKEN
    buffers = pMessage.pBuffers
    data_buf = None
    empties: list[SecBuffer] = []
    for buf in buffers:
        kind = buf.BufferType & 0x0FFFFFFF
        if kind == SECBUFFER_DATA:
            if data_buf is not None:
                return S.SEC_E_INVALID_TOKEN  # [36 a–d]: exactly one DATA buffer
            data_buf = buf
        elif kind == SECBUFFER_EMPTY:
            empties.append(buf)
    if len(buffers) < 4 or data_buf is None or len(empties) < 3:
        return S.SEC_E_INVALID_TOKEN  # [36 a–d]
    with _view(data_buf) as received:
        size = len(received)
        length = 5 + ((received[3] << 8) | received[4]) if size >= 5 else 5
        if not _bufmap.header_plausible(received):
            if not entry.pkg.complete:
                return S.SEC_E_INVALID_TOKEN
            # E4: on an established connection the TLS stack judges the record and answers with
            # its own fatal alert (unexpected_message, record_overflow, …; RFC 8446 §5.1, §6.2,
            # RFC 5246 §6.2.1): it gets the whole header, then the whole record unless the
            # header already announces more than any record may carry (a stack checks that
            # before the body arrives).
            if size >= 5 and length - 5 > _MAX_WIRE_BODY:
                length = 5
        if length > size:
            if size >= 5 and entry.package.judges_headers and entry.pkg.complete:
                # E4: a package that judges headers (Schannel: OpenSSL reads a record's header
                # before its body) sees the header at once, so that one the TLS stack refuses
                # gets its fatal alert now, not when a body that may never come has arrived.
                with received[:5] as header:
                    early = entry.pkg.decrypt(header).status
                if early != S.SEC_E_INCOMPLETE_MESSAGE:
                    if early not in _NOT_REFUSED:
                        entry.stash = None
                        entry.fire(EntryEvent.REFUSED)
                    return early
            # [37]: the DATA buffer and the first EMPTY one both become MISSING ("windows does it
            # too"); T4: 5 for no bytes, 5 - n for a partial header, else the rest of the record.
            missing = length - size
            first_empty = empties[0]
            data_buf.BufferType, data_buf.cbBuffer = SECBUFFER_MISSING, missing
            first_empty.BufferType, first_empty.cbBuffer = SECBUFFER_MISSING, missing
            return S.SEC_E_INCOMPLETE_MESSAGE
        with received[:length] as record:
            result = entry.pkg.decrypt(record)
        status = result.status
        if status not in (S.SEC_E_OK, S.SEC_I_RENEGOTIATE, S.SEC_I_CONTEXT_EXPIRED):
            if status not in _NOT_REFUSED:
                # E4: the next ISC/ASC hands out the package's fatal alert (T11).
                entry.stash = None
                entry.fire(EntryEvent.REFUSED)
            return status
        if status == S.SEC_I_RENEGOTIATE:
            entry.fire(EntryEvent.RENEGOTIATED)
        header_size = entry.pkg.stream_sizes().cbHeader
        plaintext = result.plaintext
        trailer_size = max(0, length - header_size - len(plaintext))
        data_buf.BufferType, data_buf.cbBuffer, data_buf.pvBuffer = (
            SECBUFFER_STREAM_HEADER,
            header_size,
            bytes(received[:header_size]),
        )
        plain, trail = empties[0], empties[1]
        plain.BufferType, plain.cbBuffer, plain.pvBuffer = (
            SECBUFFER_DATA,
            len(plaintext),
            plaintext,
        )
        trail.BufferType, trail.cbBuffer, trail.pvBuffer = (
            SECBUFFER_STREAM_TRAILER,
            trailer_size,
            bytes(received[length - trailer_size : length]),
        )
        if length < size:
            extra = empties[2]
            extra.BufferType, extra.cbBuffer, extra.pvBuffer = (
                SECBUFFER_EXTRA,
                size - length,
                bytes(received[length:]),
            )
    if pfQOP is not None:
        pfQOP.value = 0
    return status


def _sizes(entry: ContextEntry) -> SecPkgContext_Sizes:
    stream = entry.pkg.stream_sizes()
    info: SecPkgInfo = entry.package.info
    return SecPkgContext_Sizes(
        info.cbMaxToken, 0, stream.cbBlockSize, stream.cbHeader + stream.cbTrailer
    )


def query_attributes(
    engine: Engine, phContext: object, ulAttribute: int, *, allocate: bool = True
) -> tuple[int, object | None]:
    """QueryContextAttributes (M3). PACKAGE_INFO answers at any time; the rest need a complete
    context (before that, ``SEC_E_INVALID_HANDLE``, our documented choice where Schannel's answer
    is not pinned).

    With ``allocate`` (the flat facade), the ``Bindings`` of ENDPOINT_BINDINGS/UNIQUE_BINDINGS is a
    package allocation the caller releases with FreeContextBuffer (case 29); the Pythonic layer
    passes ``False`` and gets plain bytes nobody has to free."""
    check_int("ulAttribute", ulAttribute)
    entry = engine.context(phContext)
    if entry is None:
        return S.SEC_E_INVALID_HANDLE, None
    if ulAttribute == SECPKG_ATTR_PACKAGE_INFO:
        return S.SEC_E_OK, SecPkgContext_PackageInfo(entry.package.info)
    if not entry.pkg.complete:
        return S.SEC_E_INVALID_HANDLE, None
    if ulAttribute == SECPKG_ATTR_STREAM_SIZES:
        return S.SEC_E_OK, copy.copy(entry.pkg.stream_sizes())  # the caller's own structure
    if ulAttribute == SECPKG_ATTR_SIZES:
        return S.SEC_E_OK, _sizes(entry)
    if ulAttribute == SECPKG_ATTR_NAMES:
        peer = entry.pkg.peer()
        name = (peer.name or peer.principal or "") if peer is not None else ""
        return S.SEC_E_OK, SecPkgContext_Names(name)
    try:
        value = entry.pkg.query(ulAttribute)
    except PackageError as exc:
        return exc.status, None
    if allocate and isinstance(value, SecPkgContext_Bindings):
        value.Bindings = _allocations.allocate(bytes(value.Bindings))
    return S.SEC_E_OK, value
