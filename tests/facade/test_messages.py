"""Message rules M1–M5 through the classic functions of the flat facade, on SimTLS (SPEC §5;
reference §6.3–§6.5, §7 and cases 35–38, 43–49).

Plain synchronous tests: the classic functions run on the process-wide default emulator.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

import pytest

from sspi_async.sspi import (
    ISC_REQ_ALLOCATE_MEMORY,
    SCHANNEL_ALERT,
    SCHANNEL_RENEGOTIATE,
    SCHANNEL_SHUTDOWN,
    SEC_E_BUFFER_TOO_SMALL,
    SEC_E_DECRYPT_FAILURE,
    SEC_E_INCOMPLETE_MESSAGE,
    SEC_E_INTERNAL_ERROR,
    SEC_E_INVALID_HANDLE,
    SEC_E_INVALID_TOKEN,
    SEC_E_MESSAGE_ALTERED,
    SEC_E_OK,
    SEC_E_UNSUPPORTED_FUNCTION,
    SEC_I_CONTEXT_EXPIRED,
    SEC_I_CONTINUE_NEEDED,
    SEC_I_RENEGOTIATE,
    SEC_SUCCESS,
    SECBUFFER_ALERT,
    SECBUFFER_DATA,
    SECBUFFER_EMPTY,
    SECBUFFER_EXTRA,
    SECBUFFER_MISSING,
    SECBUFFER_STREAM_HEADER,
    SECBUFFER_STREAM_TRAILER,
    SECBUFFER_TOKEN,
    SECPKG_ATTR_CIPHER_INFO,
    SECPKG_ATTR_CONNECTION_INFO,
    SECPKG_ATTR_NAMES,
    SECPKG_ATTR_NEGOTIATION_INFO,
    SECPKG_ATTR_PACKAGE_INFO,
    SECPKG_ATTR_SIZES,
    SECPKG_ATTR_STREAM_SIZES,
    SECURITY_NATIVE_DREP,
    TLS1_ALERT_BAD_CERTIFICATE,
    TLS1_ALERT_FATAL,
    ULONG,
    AcceptSecurityContext,
    ApplyControlToken,
    CredHandle,
    CtxtHandle,
    DecryptMessage,
    DeleteSecurityContext,
    EncryptMessage,
    FreeContextBuffer,
    InitializeSecurityContext,
    QueryContextAttributes,
    QuerySecurityPackageInfo,
    SecBuffer,
    SecBufferDesc,
    SspiMisuseError,
)
from tests.facade.helpers import (
    CONTENT_APPLICATION_DATA,
    CONTENT_HANDSHAKE,
    ISC_FLAGS,
    SERVER_NAME,
    ClassicForm,
    Connection,
    acquire_pair,
    client_auth,
    connect,
    copy_handle,
    decrypt,
    decrypt_desc,
    encrypt,
    is_single_record,
    output_bytes,
    plaintext_of,
    record_length_field,
    run_sync,
    sentinel_handle,
    server_auth,
    stream_buffers,
    token_in,
    token_out,
)

CLOSE_NOTIFY = bytes.fromhex("15 03 03 00 02 01 00")
BAD_CERTIFICATE_ALERT = bytes.fromhex("15 03 03 00 02 02 2a")
#: E4: after the handshake SimTLS protects its alerts: type 21, a 2-byte alert and a 32-byte HMAC.
PROTECTED_ALERT_HEADER = bytes.fromhex("15 03 03 00 22")


def is_alert_record(record: bytes, plaintext: bytes, complete: bool) -> bool:
    """``plaintext`` before the handshake completed (T9, Wine's cases); once keys are in use, one
    protected alert record instead (E4: never a plaintext record then)."""
    if not complete:
        return record == plaintext
    return record.startswith(PROTECTED_ALERT_HEADER) and len(record) == 5 + 2 + 32


@pytest.fixture
def conn() -> Iterator[Connection]:
    """A complete rounds=1 connection alice → server; both contexts deleted afterwards."""
    connection = connect()
    yield connection
    DeleteSecurityContext(connection.cctx)
    DeleteSecurityContext(connection.sctx)


def control(*words: int, size: int | None = None) -> SecBufferDesc:
    """An ApplyControlToken input: one TOKEN buffer holding little-endian DWORDs."""
    raw = struct.pack(f"<{len(words)}I", *words)
    if size is not None:
        raw = (raw + bytes(size))[:size]
    return SecBufferDesc([SecBuffer.of(SECBUFFER_TOKEN, raw)])


def client_after_hello() -> tuple[CredHandle, CtxtHandle]:
    """A client context that has only produced its ClientHello (as in Wine's shutdown test)."""
    ccred, _ = run_sync(acquire_pair(ClassicForm()))
    new = CtxtHandle()
    status = InitializeSecurityContext(
        ccred,
        None,
        SERVER_NAME,
        ISC_FLAGS,
        0,
        SECURITY_NATIVE_DREP,
        None,
        0,
        new,
        token_out(),
        None,
    )
    assert status == SEC_I_CONTINUE_NEEDED
    return ccred, new


@pytest.fixture(params=["after_client_hello", "complete"])
def client_ctx(request: pytest.FixtureRequest) -> tuple[CredHandle, CtxtHandle]:
    """A client context only after the ClientHello (Wine's case) or a complete one."""
    if request.param == "after_client_hello":
        return client_after_hello()
    connection = connect()
    return connection.client.cred, connection.cctx


def isc(
    cred: CredHandle,
    ctx: CtxtHandle,
    pInput: SecBufferDesc | None,
    new: CtxtHandle,
    out: SecBufferDesc,
    flags: int = 0,
) -> int:
    """A continuation ISC as Wine's shutdown test makes it: no target name, flags 0."""
    return InitializeSecurityContext(
        cred, ctx, None, flags, 0, SECURITY_NATIVE_DREP, pInput, 0, new, out, None
    )


# --------------------------------------------------------------------------- M1


@pytest.mark.parametrize("size", [0, 1, 100, 16384])
def test_M1_encrypt_produces_exactly_one_tls_record(conn: Connection, size: int) -> None:
    """M1 [35]: EncryptMessage → header + data + trailer is exactly one TLS record."""
    plaintext = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
    status, sizes = QueryContextAttributes(conn.cctx, SECPKG_ATTR_STREAM_SIZES)
    assert status == SEC_E_OK
    desc = stream_buffers(conn.cctx, plaintext)
    assert EncryptMessage(conn.cctx, 0, desc, 0) == SEC_E_OK
    header, data, trailer = desc.pBuffers[:3]
    assert header.BufferType == SECBUFFER_STREAM_HEADER
    assert data.BufferType == SECBUFFER_DATA
    assert trailer.BufferType == SECBUFFER_STREAM_TRAILER
    assert header.cbBuffer == sizes.cbHeader
    assert trailer.cbBuffer <= sizes.cbTrailer
    wire = header.data() + data.data() + trailer.data()
    assert is_single_record(wire, CONTENT_APPLICATION_DATA)
    assert len(wire) <= sizes.cbHeader + size + sizes.cbTrailer
    status, out = decrypt(conn.sctx, wire)
    assert status == SEC_E_OK
    assert plaintext_of(out) == plaintext


def test_M1_encrypt_in_place_into_one_contiguous_buffer(conn: Connection) -> None:
    """M1 [35]: with contiguous buffers the record is written in place."""
    status, sizes = QueryContextAttributes(conn.sctx, SECPKG_ATTR_STREAM_SIZES)
    assert status == SEC_E_OK
    message = b"contiguous message"
    backing = bytearray(sizes.cbHeader + len(message) + sizes.cbTrailer)
    view = memoryview(backing)
    h, d = sizes.cbHeader, sizes.cbHeader + len(message)
    view[h:d] = message
    desc = SecBufferDesc(
        [
            SecBuffer(SECBUFFER_STREAM_HEADER, sizes.cbHeader, view[:h]),
            SecBuffer(SECBUFFER_DATA, len(message), view[h:d]),
            SecBuffer(SECBUFFER_STREAM_TRAILER, sizes.cbTrailer, view[d:]),
            SecBuffer(SECBUFFER_EMPTY),
        ]
    )
    assert EncryptMessage(conn.sctx, 0, desc, 0) == SEC_E_OK
    total = sum(b.cbBuffer for b in desc.pBuffers[:3])
    wire = bytes(backing[:total])
    assert is_single_record(wire, CONTENT_APPLICATION_DATA)
    status, out = decrypt(conn.cctx, wire)
    assert status == SEC_E_OK
    assert plaintext_of(out) == message


def test_M1_encrypt_without_data_buffer_is_invalid_token(conn: Connection) -> None:
    """M1: EncryptMessage without a DATA buffer → SEC_E_INVALID_TOKEN."""
    desc = SecBufferDesc(
        [
            SecBuffer(SECBUFFER_STREAM_HEADER, 5, bytearray(5)),
            SecBuffer(SECBUFFER_STREAM_TRAILER, 64, bytearray(64)),
            SecBuffer(SECBUFFER_EMPTY),
            SecBuffer(SECBUFFER_EMPTY),
        ]
    )
    assert EncryptMessage(conn.cctx, 0, desc, 0) == SEC_E_INVALID_TOKEN


def test_M1_encrypt_data_larger_than_maximum_message_is_buffer_too_small(
    conn: Connection,
) -> None:
    """M1: DATA over cbMaximumMessage → SEC_E_BUFFER_TOO_SMALL, no record."""
    status, sizes = QueryContextAttributes(conn.cctx, SECPKG_ATTR_STREAM_SIZES)
    assert status == SEC_E_OK
    desc = stream_buffers(conn.cctx, b"a" * (sizes.cbMaximumMessage + 1))
    assert EncryptMessage(conn.cctx, 0, desc, 0) == SEC_E_BUFFER_TOO_SMALL
    assert desc.pBuffers[0].data() == bytes(sizes.cbHeader)


@pytest.mark.parametrize("short", ["header", "trailer"])
def test_M1_encrypt_with_a_short_header_or_trailer_is_buffer_too_small(
    conn: Connection, short: str
) -> None:
    """M1: a STREAM_HEADER or STREAM_TRAILER too small → SEC_E_BUFFER_TOO_SMALL."""
    desc = stream_buffers(conn.cctx, b"payload")
    index = 0 if short == "header" else 2
    buf = desc.pBuffers[index]
    buf.cbBuffer -= 1
    buf.pvBuffer = bytearray(buf.cbBuffer)
    assert EncryptMessage(conn.cctx, 0, desc, 0) == SEC_E_BUFFER_TOO_SMALL
    assert desc.pBuffers[1].data() == b"payload"


def test_M1_encrypt_before_the_handshake_completed_fails_without_a_record() -> None:
    """M1: EncryptMessage before the handshake completed → a failure status, no record."""
    _, ctx = client_after_hello()
    desc = SecBufferDesc(
        [
            SecBuffer(SECBUFFER_STREAM_HEADER, 5, bytearray(5)),
            SecBuffer.of(SECBUFFER_DATA, bytearray(b"too early")),
            SecBuffer(SECBUFFER_STREAM_TRAILER, 256, bytearray(256)),
            SecBuffer(SECBUFFER_EMPTY),
        ]
    )
    status = EncryptMessage(ctx, 0, desc, 0)
    assert not SEC_SUCCESS(status)
    assert desc.pBuffers[0].data() == bytes(5)
    assert desc.pBuffers[1].data() == b"too early"
    assert DeleteSecurityContext(ctx) == SEC_E_OK


@pytest.mark.parametrize(
    "handle", [None, CtxtHandle(), CtxtHandle(0x1234, 1)], ids=["NULL", "invalid", "unknown"]
)
def test_M1_encrypt_with_an_unknown_handle_is_invalid_handle(
    conn: Connection, handle: CtxtHandle | None
) -> None:
    """M1: EncryptMessage with a NULL, invalid or unknown handle → SEC_E_INVALID_HANDLE."""
    desc = stream_buffers(conn.cctx, b"x")
    assert EncryptMessage(handle, 0, desc, 0) == SEC_E_INVALID_HANDLE


# --------------------------------------------------------------------------- M2


def _layout(kinds: list[int], record: bytes) -> SecBufferDesc:
    return SecBufferDesc(
        [
            SecBuffer.of(kind, bytearray(record)) if kind == SECBUFFER_DATA else SecBuffer(kind)
            for kind in kinds
        ]
    )


@pytest.mark.parametrize(
    "kinds",
    [
        [SECBUFFER_DATA, SECBUFFER_EMPTY, SECBUFFER_EMPTY],
        [SECBUFFER_EMPTY, SECBUFFER_EMPTY, SECBUFFER_EMPTY, SECBUFFER_EMPTY],
        [SECBUFFER_DATA, SECBUFFER_DATA, SECBUFFER_EMPTY, SECBUFFER_EMPTY],
        [SECBUFFER_DATA, SECBUFFER_EXTRA, SECBUFFER_EMPTY, SECBUFFER_EMPTY],
    ],
    ids=["36a-three-buffers", "36b-no-data", "36c-two-data", "36d-two-empty"],
)
def test_M2_decrypt_buffer_validation_is_invalid_token(conn: Connection, kinds: list[int]) -> None:
    """M2 [36 a–d]: a bad DecryptMessage buffer layout → SEC_E_INVALID_TOKEN."""
    record = encrypt(conn.cctx, b"valid record")
    assert DecryptMessage(conn.sctx, _layout(kinds, record), 0, None) == SEC_E_INVALID_TOKEN
    status, desc = decrypt(conn.sctx, record)
    assert status == SEC_E_OK
    assert plaintext_of(desc) == b"valid record"


def test_M2_decrypt_layout_with_extra_then_the_extra_record(conn: Connection) -> None:
    """M2: one record per call, [STREAM_HEADER, DATA, STREAM_TRAILER, EXTRA] after success."""
    first = encrypt(conn.cctx, b"first")
    second = encrypt(conn.cctx, b"second!")
    pfQOP = ULONG(0xFFFF)
    desc = decrypt_desc(first + second)
    assert DecryptMessage(conn.sctx, desc, 0, pfQOP) == SEC_E_OK
    kinds = [b.BufferType for b in desc.pBuffers]
    assert kinds == [
        SECBUFFER_STREAM_HEADER,
        SECBUFFER_DATA,
        SECBUFFER_STREAM_TRAILER,
        SECBUFFER_EXTRA,
    ]
    assert desc.pBuffers[0].cbBuffer == 5
    assert desc.pBuffers[1].data() == b"first"
    assert desc.pBuffers[3].cbBuffer == len(second)
    assert pfQOP.value == 0
    tail = (first + second)[-desc.pBuffers[3].cbBuffer :]
    status, desc2 = decrypt(conn.sctx, tail)
    assert status == SEC_E_OK
    assert [b.BufferType for b in desc2.pBuffers] == [
        SECBUFFER_STREAM_HEADER,
        SECBUFFER_DATA,
        SECBUFFER_STREAM_TRAILER,
        SECBUFFER_EMPTY,
    ]
    assert plaintext_of(desc2) == b"second!"


@pytest.mark.parametrize("keep", ["length-field", "three-bytes"])
def test_M2_partial_record_is_incomplete_with_missing(conn: Connection, keep: str) -> None:
    """M2 [37]: a partial record → SEC_E_INCOMPLETE_MESSAGE with buffer[0] MISSING."""
    record = encrypt(conn.cctx, b"hello, partial world")
    cut = record_length_field(record) if keep == "length-field" else 3
    desc = decrypt_desc(record[:cut])
    assert DecryptMessage(conn.sctx, desc, 0, None) == SEC_E_INCOMPLETE_MESSAGE
    assert desc.pBuffers[0].BufferType == SECBUFFER_MISSING
    expected = 5 if keep == "length-field" else 5 - cut  # the rest of the header when it is cut
    assert desc.pBuffers[0].cbBuffer == expected
    status, out = decrypt(conn.sctx, record)
    assert status == SEC_E_OK
    assert plaintext_of(out) == b"hello, partial world"


@pytest.mark.parametrize("where", [5, -1], ids=["body", "mac"])
def test_M2_tampered_record_is_message_altered(conn: Connection, where: int) -> None:
    """M2: a tampered record → SEC_E_MESSAGE_ALTERED (or DECRYPT_FAILURE), no plaintext."""
    record = bytearray(encrypt(conn.cctx, b"integrity matters"))
    record[where] ^= 0x01
    status, desc = decrypt(conn.sctx, bytes(record))
    assert status in (SEC_E_MESSAGE_ALTERED, SEC_E_DECRYPT_FAILURE)
    assert all(b.data() != b"integrity matters" for b in desc.pBuffers)


def test_M2_close_notify_is_context_expired(conn: Connection) -> None:
    """M2: the peer's close_notify → DecryptMessage returns SEC_I_CONTEXT_EXPIRED."""
    assert ApplyControlToken(conn.sctx, control(SCHANNEL_SHUTDOWN)) == SEC_E_OK
    out = token_out(1000)
    status = AcceptSecurityContext(
        conn.server.cred, conn.sctx, None, 0, SECURITY_NATIVE_DREP, sentinel_handle(), out, None
    )
    assert status == SEC_E_OK
    assert is_alert_record(output_bytes(out), CLOSE_NOTIFY, complete=True)
    status, _ = decrypt(conn.cctx, output_bytes(out))
    assert status == SEC_I_CONTEXT_EXPIRED


def test_M2_session_ticket_is_renegotiate_then_isc_without_input_is_ok() -> None:
    """M2: ticket → SEC_I_RENEGOTIATE; ISC(pInput None) → SEC_E_OK, no output; data flows on."""
    connection = connect(server=server_auth(session_tickets=True))
    ticket = connection.leftover
    assert is_single_record(ticket, CONTENT_HANDSHAKE)
    status, desc = decrypt(connection.cctx, ticket)
    assert status == SEC_I_RENEGOTIATE
    data = next(b for b in desc.pBuffers if b.BufferType == SECBUFFER_DATA)
    assert data.cbBuffer == 0
    out = token_out(1000)
    new = sentinel_handle()
    status = isc(connection.client.cred, connection.cctx, None, new, out)
    assert status == SEC_E_OK
    assert out.pBuffers[0].cbBuffer == 0
    assert new == connection.cctx
    status, desc = decrypt(connection.cctx, encrypt(connection.sctx, b"after the ticket"))
    assert status == SEC_E_OK
    assert plaintext_of(desc) == b"after the ticket"


def test_M2_session_ticket_followed_by_data_passes_extra_to_isc() -> None:
    """M2: ticket + data → RENEGOTIATE with EXTRA; ISC(EXTRA) → OK, EXTRA back; it decrypts."""
    connection = connect(server=server_auth(session_tickets=True))
    record = encrypt(connection.sctx, b"data after ticket")
    received = connection.leftover + record
    status, desc = decrypt(connection.cctx, received)
    assert status == SEC_I_RENEGOTIATE
    assert desc.pBuffers[3].BufferType == SECBUFFER_EXTRA
    assert desc.pBuffers[3].cbBuffer == len(record)
    extra = received[-desc.pBuffers[3].cbBuffer :]
    pInput = token_in(extra)
    out = token_out(1000)
    status = isc(connection.client.cred, connection.cctx, pInput, sentinel_handle(), out)
    assert status == SEC_E_OK
    assert out.pBuffers[0].cbBuffer == 0
    assert pInput.pBuffers[1].BufferType == SECBUFFER_EXTRA
    assert pInput.pBuffers[1].cbBuffer == len(record)
    status, desc = decrypt(connection.cctx, extra[-pInput.pBuffers[1].cbBuffer :])
    assert status == SEC_E_OK
    assert plaintext_of(desc) == b"data after ticket"


def test_M2_isc_after_renegotiate_with_a_partial_record_returns_it_as_extra() -> None:
    """M2: ISC after SEC_I_RENEGOTIATE with the EXTRA bytes of a *partial* data record → SEC_E_OK
    with those bytes back as EXTRA (not SEC_E_INCOMPLETE_MESSAGE)."""
    connection = connect(server=server_auth(session_tickets=True))
    partial = encrypt(connection.sctx, b"data after ticket")[:7]
    status, desc = decrypt(connection.cctx, connection.leftover + partial)
    assert status == SEC_I_RENEGOTIATE
    assert desc.pBuffers[3].cbBuffer == len(partial)
    pInput = token_in(partial)
    out = token_out(1000)
    status = isc(connection.client.cred, connection.cctx, pInput, sentinel_handle(), out)
    assert status == SEC_E_OK
    assert out.pBuffers[0].cbBuffer == 0
    assert pInput.pBuffers[1].BufferType == SECBUFFER_EXTRA
    assert pInput.pBuffers[1].cbBuffer == len(partial)


def test_M2_ticket_after_the_tls12_server_finished_comes_back_as_extra() -> None:
    """M2/T6: a ticket after the rounds=2 server Finished is EXTRA and decrypts as RENEGOTIATE."""
    connection = connect(client=client_auth(rounds=2), server=server_auth(session_tickets=True))
    final = connection.client.steps[-1]
    assert final.status == SEC_E_OK
    assert final.extra
    assert is_single_record(final.extra, CONTENT_HANDSHAKE)
    status, _ = decrypt(connection.cctx, final.extra)
    assert status == SEC_I_RENEGOTIATE


# --------------------------------------------------------------------------- M3


def test_M3_stream_sizes_fields(conn: Connection) -> None:
    """M3: STREAM_SIZES has the TLS header, a trailer, 16384-byte messages and 4 buffers."""
    status, sizes = QueryContextAttributes(conn.cctx, SECPKG_ATTR_STREAM_SIZES)
    assert status == SEC_E_OK
    assert sizes.cbHeader == 5
    assert sizes.cbTrailer > 0
    assert sizes.cbMaximumMessage == 16384
    assert sizes.cBuffers == 4
    assert sizes.cbBlockSize >= 1


def test_M3_names_are_the_peers_principal(conn: Connection) -> None:
    """M3: NAMES is "alice" on the server and "server" on the client."""
    status, names = QueryContextAttributes(conn.sctx, SECPKG_ATTR_NAMES)
    assert status == SEC_E_OK
    assert names.sUserName == "alice"
    status, names = QueryContextAttributes(conn.cctx, SECPKG_ATTR_NAMES)
    assert status == SEC_E_OK
    assert names.sUserName == "server"


def test_M3_sizes_and_package_info(conn: Connection) -> None:
    """M3: SIZES carries the package cbMaxToken; PACKAGE_INFO names "SimTLS"."""
    status, info = QuerySecurityPackageInfo("SimTLS")
    assert status == SEC_E_OK
    status, sizes = QueryContextAttributes(conn.sctx, SECPKG_ATTR_SIZES)
    assert status == SEC_E_OK
    assert sizes.cbMaxToken == info.cbMaxToken
    assert sizes.cbSecurityTrailer > 0
    status, package = QueryContextAttributes(conn.sctx, SECPKG_ATTR_PACKAGE_INFO)
    assert status == SEC_E_OK
    assert package.PackageInfo.Name == "SimTLS"


@pytest.mark.parametrize(("client_version", "expected"), [(0x0304, 0x0304), (0x0303, 0x0303)])
def test_M3_cipher_info_reports_the_wire_version(client_version: int, expected: int) -> None:
    """M3: CIPHER_INFO dwProtocol is the negotiated wire version; CONNECTION_INFO answers."""
    connection = connect(client=client_auth(tls_version_bytes=client_version))
    for ctx in (connection.cctx, connection.sctx):
        status, info = QueryContextAttributes(ctx, SECPKG_ATTR_CIPHER_INFO)
        assert status == SEC_E_OK
        assert info.dwProtocol == expected
        assert info.szCipherSuite
        status, _ = QueryContextAttributes(ctx, SECPKG_ATTR_CONNECTION_INFO)
        assert status == SEC_E_OK


def test_M3_unsupported_attribute(conn: Connection) -> None:
    """M3 [33]: NEGOTIATION_INFO → (SEC_E_UNSUPPORTED_FUNCTION, None)."""
    assert QueryContextAttributes(conn.cctx, SECPKG_ATTR_NEGOTIATION_INFO) == (
        SEC_E_UNSUPPORTED_FUNCTION,
        None,
    )


def test_M3_deleted_or_unknown_handle() -> None:
    """M3 [34]: a deleted or never-issued handle → (SEC_E_INVALID_HANDLE, None)."""
    connection = connect()
    ctx = copy_handle(connection.sctx)
    assert DeleteSecurityContext(ctx) == SEC_E_OK
    for attribute in (SECPKG_ATTR_STREAM_SIZES, SECPKG_ATTR_NAMES, SECPKG_ATTR_PACKAGE_INFO):
        assert QueryContextAttributes(ctx, attribute) == (SEC_E_INVALID_HANDLE, None)
        assert QueryContextAttributes(CtxtHandle(7, 7), attribute) == (SEC_E_INVALID_HANDLE, None)
    DeleteSecurityContext(connection.cctx)


# --------------------------------------------------------------------------- M4


@pytest.mark.parametrize("second", [SECBUFFER_TOKEN, SECBUFFER_EMPTY], ids=["token", "empty"])
def test_M4_two_buffers_are_invalid_token(
    client_ctx: tuple[CredHandle, CtxtHandle], second: int
) -> None:
    """M4 [43]: ApplyControlToken with two buffers → SEC_E_INVALID_TOKEN."""
    _, ctx = client_ctx
    raw = struct.pack("<I", SCHANNEL_SHUTDOWN)
    desc = SecBufferDesc([SecBuffer.of(SECBUFFER_TOKEN, raw), SecBuffer.of(second, raw)])
    assert ApplyControlToken(ctx, desc) == SEC_E_INVALID_TOKEN


def test_M4_renegotiate_is_unsupported(client_ctx: tuple[CredHandle, CtxtHandle]) -> None:
    """M4 [44]: SCHANNEL_RENEGOTIATE → SEC_E_UNSUPPORTED_FUNCTION."""
    _, ctx = client_ctx
    assert ApplyControlToken(ctx, control(SCHANNEL_RENEGOTIATE)) == SEC_E_UNSUPPORTED_FUNCTION


@pytest.mark.parametrize("handle", [None, CtxtHandle(), CtxtHandle(99, 1)])
def test_M4_null_or_unknown_context_is_invalid_handle(handle: CtxtHandle | None) -> None:
    """M4 [45]: ApplyControlToken on a NULL or unknown context → SEC_E_INVALID_HANDLE."""
    assert ApplyControlToken(handle, control(SCHANNEL_SHUTDOWN)) == SEC_E_INVALID_HANDLE


def test_M4_null_input_is_internal_error(client_ctx: tuple[CredHandle, CtxtHandle]) -> None:
    """M4 [45]: ApplyControlToken with pInput None → SEC_E_INTERNAL_ERROR."""
    _, ctx = client_ctx
    assert ApplyControlToken(ctx, None) == SEC_E_INTERNAL_ERROR


@pytest.mark.parametrize("kind", [SECBUFFER_ALERT, SECBUFFER_DATA], ids=["alert", "data"])
def test_M4_non_token_buffer_is_invalid_token(
    client_ctx: tuple[CredHandle, CtxtHandle], kind: int
) -> None:
    """M4 [46]: a SECBUFFER_ALERT or SECBUFFER_DATA control buffer → SEC_E_INVALID_TOKEN."""
    _, ctx = client_ctx
    desc = SecBufferDesc([SecBuffer.of(kind, struct.pack("<I", SCHANNEL_SHUTDOWN))])
    assert ApplyControlToken(ctx, desc) == SEC_E_INVALID_TOKEN


def test_M4_short_token_is_unsupported(client_ctx: tuple[CredHandle, CtxtHandle]) -> None:
    """M4 [46]: a 2-byte control TOKEN → SEC_E_UNSUPPORTED_FUNCTION."""
    _, ctx = client_ctx
    assert ApplyControlToken(ctx, control(SCHANNEL_SHUTDOWN, size=2)) == SEC_E_UNSUPPORTED_FUNCTION


def test_M4_shutdown_is_ok_and_idempotent(client_ctx: tuple[CredHandle, CtxtHandle]) -> None:
    """M4 [46]: SCHANNEL_SHUTDOWN in a 5-byte TOKEN → SEC_E_OK, twice."""
    _, ctx = client_ctx
    assert ApplyControlToken(ctx, control(SCHANNEL_SHUTDOWN, size=5)) == SEC_E_OK
    assert ApplyControlToken(ctx, control(SCHANNEL_SHUTDOWN, size=5)) == SEC_E_OK


@pytest.mark.parametrize(
    "make_input",
    [
        lambda: None,
        lambda: SecBufferDesc([SecBuffer(SECBUFFER_EMPTY)]),
        lambda: SecBufferDesc([SecBuffer(SECBUFFER_TOKEN, 0, None)]),
        lambda: SecBufferDesc([SecBuffer.of(SECBUFFER_TOKEN, b"\x17\x03\x03\x00\x01x")]),
    ],
    ids=["null", "empty", "empty-token", "token-with-bytes"],
)
def test_M4_after_shutdown_next_isc_emits_close_notify(
    client_ctx: tuple[CredHandle, CtxtHandle], make_input: object, request: pytest.FixtureRequest
) -> None:
    """M4 [47, 48]: after SHUTDOWN the next ISC emits close_notify (protected once complete,
    E4); the one after is INCOMPLETE."""
    cred, ctx = client_ctx
    complete = request.node.callspec.params["client_ctx"] == "complete"
    assert ApplyControlToken(ctx, control(SCHANNEL_SHUTDOWN, size=5)) == SEC_E_OK
    out = token_out(1000)
    new = sentinel_handle()
    assert callable(make_input)
    assert isc(cred, ctx, make_input(), new, out) == SEC_E_OK
    assert is_alert_record(output_bytes(out), CLOSE_NOTIFY, complete)
    assert new == ctx
    out = token_out(1000)
    new = sentinel_handle()
    assert isc(cred, ctx, None, new, out) == SEC_E_INCOMPLETE_MESSAGE
    assert out.pBuffers[0].cbBuffer == 1000
    assert new == sentinel_handle()


def test_M4_shutdown_with_allocate_memory_allocates_the_alert(
    client_ctx: tuple[CredHandle, CtxtHandle], request: pytest.FixtureRequest
) -> None:
    """M4 [47]: the close_notify honours ISC_REQ_ALLOCATE_MEMORY."""
    cred, ctx = client_ctx
    complete = request.node.callspec.params["client_ctx"] == "complete"
    assert ApplyControlToken(ctx, control(SCHANNEL_SHUTDOWN)) == SEC_E_OK
    out = SecBufferDesc([SecBuffer(SECBUFFER_TOKEN, 0, None)])
    assert isc(cred, ctx, None, sentinel_handle(), out, flags=ISC_REQ_ALLOCATE_MEMORY) == SEC_E_OK
    assert is_alert_record(output_bytes(out), CLOSE_NOTIFY, complete)
    assert FreeContextBuffer(out.pBuffers[0].pvBuffer) == SEC_E_OK


def test_M4_alert_token_emits_that_alert(
    client_ctx: tuple[CredHandle, CtxtHandle], request: pytest.FixtureRequest
) -> None:
    """M4 [49]: SCHANNEL_ALERT_TOKEN → the next ISC emits exactly 15 03 03 00 02 02 2a (before
    the handshake completed; one protected alert record after it, E4)."""
    cred, ctx = client_ctx
    complete = request.node.callspec.params["client_ctx"] == "complete"
    token = control(SCHANNEL_ALERT, TLS1_ALERT_FATAL, TLS1_ALERT_BAD_CERTIFICATE)
    assert token.pBuffers[0].cbBuffer == 12
    assert ApplyControlToken(ctx, token) == SEC_E_OK
    out = token_out(1000)
    new = sentinel_handle()
    assert isc(cred, ctx, None, new, out) == SEC_E_OK
    assert is_alert_record(output_bytes(out), BAD_CERTIFICATE_ALERT, complete)
    assert new == ctx


def test_M4_server_shutdown_emits_close_notify_from_asc(conn: Connection) -> None:
    """M4: SHUTDOWN on a complete server context → the next ASC emits close_notify."""
    assert ApplyControlToken(conn.sctx, control(SCHANNEL_SHUTDOWN)) == SEC_E_OK
    out = token_out(1000)
    new = sentinel_handle()
    status = AcceptSecurityContext(
        conn.server.cred, conn.sctx, None, 0, SECURITY_NATIVE_DREP, new, out, None
    )
    assert status == SEC_E_OK
    assert is_alert_record(output_bytes(out), CLOSE_NOTIFY, complete=True)
    status, _ = decrypt(conn.cctx, output_bytes(out))
    assert status == SEC_I_CONTEXT_EXPIRED
    assert new == conn.sctx


# --------------------------------------------------------------------------- M5


def _allocated_token() -> bytearray:
    ccred, _ = run_sync(acquire_pair(ClassicForm()))
    out = SecBufferDesc([SecBuffer(SECBUFFER_TOKEN, 0, None)])
    status = InitializeSecurityContext(
        ccred,
        None,
        SERVER_NAME,
        ISC_FLAGS | ISC_REQ_ALLOCATE_MEMORY,
        0,
        SECURITY_NATIVE_DREP,
        None,
        0,
        CtxtHandle(),
        out,
        None,
    )
    assert status == SEC_I_CONTINUE_NEEDED
    buffer = out.pBuffers[0].pvBuffer
    assert isinstance(buffer, bytearray)
    return buffer


def test_M5_free_context_buffer_on_a_package_allocation_is_ok() -> None:
    """M5: FreeContextBuffer on a package allocation → SEC_E_OK."""
    assert FreeContextBuffer(_allocated_token()) == SEC_E_OK


def test_M5_freeing_twice_is_misuse() -> None:
    """M5: FreeContextBuffer twice on the same allocation → SspiMisuseError."""
    buffer = _allocated_token()
    assert FreeContextBuffer(buffer) == SEC_E_OK
    with pytest.raises(SspiMisuseError, match="FreeContextBuffer"):
        FreeContextBuffer(buffer)


@pytest.mark.parametrize("foreign", [bytearray(b"mine"), b"bytes"], ids=["bytearray", "bytes"])
def test_M5_freeing_a_foreign_object_is_misuse(foreign: object) -> None:
    """M5: FreeContextBuffer on an object the package did not allocate → SspiMisuseError."""
    with pytest.raises(SspiMisuseError, match="FreeContextBuffer"):
        FreeContextBuffer(foreign)


def test_M5_freeing_null_is_misuse() -> None:
    """M5: FreeContextBuffer(None), not a package allocation → SspiMisuseError."""
    with pytest.raises(SspiMisuseError, match="FreeContextBuffer"):
        FreeContextBuffer(None)


def test_M5_freeing_the_callers_own_output_buffer_is_misuse() -> None:
    """M5: FreeContextBuffer on the caller's own output bytearray → SspiMisuseError."""
    ccred, _ = run_sync(acquire_pair(ClassicForm()))
    mine = bytearray(8192)
    out = SecBufferDesc([SecBuffer(SECBUFFER_TOKEN, 8192, mine)])
    status = InitializeSecurityContext(
        ccred,
        None,
        SERVER_NAME,
        ISC_FLAGS,
        0,
        SECURITY_NATIVE_DREP,
        None,
        0,
        CtxtHandle(),
        out,
        None,
    )
    assert status == SEC_I_CONTINUE_NEEDED
    assert out.pBuffers[0].pvBuffer is mine
    with pytest.raises(SspiMisuseError):
        FreeContextBuffer(mine)
