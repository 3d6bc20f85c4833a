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
from ..packages._records import split_records
from . import _allocations, _bufmap
from ._checks import check_int, check_optional, check_out_value
from ._engine import ContextEntry, Engine

__all__ = ("decrypt_message", "encrypt_message", "query_attributes")

S = SecurityStatus


_HEADER_TYPES = (SECBUFFER_STREAM_HEADER, SECBUFFER_TOKEN)
_TRAILER_TYPES = (SECBUFFER_STREAM_TRAILER, SECBUFFER_TOKEN)


def _kind(buf: SecBuffer) -> int:
    return buf.BufferType & 0x0FFFFFFF


def encrypt_message(
    engine: Engine, phContext: object, fQOP: int, pMessage: SecBufferDesc | None, MessageSeqNo: int
) -> int:
    """EncryptMessage (M1): ``[STREAM_HEADER, DATA, STREAM_TRAILER, EMPTY]`` become one record."""
    check_int("fQOP", fQOP)
    check_optional("pMessage", pMessage, SecBufferDesc)
    check_int("MessageSeqNo", MessageSeqNo)
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
    sizes = entry.pkg.stream_sizes()
    plaintext = data.data()
    if (
        len(plaintext) > sizes.cbMaximumMessage
        or header.cbBuffer < sizes.cbHeader
        or trailer.cbBuffer < sizes.cbTrailer
    ):
        return S.SEC_E_BUFFER_TOO_SMALL
    try:
        head, body, tail = entry.pkg.encrypt(plaintext)
    except PackageError as exc:
        return exc.status
    for buf, chunk in ((header, head), (data, body), (trailer, tail)):
        if len(chunk) > buf.cbBuffer and buf is not data:
            return S.SEC_E_BUFFER_TOO_SMALL
        if (
            buf.pvBuffer is not None
            and len(buf.pvBuffer) >= len(chunk)
            and _bufmap.write_buffer(buf, chunk, False) is None
        ):
            continue
        buf.pvBuffer = chunk
        buf.cbBuffer = len(chunk)
    return S.SEC_E_OK


def decrypt_message(
    engine: Engine, phContext: object, pMessage: SecBufferDesc | None, MessageSeqNo: int, pfQOP: Any
) -> int:
    """DecryptMessage (M2): one record per call, with EXTRA, MISSING and the post-handshake and
    close_notify informational statuses."""
    check_optional("pMessage", pMessage, SecBufferDesc)
    check_int("MessageSeqNo", MessageSeqNo)
    check_out_value("pfQOP", pfQOP)
    entry = engine.context(phContext)
    if entry is None:
        return S.SEC_E_INVALID_HANDLE
    if pMessage is None:
        return S.SEC_E_INVALID_TOKEN
    buffers = pMessage.pBuffers
    data_slots = [i for i, b in enumerate(buffers) if _kind(b) == SECBUFFER_DATA]
    empty_slots = [i for i, b in enumerate(buffers) if _kind(b) == SECBUFFER_EMPTY]
    if len(buffers) < 4 or len(data_slots) != 1 or len(empty_slots) < 3:
        return S.SEC_E_INVALID_TOKEN  # [36 a–d]
    data_buf = buffers[data_slots[0]]
    received = data_buf.data()
    if not _bufmap.header_plausible(received):
        return S.SEC_E_INVALID_TOKEN
    complete, missing = split_records(received)
    if complete == 0:
        # [37]: the DATA buffer and the first EMPTY one both become MISSING ("windows does it too").
        data_buf.BufferType, data_buf.cbBuffer = SECBUFFER_MISSING, missing
        first_empty = buffers[empty_slots[0]]
        first_empty.BufferType, first_empty.cbBuffer = SECBUFFER_MISSING, missing
        return S.SEC_E_INCOMPLETE_MESSAGE
    length = 5 + ((received[3] << 8) | received[4])
    record = received[:length]
    result = entry.pkg.decrypt(record)
    if result.status not in (S.SEC_E_OK, S.SEC_I_RENEGOTIATE, S.SEC_I_CONTEXT_EXPIRED):
        return result.status
    if result.status == S.SEC_I_RENEGOTIATE:
        entry.renegotiate = True
    header_size = entry.pkg.stream_sizes().cbHeader
    trailer_size = max(0, length - header_size - len(result.plaintext))
    data_buf.BufferType, data_buf.cbBuffer, data_buf.pvBuffer = (
        SECBUFFER_STREAM_HEADER,
        header_size,
        record[:header_size],
    )
    plain, trail = buffers[empty_slots[0]], buffers[empty_slots[1]]
    plain.BufferType, plain.cbBuffer, plain.pvBuffer = (
        SECBUFFER_DATA,
        len(result.plaintext),
        result.plaintext,
    )
    trail.BufferType, trail.cbBuffer, trail.pvBuffer = (
        SECBUFFER_STREAM_TRAILER,
        trailer_size,
        record[length - trailer_size :],
    )
    if length < len(received):
        extra = buffers[empty_slots[2]]
        extra.BufferType, extra.cbBuffer, extra.pvBuffer = (
            SECBUFFER_EXTRA,
            len(received) - length,
            received[length:],
        )
    if pfQOP is not None:
        pfQOP.value = 0
    return result.status


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
