"""Message rules M1–M5 on the real Schannel package through the flat facade (SPEC §5; reference
§6.3–§6.5, §7 and cases 28–38, 43–49), on TLS 1.3 and TLS 1.2.

The handshakes run through the classic functions (plain synchronous tests on the process-wide
default emulator) unless a test says it uses the async ones.
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
    SEC_E_INCOMPLETE_MESSAGE,
    SEC_E_INTERNAL_ERROR,
    SEC_E_INVALID_HANDLE,
    SEC_E_INVALID_PARAMETER,
    SEC_E_INVALID_TOKEN,
    SEC_E_MESSAGE_ALTERED,
    SEC_E_OK,
    SEC_E_QOP_NOT_SUPPORTED,
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
    SECPKG_ATTR_STREAM_SIZES,
    SECURITY_NATIVE_DREP,
    TLS1_ALERT_BAD_CERTIFICATE,
    TLS1_ALERT_FATAL,
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
    SecBuffer,
    SecBufferDesc,
    SspiMisuseError,
)
from tests.facade.helpers import (
    ISC_FLAGS,
    ClassicForm,
    Connection,
    Side,
    decrypt,
    decrypt_desc,
    encrypt,
    open_form,
    output_bytes,
    plaintext_of,
    record_length_field,
    run_sync,
    sentinel_handle,
    stream_buffers,
    token_in,
    token_out,
)
from tests.facade.schannel_helpers import (
    BAD_CERTIFICATE_PLAIN,
    CLOSE_NOTIFY_PLAIN,
    TARGET,
    client_after_hello,
    connect,
    connected,
    make_connection,
    read_tickets,
    records,
)

HEADER_TRAILER = {"tls13": (5, 17), "tls12": (13, 16)}


@pytest.fixture(params=["tls13", "tls12"])
def tls(request: pytest.FixtureRequest) -> str:
    """Run the test on TLS 1.3 and on TLS 1.2."""
    return str(request.param)


@pytest.fixture
def conn(tls: str) -> Iterator[Connection]:
    """A complete Schannel connection (both contexts deleted afterwards)."""
    connection = make_connection(tls)
    yield connection
    DeleteSecurityContext(connection.cctx)
    DeleteSecurityContext(connection.sctx)


def control(*words: int, size: int | None = None) -> SecBufferDesc:
    """An ApplyControlToken input: one TOKEN holding little-endian DWORDs."""
    raw = struct.pack(f"<{len(words)}I", *words)
    if size is not None:
        raw = (raw + bytes(size))[:size]
    return SecBufferDesc([SecBuffer.of(SECBUFFER_TOKEN, raw)])


def isc(cred: CredHandle, ctx: CtxtHandle, pInput: SecBufferDesc | None, new: CtxtHandle, out: SecBufferDesc, flags: int = 0) -> int:  # fmt: skip
    """A continuation ISC as Wine's shutdown test makes it: no target name."""
    return InitializeSecurityContext(
        cred, ctx, None, flags, 0, SECURITY_NATIVE_DREP, pInput, 0, new, out, None
    )


# --------------------------------------------------------------------------- M1


@pytest.mark.parametrize("size", [1, 100, 16384])
def test_M1_case35_encrypt_is_exactly_one_record(conn: Connection, tls: str, size: int) -> None:
    """M1 [35]: [STREAM_HEADER, DATA, STREAM_TRAILER, EMPTY] → header+data+trailer = one record."""
    plaintext = bytes(i & 0xFF for i in range(size))
    desc = stream_buffers(conn.cctx, plaintext)
    assert EncryptMessage(conn.cctx, 0, desc, 0) == SEC_E_OK
    header, data, trailer = desc.pBuffers[:3]
    assert [b.BufferType for b in desc.pBuffers[:3]] == [
        SECBUFFER_STREAM_HEADER,
        SECBUFFER_DATA,
        SECBUFFER_STREAM_TRAILER,
    ]
    assert (header.cbBuffer, data.cbBuffer, trailer.cbBuffer) == (
        HEADER_TRAILER[tls][0],
        size,
        HEADER_TRAILER[tls][1],
    )
    wire = header.data() + data.data() + trailer.data()
    assert [kind for kind, _ in records(wire)] == [0x17]
    status, out = decrypt(conn.sctx, wire)
    assert (status, plaintext_of(out)) == (SEC_E_OK, plaintext)


def test_M1_encrypt_in_place_into_one_contiguous_buffer(conn: Connection) -> None:
    """M1 [35]: contiguous buffers → the record is written in place, ready to send."""
    _, sizes = QueryContextAttributes(conn.sctx, SECPKG_ATTR_STREAM_SIZES)
    message = b"contiguous message"
    backing = bytearray(sizes.cbHeader + len(message) + sizes.cbTrailer)
    view = memoryview(backing)
    h, d = sizes.cbHeader, sizes.cbHeader + len(message)
    view[h:d] = message
    desc = SecBufferDesc(
        [
            SecBuffer(SECBUFFER_STREAM_HEADER, h, view[:h]),
            SecBuffer(SECBUFFER_DATA, len(message), view[h:d]),
            SecBuffer(SECBUFFER_STREAM_TRAILER, sizes.cbTrailer, view[d:]),
            SecBuffer(SECBUFFER_EMPTY),
        ]
    )
    assert EncryptMessage(conn.sctx, 0, desc, 0) == SEC_E_OK
    status, out = decrypt(conn.cctx, bytes(backing))
    assert (status, plaintext_of(out)) == (SEC_E_OK, message)


def test_M1_encrypt_reads_the_plaintext_in_place_and_leaves_the_buffer_resizable(
    conn: Connection,
) -> None:
    """M1: the package reads DATA through a view of the caller's bytearray (no copy); when
    EncryptMessage returns it holds no view of it, so the caller may resize it at once."""
    _, sizes = QueryContextAttributes(conn.cctx, SECPKG_ATTR_STREAM_SIZES)
    plain = bytearray(b"resizable plaintext")
    header, trailer = bytearray(sizes.cbHeader), bytearray(sizes.cbTrailer)
    desc = SecBufferDesc(
        [
            SecBuffer(SECBUFFER_STREAM_HEADER, len(header), header),
            SecBuffer(SECBUFFER_DATA, len(plain), plain),
            SecBuffer(SECBUFFER_STREAM_TRAILER, len(trailer), trailer),
            SecBuffer(SECBUFFER_EMPTY),
        ]
    )
    assert EncryptMessage(conn.cctx, 0, desc, 0) == SEC_E_OK
    wire = bytes(header) + bytes(plain) + bytes(trailer)  # encrypted in place
    plain += b"!"  # BufferError if a view of it were still held
    del header[:]
    status, out = decrypt(conn.sctx, wire)
    assert (status, plaintext_of(out)) == (SEC_E_OK, b"resizable plaintext")


def test_M1_token_data_token_layout_is_accepted(conn: Connection) -> None:
    """M1 (reference §7): {TOKEN, DATA, TOKEN} works like {STREAM_HEADER, DATA, STREAM_TRAILER}."""
    desc = stream_buffers(conn.cctx, b"tokens")
    desc.pBuffers[0].BufferType = desc.pBuffers[2].BufferType = SECBUFFER_TOKEN
    assert EncryptMessage(conn.cctx, 0, desc, 0) == SEC_E_OK
    status, out = decrypt(conn.sctx, b"".join(b.data() for b in desc.pBuffers[:3]))
    assert (status, plaintext_of(out)) == (SEC_E_OK, b"tokens")


def test_M1_encrypt_refusals(conn: Connection) -> None:
    """M1: no DATA, oversize DATA, short header/trailer, fQOP and empty DATA are refused."""
    no_data = stream_buffers(conn.cctx, b"x")
    del no_data.pBuffers[1]
    assert EncryptMessage(conn.cctx, 0, no_data, 0) == SEC_E_INVALID_TOKEN
    assert EncryptMessage(conn.cctx, 0, stream_buffers(conn.cctx, bytes(16385)), 0) == SEC_E_BUFFER_TOO_SMALL  # fmt: skip
    for index in (0, 2):
        short = stream_buffers(conn.cctx, b"payload")
        short.pBuffers[index].cbBuffer -= 1
        assert EncryptMessage(conn.cctx, 0, short, 0) == SEC_E_BUFFER_TOO_SMALL
        assert short.pBuffers[1].data() == b"payload"
    assert EncryptMessage(conn.cctx, 0x40000000, stream_buffers(conn.cctx, b"x"), 0) == SEC_E_QOP_NOT_SUPPORTED  # fmt: skip
    empty = stream_buffers(conn.cctx, b"")
    assert EncryptMessage(conn.cctx, 0, empty, 0) == SEC_E_INVALID_PARAMETER
    assert empty.pBuffers[0].data() == bytes(empty.pBuffers[0].cbBuffer)
    status, out = decrypt(conn.sctx, encrypt(conn.cctx, b"still in sequence"))
    assert (status, plaintext_of(out)) == (SEC_E_OK, b"still in sequence")


def test_M1_before_completion_or_with_a_bad_handle() -> None:
    """M1/T13: EncryptMessage before the handshake → a failure, no record; bad handle → INVALID."""
    _, ctx = client_after_hello()
    desc = SecBufferDesc(
        [
            SecBuffer(SECBUFFER_STREAM_HEADER, 13, bytearray(13)),
            SecBuffer.of(SECBUFFER_DATA, bytearray(b"too early")),
            SecBuffer(SECBUFFER_STREAM_TRAILER, 64, bytearray(64)),
            SecBuffer(SECBUFFER_EMPTY),
        ]
    )
    assert not SEC_SUCCESS(EncryptMessage(ctx, 0, desc, 0))
    assert (desc.pBuffers[0].data(), desc.pBuffers[1].data()) == (bytes(13), b"too early")
    assert DeleteSecurityContext(ctx) == SEC_E_OK
    for handle in (ctx, None, CtxtHandle(), CtxtHandle(0x1234, 1)):
        assert EncryptMessage(handle, 0, desc, 0) == SEC_E_INVALID_HANDLE


# --------------------------------------------------------------------------- M2


@pytest.mark.parametrize(
    "kinds",
    [
        [SECBUFFER_DATA, SECBUFFER_EMPTY, SECBUFFER_EMPTY],
        [SECBUFFER_EMPTY] * 4,
        [SECBUFFER_DATA, SECBUFFER_DATA, SECBUFFER_EMPTY, SECBUFFER_EMPTY],
        [SECBUFFER_DATA, SECBUFFER_EXTRA, SECBUFFER_EMPTY, SECBUFFER_EMPTY],
    ],
    ids=["a-three-buffers", "b-no-data", "c-two-data", "d-two-empty"],
)
def test_M2_case36_bad_decrypt_layouts_are_invalid_token(
    conn: Connection, kinds: list[int]
) -> None:
    """M2 [36 a–d]: a bad DecryptMessage buffer layout → SEC_E_INVALID_TOKEN, nothing consumed."""
    record = encrypt(conn.cctx, b"valid record")
    desc = SecBufferDesc(
        [SecBuffer.of(k, bytearray(record)) if k == SECBUFFER_DATA else SecBuffer(k) for k in kinds]
    )
    assert DecryptMessage(conn.sctx, desc, 0, None) == SEC_E_INVALID_TOKEN
    status, out = decrypt(conn.sctx, record)
    assert (status, plaintext_of(out)) == (SEC_E_OK, b"valid record")


def test_M2_one_record_per_call_with_extra(conn: Connection, tls: str) -> None:
    """M2: two records → [STREAM_HEADER, DATA, STREAM_TRAILER, EXTRA]; the EXTRA decrypts next."""
    received = encrypt(conn.cctx, b"first") + encrypt(conn.cctx, b"second!")
    desc = decrypt_desc(received)
    assert DecryptMessage(conn.sctx, desc, 0, None) == SEC_E_OK
    header, data, trailer, extra = desc.pBuffers
    assert [b.BufferType for b in desc.pBuffers] == [
        SECBUFFER_STREAM_HEADER,
        SECBUFFER_DATA,
        SECBUFFER_STREAM_TRAILER,
        SECBUFFER_EXTRA,
    ]
    assert (header.cbBuffer, data.data(), trailer.cbBuffer) == (
        HEADER_TRAILER[tls][0],
        b"first",
        HEADER_TRAILER[tls][1],
    )
    status, out = decrypt(conn.sctx, received[-extra.cbBuffer :])
    assert (status, plaintext_of(out)) == (SEC_E_OK, b"second!")


def test_M2_decrypt_leaves_the_callers_buffer_resizable_and_gives_own_copies(
    conn: Connection,
) -> None:
    """M2: the record is read through a view of the caller's DATA buffer; HEADER, TRAILER and
    EXTRA then hold their own bytes, so the caller can consume and resize its receive buffer
    right after the call (as SspiTLSStream does) without losing them."""
    first = encrypt(conn.cctx, b"first")
    second = encrypt(conn.cctx, b"second")
    received = bytearray(first + second)
    desc = SecBufferDesc(
        [
            SecBuffer.of(SECBUFFER_DATA, received),
            SecBuffer(SECBUFFER_EMPTY),
            SecBuffer(SECBUFFER_EMPTY),
            SecBuffer(SECBUFFER_EMPTY),
        ]
    )
    assert DecryptMessage(conn.sctx, desc, 0, None) == SEC_E_OK
    header, data, trailer, extra = desc.pBuffers
    del received[:]  # BufferError if a view of it were still held
    assert [type(b.pvBuffer) for b in (header, data, trailer, extra)] == [bytes] * 4
    assert (data.data(), extra.data()) == (b"first", second)


def test_M2_case37_partial_record_is_incomplete_with_missing(conn: Connection) -> None:
    """M2 [37]: DATA cbBuffer = the record's length field → INCOMPLETE, buffer[0] MISSING 5."""
    record = encrypt(conn.cctx, b"hello, partial world")
    desc = decrypt_desc(record[: record_length_field(record)])
    assert DecryptMessage(conn.sctx, desc, 0, None) == SEC_E_INCOMPLETE_MESSAGE
    assert (desc.pBuffers[0].BufferType, desc.pBuffers[0].cbBuffer) == (SECBUFFER_MISSING, 5)
    status, out = decrypt(conn.sctx, record)
    assert (status, plaintext_of(out)) == (SEC_E_OK, b"hello, partial world")


@pytest.mark.parametrize("where", [5, 20, -1], ids=["header-end", "body", "tag"])
def test_M2_tampered_record_is_message_altered(conn: Connection, where: int) -> None:
    """M2/T11: a flipped bit → SEC_E_MESSAGE_ALTERED; the context stays failed."""
    record = bytearray(encrypt(conn.cctx, b"integrity matters, and it is checked"))
    record[where] ^= 0x01
    status, desc = decrypt(conn.sctx, bytes(record))
    assert status == SEC_E_MESSAGE_ALTERED
    assert all(b"integrity" not in b.data() for b in desc.pBuffers)
    assert decrypt(conn.sctx, encrypt(conn.cctx, b"later"))[0] == SEC_E_MESSAGE_ALTERED
    assert not SEC_SUCCESS(EncryptMessage(conn.sctx, 0, stream_buffers(conn.sctx, b"no"), 0))


def test_M2_close_notify_is_context_expired(conn: Connection, tls: str) -> None:
    """M2/M4: SHUTDOWN + ASC → one close_notify record → client SEC_I_CONTEXT_EXPIRED."""
    assert ApplyControlToken(conn.sctx, control(SCHANNEL_SHUTDOWN)) == SEC_E_OK
    out, new = token_out(1000), sentinel_handle()
    status = AcceptSecurityContext(conn.server.cred, conn.sctx, None, 0, SECURITY_NATIVE_DREP, new, out, None)  # fmt: skip
    assert (status, new) == (SEC_E_OK, conn.sctx)
    alert = output_bytes(out)
    assert [(kind, len(body)) for kind, body in records(alert)] == [
        (0x17, 19) if tls == "tls13" else (0x15, 26)  # encrypted: 2 + type + tag / nonce + 2 + tag
    ]
    assert decrypt(conn.cctx, alert)[0] == SEC_I_CONTEXT_EXPIRED


def test_M2_case38_ticket_is_renegotiate_then_isc_without_input_is_ok() -> None:
    """M2 [38]: a TLS 1.3 ticket → RENEGOTIATE, [HEADER, DATA cb 0, TRAILER]; ISC(None) → OK."""
    conn = connect()
    first = next(iter(records(conn.leftover)))
    ticket = b"\x17\x03\x03" + len(first[1]).to_bytes(2, "big") + first[1]
    status, desc = decrypt(conn.cctx, ticket)
    assert status == SEC_I_RENEGOTIATE
    assert [(b.BufferType, b.cbBuffer) for b in desc.pBuffers[:3]] == [
        (SECBUFFER_STREAM_HEADER, 5),
        (SECBUFFER_DATA, 0),
        (SECBUFFER_STREAM_TRAILER, len(ticket) - 5),
    ]
    out, new = token_out(1000), sentinel_handle()
    assert isc(conn.client.cred, conn.cctx, None, new, out) == SEC_E_OK
    assert (out.pBuffers[0].cbBuffer, new) == (0, conn.cctx)
    read_tickets(conn.client, conn.leftover[len(ticket) :])
    status, desc = decrypt(conn.cctx, encrypt(conn.sctx, b"after the tickets"))
    assert (status, plaintext_of(desc)) == (SEC_E_OK, b"after the tickets")


def test_M2_tickets_and_data_in_one_buffer_pass_extra_through_isc() -> None:
    """M2: tickets + data → RENEGOTIATE with EXTRA; ISC(EXTRA) → OK, EXTRA back; repeat; data."""
    conn = connect()
    received = conn.leftover + encrypt(conn.sctx, b"data after tickets")
    renegotiations = 0
    while True:
        status, desc = decrypt(conn.cctx, received)
        extra = desc.pBuffers[3]
        tail = received[-extra.cbBuffer :] if extra.BufferType == SECBUFFER_EXTRA else b""
        if status == SEC_E_OK:
            assert plaintext_of(desc) == b"data after tickets"
            break
        assert status == SEC_I_RENEGOTIATE
        renegotiations += 1
        pInput = token_in(tail)
        out = token_out(1000)
        assert isc(conn.client.cred, conn.cctx, pInput, sentinel_handle(), out) == SEC_E_OK
        assert out.pBuffers[0].cbBuffer == 0
        assert (pInput.pBuffers[1].BufferType, pInput.pBuffers[1].cbBuffer) == (SECBUFFER_EXTRA, len(tail))  # fmt: skip
        received = tail
    assert renegotiations == len(list(records(conn.leftover)))


async def test_M2_M4_post_handshake_follow_ups_through_the_async_isc() -> None:
    """M2/M4: the RENEGOTIATE follow-up and the close_notify come from the async ISC too."""
    async with open_form("async") as form:
        conn = await connected(form)
        for kind, body in records(conn.leftover):
            ticket = bytes((kind, 3, 3)) + len(body).to_bytes(2, "big") + body
            assert decrypt(conn.cctx, ticket)[0] == SEC_I_RENEGOTIATE
            step = await conn.client.step(form, None)
            assert (step.status, step.output, step.new_ctx) == (SEC_E_OK, b"", conn.cctx)
        status, desc = decrypt(conn.cctx, encrypt(conn.sctx, b"async"))
        assert (status, plaintext_of(desc)) == (SEC_E_OK, b"async")
        assert ApplyControlToken(conn.cctx, control(SCHANNEL_SHUTDOWN)) == SEC_E_OK
        step = await conn.client.step(form, None)
        assert step.status == SEC_E_OK
        assert len(list(records(step.output))) == 1
        assert decrypt(conn.sctx, step.output)[0] == SEC_I_CONTEXT_EXPIRED


# --------------------------------------------------------------------------- M4, cases 43–49


@pytest.fixture(params=["after_client_hello", "complete"])
def client_ctx(request: pytest.FixtureRequest) -> tuple[CredHandle, CtxtHandle]:
    """A client only after its ClientHello (Wine's case) or a complete TLS 1.3 one."""
    if request.param == "after_client_hello":
        return client_after_hello()
    connection = make_connection("tls13")
    return connection.client.cred, connection.cctx


def test_M4_cases_43_to_46_control_token_validation(
    client_ctx: tuple[CredHandle, CtxtHandle],
) -> None:
    """M4 [43–46]: ApplyControlToken validation statuses; SHUTDOWN twice → SEC_E_OK."""
    _, ctx = client_ctx
    raw = struct.pack("<I", SCHANNEL_SHUTDOWN)
    for second in (SECBUFFER_TOKEN, SECBUFFER_EMPTY):
        two = SecBufferDesc([SecBuffer.of(SECBUFFER_TOKEN, raw), SecBuffer.of(second, raw)])
        assert ApplyControlToken(ctx, two) == SEC_E_INVALID_TOKEN
    for kind in (SECBUFFER_ALERT, SECBUFFER_DATA):
        assert (
            ApplyControlToken(ctx, SecBufferDesc([SecBuffer.of(kind, raw)])) == SEC_E_INVALID_TOKEN
        )
    assert ApplyControlToken(ctx, control(SCHANNEL_RENEGOTIATE)) == SEC_E_UNSUPPORTED_FUNCTION
    assert ApplyControlToken(ctx, control(SCHANNEL_SHUTDOWN, size=2)) == SEC_E_UNSUPPORTED_FUNCTION
    assert ApplyControlToken(None, control(SCHANNEL_SHUTDOWN)) == SEC_E_INVALID_HANDLE
    assert ApplyControlToken(ctx, None) == SEC_E_INTERNAL_ERROR
    assert ApplyControlToken(ctx, control(SCHANNEL_SHUTDOWN, size=5)) == SEC_E_OK
    assert ApplyControlToken(ctx, control(SCHANNEL_SHUTDOWN, size=5)) == SEC_E_OK


@pytest.mark.parametrize(
    "make_input",
    [
        lambda: None,
        lambda: SecBufferDesc([SecBuffer(SECBUFFER_EMPTY)]),
        lambda: SecBufferDesc([SecBuffer.of(SECBUFFER_TOKEN, b"\x17\x03\x03\x00\x01x")]),
    ],
    ids=["null", "empty", "token-with-bytes"],
)
def test_M4_cases_47_48_shutdown_then_close_notify(make_input: object) -> None:
    """M4 [47, 48]: after SHUTDOWN, ISC → OK with exactly 15 03 03 00 02 01 00; then INCOMPLETE."""
    cred, ctx = client_after_hello()
    assert ApplyControlToken(ctx, control(SCHANNEL_SHUTDOWN, size=5)) == SEC_E_OK
    out, new = token_out(1000), sentinel_handle()
    assert callable(make_input)
    assert isc(cred, ctx, make_input(), new, out) == SEC_E_OK
    assert (output_bytes(out), new) == (CLOSE_NOTIFY_PLAIN, ctx)
    out, new = token_out(1000), sentinel_handle()
    assert isc(cred, ctx, None, new, out) == SEC_E_INCOMPLETE_MESSAGE
    assert (out.pBuffers[0].cbBuffer, new) == (1000, sentinel_handle())


def test_M4_case49_alert_token_before_completion() -> None:
    """M4 [49]: SCHANNEL_ALERT_TOKEN{FATAL, BAD_CERTIFICATE} → next ISC: 15 03 03 00 02 02 2a."""
    cred, ctx = client_after_hello()
    token = control(SCHANNEL_ALERT, TLS1_ALERT_FATAL, TLS1_ALERT_BAD_CERTIFICATE)
    assert token.pBuffers[0].cbBuffer == 12
    assert ApplyControlToken(ctx, token) == SEC_E_OK
    out, new = token_out(1000), sentinel_handle()
    assert isc(cred, ctx, None, new, out) == SEC_E_OK
    assert (output_bytes(out), new) == (BAD_CERTIFICATE_PLAIN, ctx)


def test_M4_shutdown_of_a_complete_client_with_allocate_memory(conn: Connection, tls: str) -> None:
    """M4: SHUTDOWN on a complete client → one allocated close_notify record → CONTEXT_EXPIRED."""
    assert ApplyControlToken(conn.cctx, control(SCHANNEL_SHUTDOWN)) == SEC_E_OK
    out = SecBufferDesc([SecBuffer(SECBUFFER_TOKEN, 0, None)])
    assert isc(conn.client.cred, conn.cctx, None, sentinel_handle(), out, ISC_REQ_ALLOCATE_MEMORY) == SEC_E_OK  # fmt: skip
    alert = output_bytes(out)
    assert len(list(records(alert))) == 1
    assert decrypt(conn.sctx, alert)[0] == SEC_I_CONTEXT_EXPIRED
    assert FreeContextBuffer(out.pBuffers[0].pvBuffer) == SEC_E_OK


def test_M4_alert_token_after_completion_is_unsupported(conn: Connection) -> None:
    """M4: SCHANNEL_ALERT on a complete context → next ISC SEC_E_UNSUPPORTED_FUNCTION (OpenSSL)."""
    token = control(SCHANNEL_ALERT, TLS1_ALERT_FATAL, TLS1_ALERT_BAD_CERTIFICATE)
    assert ApplyControlToken(conn.cctx, token) == SEC_E_OK
    out = token_out(1000)
    assert isc(conn.client.cred, conn.cctx, None, sentinel_handle(), out) == SEC_E_UNSUPPORTED_FUNCTION  # fmt: skip
    assert out.pBuffers[0].pvBuffer == bytearray(1000)


def test_M4_a_refused_alert_does_not_stay_pending(conn: Connection) -> None:
    """M4: after the refused alert the next ISC behaves normally (pInput None → INCOMPLETE)."""
    token = control(SCHANNEL_ALERT, TLS1_ALERT_FATAL, TLS1_ALERT_BAD_CERTIFICATE)
    assert ApplyControlToken(conn.cctx, token) == SEC_E_OK
    assert isc(conn.client.cred, conn.cctx, None, sentinel_handle(), token_out()) == SEC_E_UNSUPPORTED_FUNCTION  # fmt: skip
    assert isc(conn.client.cred, conn.cctx, None, sentinel_handle(), token_out()) == SEC_E_INCOMPLETE_MESSAGE  # fmt: skip


# --------------------------------------------------------------------------- M5


def test_M5_free_context_buffer_rules() -> None:
    """M5: a package allocation frees once; twice or a foreign object → SspiMisuseError."""
    cred, _ = client_after_hello()
    out = SecBufferDesc([SecBuffer(SECBUFFER_TOKEN, 0, None)])
    side = Side(True, cred, ISC_FLAGS | ISC_REQ_ALLOCATE_MEMORY, TARGET)
    assert run_sync(side.step(ClassicForm(), None, pOutput=out)).status == SEC_I_CONTINUE_NEEDED
    buffer = out.pBuffers[0].pvBuffer
    assert FreeContextBuffer(buffer) == SEC_E_OK
    with pytest.raises(SspiMisuseError, match="FreeContextBuffer"):
        FreeContextBuffer(buffer)
    with pytest.raises(SspiMisuseError, match="FreeContextBuffer"):
        FreeContextBuffer(bytearray(b"mine"))
