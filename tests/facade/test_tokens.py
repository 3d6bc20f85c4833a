"""Token rules T1–T9, T11 and T13 through the flat facade, on SimTLS (SPEC §4; reference §6–§8,
cases 11–27, 34 and 41).

Every handshake-level rule runs twice, through the classic functions and through the async
functions (SPEC: "each rule holds for the async and the classic form"): the ``form`` parameter
selects one, and :func:`helpers.open_form` gives each test a fresh emulator.
"""

from __future__ import annotations

import itertools
import struct

import pytest

from sspi_async.sspi import (
    ASC_REQ_ALLOCATE_MEMORY,
    ASC_REQ_EXTENDED_ERROR,
    ASC_REQ_MUTUAL_AUTH,
    ASC_RET_ALLOCATED_MEMORY,
    ASC_RET_CONFIDENTIALITY,
    ASC_RET_EXTENDED_ERROR,
    ASC_RET_MUTUAL_AUTH,
    ASC_RET_REPLAY_DETECT,
    ASC_RET_SEQUENCE_DETECT,
    ASC_RET_STREAM,
    ISC_REQ_ALLOCATE_MEMORY,
    ISC_REQ_CONFIDENTIALITY,
    ISC_REQ_EXTENDED_ERROR,
    ISC_REQ_MANUAL_CRED_VALIDATION,
    ISC_REQ_MUTUAL_AUTH,
    ISC_REQ_STREAM,
    ISC_REQ_USE_SUPPLIED_CREDS,
    ISC_RET_ALLOCATED_MEMORY,
    ISC_RET_CONFIDENTIALITY,
    ISC_RET_EXTENDED_ERROR,
    ISC_RET_MANUAL_CRED_VALIDATION,
    ISC_RET_MUTUAL_AUTH,
    ISC_RET_REPLAY_DETECT,
    ISC_RET_SEQUENCE_DETECT,
    ISC_RET_STREAM,
    ISC_RET_USED_SUPPLIED_CREDS,
    SCHANNEL_ALERT,
    SCHANNEL_SHUTDOWN,
    SEC_E_BUFFER_TOO_SMALL,
    SEC_E_INCOMPLETE_MESSAGE,
    SEC_E_INSUFFICIENT_MEMORY,
    SEC_E_INVALID_HANDLE,
    SEC_E_INVALID_TOKEN,
    SEC_E_LOGON_DENIED,
    SEC_E_OK,
    SEC_I_CONTINUE_NEEDED,
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
    ULONG,
    AcceptSecurityContext,
    ApplyControlToken,
    CtxtHandle,
    DecryptMessage,
    DeleteSecurityContext,
    EncryptMessage,
    FreeContextBuffer,
    ImpersonateSecurityContext,
    InitializeSecurityContext,
    QueryContextAttributes,
    QuerySecurityContextToken,
    RevertSecurityContext,
    SecBuffer,
    SecBufferDesc,
    SecIsValidHandle,
    SspiCreateAsyncContext,
    SspiDeleteSecurityContextAsync,
    SspiFreeAsyncContext,
    wait_async_call,
)
from tests.facade.helpers import (
    ASC_FLAGS,
    CONTENT_ALERT,
    CONTENT_HANDSHAKE,
    FORMS,
    ISC_FLAGS,
    SENTINEL,
    SERVER_NAME,
    Form,
    Side,
    acquire_pair,
    client_auth,
    connect,
    copy_handle,
    decrypt,
    decrypt_desc,
    encrypt,
    hamming,
    handshake,
    is_single_record,
    open_form,
    output_bytes,
    plaintext_of,
    record_length_field,
    sentinel_handle,
    server_auth,
    stream_buffers,
    token_in,
    token_out,
)


@pytest.fixture(params=FORMS)
def form_kind(request: pytest.FixtureRequest) -> str:
    """Run the test through the classic functions and through the async ones."""
    return str(request.param)


async def first_isc(
    form: Form,
    *,
    pInput: SecBufferDesc | None = None,
    pOutput: SecBufferDesc | None = None,
    flags: int = ISC_FLAGS,
) -> tuple[int, CtxtHandle, SecBufferDesc, ULONG]:
    """The client's first ISC call on a fresh OUTBOUND credential."""
    ccred, _ = await acquire_pair(form)
    new = sentinel_handle()
    out = token_out() if pOutput is None else pOutput
    attr = ULONG()
    status = await form.isc(ccred, None, SERVER_NAME, flags, pInput, new, out, attr)
    return status, new, out, attr


async def server_flight(form: Form, **client_fields: object) -> tuple[Side, bytes]:
    """A client after its ClientHello, and the server's first flight for it."""
    ccred, scred = await acquire_pair(form, client_auth(**client_fields))
    client = Side(True, ccred, ISC_FLAGS)
    server = Side(False, scred, ASC_FLAGS)
    hello = await client.step(form, None)
    assert hello.status == SEC_I_CONTINUE_NEEDED
    flight = await server.step(form, hello.output)
    assert flight.status == SEC_I_CONTINUE_NEEDED
    return client, flight.output


# --------------------------------------------------------------------------- T1


async def test_T1_first_isc_without_input_returns_client_hello(form_kind: str) -> None:
    """T1 [18]: first ISC, pInput None → CONTINUE_NEEDED, a TLS handshake record, a new handle."""
    async with open_form(form_kind) as form:
        status, new, out, _ = await first_isc(form)
        assert status == SEC_I_CONTINUE_NEEDED
        token = output_bytes(out)
        assert out.pBuffers[0].BufferType == SECBUFFER_TOKEN
        assert token[0] == CONTENT_HANDSHAKE
        assert token[1:3] == b"\x03\x03"
        assert record_length_field(token) == len(token) - 5
        assert SecIsValidHandle(new)
        assert new != sentinel_handle()


async def test_T1_first_isc_accepts_single_empty_input_buffer(form_kind: str) -> None:
    """T1 [11]: first ISC with a single empty EMPTY input buffer → CONTINUE_NEEDED."""
    async with open_form(form_kind) as form:
        pInput = SecBufferDesc([SecBuffer(SECBUFFER_EMPTY, 0, None)])
        pOutput = SecBufferDesc([SecBuffer(SECBUFFER_TOKEN, 1000, None)])
        status, new, out, _ = await first_isc(
            form,
            pInput=pInput,
            pOutput=pOutput,
            flags=ISC_REQ_CONFIDENTIALITY | ISC_REQ_STREAM | ISC_REQ_ALLOCATE_MEMORY,
        )
        assert status == SEC_I_CONTINUE_NEEDED
        assert is_single_record(output_bytes(out), CONTENT_HANDSHAKE)
        assert SecIsValidHandle(new)
        assert new != sentinel_handle()
        assert FreeContextBuffer(out.pBuffers[0].pvBuffer) == SEC_E_OK


# --------------------------------------------------------------------------- T2


async def test_T2_zero_sized_token_without_allocate_is_insufficient_memory(form_kind: str) -> None:
    """T2 [12]: output TOKEN cbBuffer 0 without ALLOCATE_MEMORY → SEC_E_INSUFFICIENT_MEMORY."""
    async with open_form(form_kind) as form:
        pOutput = SecBufferDesc([SecBuffer(SECBUFFER_TOKEN, 0, None)])
        status, new, out, _ = await first_isc(form, pOutput=pOutput)
        assert status == SEC_E_INSUFFICIENT_MEMORY
        assert out.pBuffers[0].cbBuffer == 0
        assert out.pBuffers[0].pvBuffer is None
        assert new == sentinel_handle()


async def test_T2_zero_sized_alert_without_allocate_is_insufficient_memory(form_kind: str) -> None:
    """T2 [13]: TOKEN 8192 + ALERT cbBuffer 0, no ALLOCATE → SEC_E_INSUFFICIENT_MEMORY."""
    async with open_form(form_kind) as form:
        pOutput = SecBufferDesc(
            [
                SecBuffer(SECBUFFER_TOKEN, 8192, bytearray(8192)),
                SecBuffer(SECBUFFER_ALERT, 0, None),
            ]
        )
        status, new, _, _ = await first_isc(form, pOutput=pOutput)
        assert status == SEC_E_INSUFFICIENT_MEMORY
        assert new == sentinel_handle()


async def test_T2_allocate_memory_replaces_caller_buffer(form_kind: str) -> None:
    """T2 [14]: ALLOCATE_MEMORY replaces the caller's pvBuffer with an exact, freeable object."""
    async with open_form(form_kind) as form:
        caller = bytearray(b"\xde\xad\xbe\xef")
        pOutput = SecBufferDesc(
            [SecBuffer(SECBUFFER_TOKEN, 0, caller), SecBuffer(SECBUFFER_ALERT, 0, None)]
        )
        status, _, out, attr = await first_isc(
            form, pOutput=pOutput, flags=ISC_FLAGS | ISC_REQ_ALLOCATE_MEMORY
        )
        assert status == SEC_I_CONTINUE_NEEDED
        token = out.pBuffers[0]
        assert token.pvBuffer is not caller
        assert caller == bytearray(b"\xde\xad\xbe\xef")
        assert token.pvBuffer is not None
        assert len(token.pvBuffer) == token.cbBuffer
        assert is_single_record(token.data(), CONTENT_HANDSHAKE)
        assert attr.value & ISC_RET_ALLOCATED_MEMORY == ISC_RET_ALLOCATED_MEMORY
        assert FreeContextBuffer(token.pvBuffer) == SEC_E_OK


async def test_T2_allocate_memory_on_the_server_sets_asc_ret_allocated_memory(
    form_kind: str,
) -> None:
    """T2: ASC_REQ_ALLOCATE_MEMORY allocates the server token and sets ASC_RET_ALLOCATED_MEMORY."""
    async with open_form(form_kind) as form:
        ccred, scred = await acquire_pair(form)
        client = Side(True, ccred, ISC_FLAGS)
        server = Side(False, scred, ASC_FLAGS | ASC_REQ_ALLOCATE_MEMORY)
        hello = await client.step(form, None)
        caller = bytearray(16)
        pOutput = SecBufferDesc([SecBuffer(SECBUFFER_TOKEN, 0, caller)])
        flight = await server.step(form, hello.output, pOutput=pOutput)
        assert flight.status == SEC_I_CONTINUE_NEEDED
        token = pOutput.pBuffers[0]
        assert token.pvBuffer is not caller
        assert token.pvBuffer is not None
        assert len(token.pvBuffer) == token.cbBuffer > 0
        assert flight.attrs & ASC_RET_ALLOCATED_MEMORY == ASC_RET_ALLOCATED_MEMORY
        assert FreeContextBuffer(token.pvBuffer) == SEC_E_OK


async def test_T2_alert_buffer_without_alert_gets_zero_size(form_kind: str) -> None:
    """T2 [15]: TOKEN 8192 + ALERT 8192, no ALLOCATE → CONTINUE_NEEDED, ALERT cbBuffer 0."""
    async with open_form(form_kind) as form:
        pOutput = SecBufferDesc(
            [
                SecBuffer(SECBUFFER_TOKEN, 8192, bytearray(8192)),
                SecBuffer(SECBUFFER_ALERT, 8192, bytearray(8192)),
            ]
        )
        status, _, out, _ = await first_isc(form, pOutput=pOutput)
        assert status == SEC_I_CONTINUE_NEEDED
        assert out.pBuffers[1].cbBuffer == 0
        assert is_single_record(output_bytes(out), CONTENT_HANDSHAKE)


async def test_T2_null_pvbuffer_makes_the_package_allocate(form_kind: str) -> None:
    """T2 [16]: TOKEN pvBuffer None, cbBuffer 1000, no ALLOCATE → the package allocates."""
    async with open_form(form_kind) as form:
        pOutput = SecBufferDesc([SecBuffer(SECBUFFER_TOKEN, 1000, None)])
        status, _, out, _ = await first_isc(form, pOutput=pOutput)
        assert status == SEC_I_CONTINUE_NEEDED
        token = out.pBuffers[0]
        assert token.pvBuffer is not None
        assert len(token.pvBuffer) == token.cbBuffer
        assert is_single_record(token.data(), CONTENT_HANDSHAKE)
        assert FreeContextBuffer(token.pvBuffer) == SEC_E_OK


async def test_T2_caller_buffer_too_small_is_buffer_too_small(form_kind: str) -> None:
    """T2: a ClientHello too big for the caller's buffer → SEC_E_BUFFER_TOO_SMALL."""
    async with open_form(form_kind) as form:
        small = bytearray(8)
        pOutput = SecBufferDesc([SecBuffer(SECBUFFER_TOKEN, 8, small)])
        status, _, _, _ = await first_isc(form, pOutput=pOutput)
        assert status == SEC_E_BUFFER_TOO_SMALL
        assert small == bytearray(8)
        status, new, out, _ = await first_isc(form)
        assert status == SEC_I_CONTINUE_NEEDED
        assert is_single_record(output_bytes(out), CONTENT_HANDSHAKE)
        assert SecIsValidHandle(new)


async def test_T2_buffer_too_small_on_a_continuation_loses_nothing(form_kind: str) -> None:
    """T2: BUFFER_TOO_SMALL on the client's Finished, then a bigger buffer gets the token."""
    async with open_form(form_kind) as form:
        ccred, scred = await acquire_pair(form)
        client = Side(True, ccred, ISC_FLAGS)
        server = Side(False, scred, ASC_FLAGS)
        hello = await client.step(form, None)
        flight = await server.step(form, hello.output)
        tight = await client.step(
            form,
            flight.output,
            pOutput=SecBufferDesc([SecBuffer(SECBUFFER_TOKEN, 4, bytearray(4))]),
        )
        assert tight.status == SEC_E_BUFFER_TOO_SMALL
        retry = await client.step(form, flight.output)
        assert retry.status == SEC_E_OK
        assert is_single_record(retry.output, CONTENT_HANDSHAKE)
        final = await server.step(form, retry.output)
        assert final.status == SEC_E_OK
        assert client.ctx is not None
        assert server.ctx is not None
        status, desc = decrypt(server.ctx, encrypt(client.ctx, b"after retry"))
        assert status == SEC_E_OK
        assert plaintext_of(desc) == b"after retry"


async def test_T2_null_output_is_invalid_token(form_kind: str) -> None:
    """T2 [17]: first ISC with pOutput None → SEC_E_INVALID_TOKEN."""
    async with open_form(form_kind) as form:
        ccred, _ = await acquire_pair(form)
        new = sentinel_handle()
        status = await form.isc(ccred, None, SERVER_NAME, ISC_FLAGS, None, new, None)
        assert status == SEC_E_INVALID_TOKEN
        assert new == sentinel_handle()


# --------------------------------------------------------------------------- T3


async def test_T3_client_continuation_without_input_is_incomplete(form_kind: str) -> None:
    """T3 [21]: ISC continuation, pInput None → INCOMPLETE, output and phNewContext untouched."""
    async with open_form(form_kind) as form:
        ccred, _ = await acquire_pair(form)
        client = Side(True, ccred, ISC_FLAGS)
        await client.step(form, None)
        out = token_out(8192)
        new = sentinel_handle()
        status = await form.isc(ccred, client.ctx, SERVER_NAME, ISC_FLAGS, None, new, out)
        assert status == SEC_E_INCOMPLETE_MESSAGE
        assert out.pBuffers[0].BufferType == SECBUFFER_TOKEN
        assert out.pBuffers[0].cbBuffer == 8192
        assert new == sentinel_handle()


async def test_T3_server_continuation_without_input_is_incomplete(form_kind: str) -> None:
    """T3: ASC continuation, pInput None → INCOMPLETE, output and phNewContext untouched."""
    async with open_form(form_kind) as form:
        ccred, scred = await acquire_pair(form)
        client = Side(True, ccred, ISC_FLAGS)
        server = Side(False, scred, ASC_FLAGS)
        await server.step(form, (await client.step(form, None)).output)
        out = token_out(8192)
        new = sentinel_handle()
        status = await form.asc(scred, server.ctx, None, ASC_FLAGS, new, out)
        assert status == SEC_E_INCOMPLETE_MESSAGE
        assert out.pBuffers[0].BufferType == SECBUFFER_TOKEN
        assert out.pBuffers[0].cbBuffer == 8192
        assert new == sentinel_handle()


# --------------------------------------------------------------------------- T4


@pytest.mark.parametrize(
    ("cut", "case"),
    [(0, "[22]"), (4, "[23]"), (5, "[24]"), (9, "partial body")],
)
async def test_T4_partial_input_reports_missing_bytes(form_kind: str, cut: int, case: str) -> None:
    """T4 [22–24]: too few bytes → INCOMPLETE with the exact MISSING count, nothing written."""
    async with open_form(form_kind) as form:
        client, flight = await server_flight(form)
        record_size = 5 + record_length_field(flight)
        expected = 5 - cut if cut < 5 else record_size - cut
        pInput = token_in(flight[:cut])
        out = token_out(8192)
        new = sentinel_handle()
        status = await form.isc(client.cred, client.ctx, SERVER_NAME, 0, pInput, new, out)
        assert status == SEC_E_INCOMPLETE_MESSAGE, case
        assert pInput.pBuffers[1].BufferType == SECBUFFER_MISSING
        assert pInput.pBuffers[1].cbBuffer == expected
        assert out.pBuffers[0].BufferType == SECBUFFER_TOKEN
        assert out.pBuffers[0].cbBuffer == 8192
        assert out.pBuffers[0].pvBuffer == bytearray(8192)
        assert new == sentinel_handle()


async def test_T4_client_fed_the_server_flight_in_pieces_completes(form_kind: str) -> None:
    """T4: the client fed the server flight 3 bytes at a time completes the handshake."""
    async with open_form(form_kind) as form:
        ccred, scred = await acquire_pair(form)
        client = Side(True, ccred, ISC_FLAGS)
        server = Side(False, scred, ASC_FLAGS)
        flight = (await server.step(form, (await client.step(form, None)).output)).output
        received = b""
        pos = 0
        incomplete = 0
        while True:
            received += flight[pos : pos + 3]
            pos += 3
            step = await client.step(form, received)
            if step.status != SEC_E_INCOMPLETE_MESSAGE:
                break
            incomplete += 1
            missing = step.in_desc.pBuffers[1] if step.in_desc is not None else None
            assert missing is not None
            assert missing.BufferType == SECBUFFER_MISSING
            size = 5 + record_length_field(received) if len(received) >= 5 else 5
            assert missing.cbBuffer == size - len(received)
            assert step.new_ctx == sentinel_handle()
        assert incomplete > 2
        assert step.status == SEC_E_OK
        assert pos >= len(flight)
        final = await server.step(form, step.output)
        assert final.status == SEC_E_OK
        status, desc = decrypt(client.handle, encrypt(server.handle, b"pieces"))
        assert status == SEC_E_OK
        assert plaintext_of(desc) == b"pieces"


async def test_T4_server_fed_the_client_flights_byte_by_byte_completes(form_kind: str) -> None:
    """T4: the server fed both client flights byte by byte completes the handshake."""
    async with open_form(form_kind) as form:
        ccred, scred = await acquire_pair(form)
        client = Side(True, ccred, ISC_FLAGS)
        server = Side(False, scred, ASC_FLAGS)

        async def feed_byte_by_byte(data: bytes) -> bytes:
            for n in range(1, len(data) + 1):
                step = await server.step(form, data[:n])
                if n < len(data):
                    assert step.status == SEC_E_INCOMPLETE_MESSAGE, n
                    assert step.new_ctx == sentinel_handle()
                    assert step.in_desc is not None
                    missing = step.in_desc.pBuffers[1]
                    assert missing.BufferType == SECBUFFER_MISSING
                    assert missing.cbBuffer == (5 - n if n < 5 else len(data) - n)
                else:
                    assert SEC_SUCCESS(step.status), step.status
            return step.output

        hello = (await client.step(form, None)).output
        flight = await feed_byte_by_byte(hello)
        assert server.ctx is not None
        assert server.statuses[-1] == SEC_I_CONTINUE_NEEDED
        finished = await client.step(form, flight)
        assert finished.status == SEC_E_OK
        await feed_byte_by_byte(finished.output)
        assert server.statuses[-1] == SEC_E_OK
        status, desc = decrypt(server.handle, encrypt(client.handle, b"bytes"))
        assert status == SEC_E_OK
        assert plaintext_of(desc) == b"bytes"


# --------------------------------------------------------------------------- T5


async def test_T5_empty_input_buffer_with_nonzero_size_is_invalid_token(form_kind: str) -> None:
    """T5 [26]: an input EMPTY buffer with cbBuffer 0xdeadbeef → SEC_E_INVALID_TOKEN."""
    async with open_form(form_kind) as form:
        client, flight = await server_flight(form)
        pInput = SecBufferDesc(
            [SecBuffer.of(SECBUFFER_TOKEN, flight), SecBuffer(SECBUFFER_EMPTY, SENTINEL, None)]
        )
        new = sentinel_handle()
        status = await form.isc(client.cred, client.ctx, SERVER_NAME, 0, pInput, new, token_out())
        assert status == SEC_E_INVALID_TOKEN
        assert new == sentinel_handle()


@pytest.mark.parametrize("fill", [0xFA, 0x00], ids=["0xFA", "zeros"])
async def test_T5_garbage_input_is_invalid_token_with_empty_output(
    form_kind: str, fill: int
) -> None:
    """T5 [19]: 8192 bytes of garbage → SEC_E_INVALID_TOKEN and output cbBuffer 0."""
    async with open_form(form_kind) as form:
        client, _ = await server_flight(form)
        pInput = SecBufferDesc([SecBuffer.of(SECBUFFER_TOKEN, bytes([fill]) * 8192)])
        out = token_out(8192)
        status = await form.isc(
            client.cred, client.ctx, SERVER_NAME, 0, pInput, sentinel_handle(), out
        )
        assert status == SEC_E_INVALID_TOKEN
        assert out.pBuffers[0].cbBuffer == 0


async def test_T5_garbage_with_a_zero_sized_output(form_kind: str) -> None:
    """T5 [20]: garbage, 0-sized output → INSUFFICIENT_MEMORY or INVALID_TOKEN, cbBuffer 0."""
    async with open_form(form_kind) as form:
        client, _ = await server_flight(form)
        pInput = SecBufferDesc([SecBuffer.of(SECBUFFER_TOKEN, b"\xfa" * 8192)])
        out = SecBufferDesc([SecBuffer(SECBUFFER_TOKEN, 0, None)])
        status = await form.isc(
            client.cred, client.ctx, SERVER_NAME, 0, pInput, sentinel_handle(), out
        )
        assert status in (SEC_E_INSUFFICIENT_MEMORY, SEC_E_INVALID_TOKEN)
        assert out.pBuffers[0].cbBuffer == 0


async def test_T5_garbage_to_the_servers_first_call_is_invalid_token(form_kind: str) -> None:
    """T5 [19]: garbage as the ClientHello → SEC_E_INVALID_TOKEN, output cbBuffer 0."""
    async with open_form(form_kind) as form:
        _, scred = await acquire_pair(form)
        out = token_out(8192)
        new = sentinel_handle()
        status = await form.asc(scred, None, token_in(b"\xfa" * 64), ASC_FLAGS, new, out)
        assert status == SEC_E_INVALID_TOKEN
        assert out.pBuffers[0].cbBuffer == 0
        assert new == sentinel_handle()


# --------------------------------------------------------------------------- T6


async def test_T6_bytes_after_the_flight_come_back_as_extra(form_kind: str) -> None:
    """T6: bytes after the server flight → input[1] SECBUFFER_EXTRA with the tail's length."""
    async with open_form(form_kind) as form:
        client, flight = await server_flight(form)
        tail = b"\x17\x03\x03\x00\x10ab"
        step = await client.step(form, flight + tail)
        assert step.status == SEC_E_OK
        assert step.in_desc is not None
        assert step.in_desc.pBuffers[1].BufferType == SECBUFFER_EXTRA
        assert step.in_desc.pBuffers[1].cbBuffer == len(tail)
        assert is_single_record(step.output, CONTENT_HANDSHAKE)


async def test_T6_extra_after_server_ok_is_application_data_tls13_shape(form_kind: str) -> None:
    """T6: Finished + an app record to ASC → SEC_E_OK with EXTRA that DecryptMessage decrypts."""
    async with open_form(form_kind) as form:
        ccred, scred = await acquire_pair(form)
        client = Side(True, ccred, ISC_FLAGS)
        server = Side(False, scred, ASC_FLAGS)
        flight = (await server.step(form, (await client.step(form, None)).output)).output
        finished = await client.step(form, flight)
        assert finished.status == SEC_E_OK
        record = encrypt(client.handle, b"early request")
        final = await server.step(form, finished.output + record)
        assert final.status == SEC_E_OK
        assert final.in_desc is not None
        assert final.in_desc.pBuffers[1].BufferType == SECBUFFER_EXTRA
        assert final.in_desc.pBuffers[1].cbBuffer == len(record)
        assert final.extra == record
        status, desc = decrypt(server.handle, final.extra)
        assert status == SEC_E_OK
        assert plaintext_of(desc) == b"early request"


async def test_T6_extra_after_client_ok_is_application_data_tls12_shape(form_kind: str) -> None:
    """T6 (rounds=2): server Finished + an app record to ISC → SEC_E_OK, EXTRA decrypts."""
    async with open_form(form_kind) as form:
        ccred, scred = await acquire_pair(form, client_auth(rounds=2))
        client = Side(True, ccred, ISC_FLAGS)
        server = Side(False, scred, ASC_FLAGS)
        token = (await client.step(form, None)).output
        token = (await server.step(form, token)).output
        token = (await client.step(form, token)).output
        server_final = await server.step(form, token)
        assert server_final.status == SEC_E_OK
        record = encrypt(server.handle, b"welcome")
        step = await client.step(form, server_final.output + record)
        assert step.status == SEC_E_OK
        assert step.in_desc is not None
        assert step.in_desc.pBuffers[1].BufferType == SECBUFFER_EXTRA
        assert step.in_desc.pBuffers[1].cbBuffer == len(record)
        status, desc = decrypt(client.handle, step.extra)
        assert status == SEC_E_OK
        assert plaintext_of(desc) == b"welcome"


# --------------------------------------------------------------------------- T7, T8


@pytest.mark.parametrize("rounds", [1, 2, 3])
async def test_T7_new_context_equals_context_on_every_continuation(
    form_kind: str, rounds: int
) -> None:
    """T7 [25, 41]: on every continuation phNewContext receives exactly phContext, both sides."""
    async with open_form(form_kind) as form:
        ccred, scred = await acquire_pair(form, client_auth(rounds=rounds))
        conn = await handshake(form, ccred, scred)
        assert not conn.failed
        for side in (conn.client, conn.server):
            first, *later = side.steps
            assert first.ctx_before is None
            assert later
            for step in later:
                assert step.ctx_before == first.new_ctx
                assert step.new_ctx == step.ctx_before


async def test_T8_tls13_shape_sequence(form_kind: str) -> None:
    """T8: rounds=1 → client CONTINUE, OK(token); server CONTINUE, OK(no token)."""
    async with open_form(form_kind) as form:
        ccred, scred = await acquire_pair(form, client_auth(rounds=1))
        conn = await handshake(form, ccred, scred)
        assert conn.client.statuses == [SEC_I_CONTINUE_NEEDED, SEC_E_OK]
        assert conn.server.statuses == [SEC_I_CONTINUE_NEEDED, SEC_E_OK]
        assert is_single_record(conn.client.steps[-1].output, CONTENT_HANDSHAKE)
        assert conn.server.steps[-1].output == b""


async def test_T8_tls12_shape_sequence(form_kind: str) -> None:
    """T8 [41]: rounds=2 → client CONTINUE, CONTINUE, OK(empty); server CONTINUE, OK(token)."""
    async with open_form(form_kind) as form:
        ccred, scred = await acquire_pair(form, client_auth(rounds=2))
        conn = await handshake(form, ccred, scred)
        assert conn.client.statuses == [SEC_I_CONTINUE_NEEDED, SEC_I_CONTINUE_NEEDED, SEC_E_OK]
        assert conn.server.statuses == [SEC_I_CONTINUE_NEEDED, SEC_E_OK]
        assert is_single_record(conn.server.steps[-1].output, CONTENT_HANDSHAKE)
        assert conn.client.steps[-1].output == b""


async def test_T8_server_ok_carries_a_session_ticket(form_kind: str) -> None:
    """T8: with session_tickets=True the server's SEC_E_OK output carries the ticket record."""
    async with open_form(form_kind) as form:
        ccred, scred = await acquire_pair(form, server=server_auth(session_tickets=True))
        conn = await handshake(form, ccred, scred)
        assert conn.server.statuses == [SEC_I_CONTINUE_NEEDED, SEC_E_OK]
        ticket = conn.server.steps[-1].output
        assert is_single_record(ticket, CONTENT_HANDSHAKE)
        assert conn.leftover == ticket


# --------------------------------------------------------------------------- T9


async def test_T9_final_attributes_include_the_stream_base(form_kind: str) -> None:
    """T9 [27]: final attributes include 0x801C (client) and 0x1001C (server)."""
    async with open_form(form_kind) as form:
        ccred, scred = await acquire_pair(form)
        conn = await handshake(form, ccred, scred)
        client_base = (
            ISC_RET_REPLAY_DETECT
            | ISC_RET_SEQUENCE_DETECT
            | ISC_RET_CONFIDENTIALITY
            | ISC_RET_STREAM
        )
        server_base = (
            ASC_RET_REPLAY_DETECT
            | ASC_RET_SEQUENCE_DETECT
            | ASC_RET_CONFIDENTIALITY
            | ASC_RET_STREAM
        )
        assert client_base == 0x801C
        assert server_base == 0x1001C
        assert conn.client.steps[-1].attrs & client_base == client_base
        assert conn.server.steps[-1].attrs & server_base == server_base


async def test_T9_honoured_client_flags_set_their_ret_bits(form_kind: str) -> None:
    """T9 [27]: each honoured client REQ flag sets its RET bit in the final attributes."""
    async with open_form(form_kind) as form:
        ccred, scred = await acquire_pair(form)
        flags = (
            ISC_FLAGS
            | ISC_REQ_EXTENDED_ERROR
            | ISC_REQ_ALLOCATE_MEMORY
            | ISC_REQ_USE_SUPPLIED_CREDS
            | ISC_REQ_MANUAL_CRED_VALIDATION
            | ISC_REQ_MUTUAL_AUTH
        )
        conn = await handshake(form, ccred, scred, isc_flags=flags)
        assert conn.client.statuses[-1] == SEC_E_OK
        expected = (
            0x801C
            | ISC_RET_EXTENDED_ERROR
            | ISC_RET_ALLOCATED_MEMORY
            | ISC_RET_USED_SUPPLIED_CREDS
            | ISC_RET_MANUAL_CRED_VALIDATION
            | ISC_RET_MUTUAL_AUTH
        )
        assert conn.client.steps[-1].attrs & expected == expected


@pytest.mark.parametrize("rounds", [1, 2])
async def test_T9_allocate_memory_is_reported_in_the_final_attributes(
    form_kind: str, rounds: int
) -> None:
    """T9 [27]: ALLOCATE_MEMORY on every call → ALLOCATED_MEMORY in both final attributes."""
    async with open_form(form_kind) as form:
        ccred, scred = await acquire_pair(form, client_auth(rounds=rounds))
        conn = await handshake(
            form,
            ccred,
            scred,
            isc_flags=ISC_FLAGS | ISC_REQ_ALLOCATE_MEMORY,
            asc_flags=ASC_FLAGS | ASC_REQ_ALLOCATE_MEMORY,
        )
        assert conn.client.statuses[-1] == SEC_E_OK
        assert conn.server.statuses[-1] == SEC_E_OK
        attrs = {"client": conn.client.steps[-1].attrs, "server": conn.server.steps[-1].attrs}
        missing = {side: hex(value) for side, value in attrs.items() if not value & 0x100}
        assert ISC_RET_ALLOCATED_MEMORY == ASC_RET_ALLOCATED_MEMORY == 0x100
        assert missing == {}


async def test_T9_client_flags_accumulate_across_calls(form_kind: str) -> None:
    """T9 [27]: flags asked only on the first ISC still show in the final attributes."""
    async with open_form(form_kind) as form:
        ccred, scred = await acquire_pair(form, client_auth(rounds=2))
        first = ISC_FLAGS | ISC_REQ_EXTENDED_ERROR | ISC_REQ_MANUAL_CRED_VALIDATION
        conn = await handshake(
            form, ccred, scred, isc_flags=first, later_isc_flags=ISC_REQ_USE_SUPPLIED_CREDS
        )
        assert conn.client.statuses == [SEC_I_CONTINUE_NEEDED, SEC_I_CONTINUE_NEEDED, SEC_E_OK]
        expected = (
            0x809C
            | ISC_RET_EXTENDED_ERROR
            | ISC_RET_MANUAL_CRED_VALIDATION
            | ISC_RET_USED_SUPPLIED_CREDS
        )
        assert conn.client.steps[-1].attrs & expected == expected


async def test_T9_honoured_server_flags_set_their_ret_bits(form_kind: str) -> None:
    """T9: EXTENDED_ERROR, MUTUAL_AUTH and ALLOCATE_MEMORY set their ASC_RET bits."""
    async with open_form(form_kind) as form:
        ccred, scred = await acquire_pair(form)
        first = ASC_FLAGS | ASC_REQ_EXTENDED_ERROR | ASC_REQ_MUTUAL_AUTH | ASC_REQ_ALLOCATE_MEMORY
        conn = await handshake(form, ccred, scred, asc_flags=first, later_asc_flags=ASC_FLAGS)
        assert conn.server.statuses == [SEC_I_CONTINUE_NEEDED, SEC_E_OK]
        assert conn.server.steps[0].attrs & ASC_RET_ALLOCATED_MEMORY == ASC_RET_ALLOCATED_MEMORY
        expected = 0x1001C | ASC_RET_EXTENDED_ERROR | ASC_RET_MUTUAL_AUTH
        assert conn.server.steps[-1].attrs & expected == expected


# --------------------------------------------------------------------------- T11


@pytest.mark.parametrize("rounds", [1, 2])
async def test_T11_mismatched_secrets_fail_both_sides_with_an_alert(
    form_kind: str, rounds: int
) -> None:
    """T11: mismatched secrets → server LOGON_DENIED, client an error, a fatal alert sent."""
    async with open_form(form_kind) as form:
        ccred, scred = await acquire_pair(
            form, client_auth(rounds=rounds, secret="wrong"), server_auth()
        )
        client = Side(True, ccred, ISC_FLAGS)
        server = Side(False, scred, ASC_FLAGS)
        token = (await client.step(form, None)).output
        turn, other = server, client
        alert_step = None
        for _ in range(6):
            step = await turn.step(form, token)
            if not SEC_SUCCESS(step.status):
                alert_step = step
                break
            token = step.output
            turn, other = other, turn
        assert alert_step is not None
        assert alert_step.output[0] == CONTENT_ALERT
        assert is_single_record(alert_step.output, CONTENT_ALERT)
        assert alert_step.output[5] == TLS1_ALERT_FATAL
        peer = await other.step(form, alert_step.output)
        assert not SEC_SUCCESS(peer.status)
        assert server.statuses[-1] == SEC_E_LOGON_DENIED
        assert not SEC_SUCCESS(client.statuses[-1])


async def test_T11_alert_goes_to_the_alert_buffer_when_one_is_passed(form_kind: str) -> None:
    """T11: the server's alert lands in the ALERT buffer when one is passed, TOKEN cbBuffer 0."""
    async with open_form(form_kind) as form:
        ccred, scred = await acquire_pair(form, client_auth(rounds=2, secret="wrong"))
        client = Side(True, ccred, ISC_FLAGS)
        server = Side(False, scred, ASC_FLAGS)
        token = (await client.step(form, None)).output
        token = (await server.step(form, token)).output
        token = (await client.step(form, token)).output
        pOutput = SecBufferDesc(
            [
                SecBuffer(SECBUFFER_TOKEN, 8192, bytearray(8192)),
                SecBuffer(SECBUFFER_ALERT, 8192, bytearray(8192)),
            ]
        )
        step = await server.step(form, token, pOutput=pOutput)
        assert step.status == SEC_E_LOGON_DENIED
        assert pOutput.pBuffers[0].cbBuffer == 0
        alert = output_bytes(pOutput, 1)
        assert is_single_record(alert, CONTENT_ALERT)
        assert alert[5] == TLS1_ALERT_FATAL


async def test_T11_a_failed_context_stays_failed(form_kind: str) -> None:
    """T11: a server context that failed with LOGON_DENIED keeps failing, and never encrypts."""
    async with open_form(form_kind) as form:
        ccred, scred = await acquire_pair(form, client_auth(rounds=2, secret="wrong"))
        client = Side(True, ccred, ISC_FLAGS)
        server = Side(False, scred, ASC_FLAGS)
        token = (await client.step(form, None)).output
        token = (await server.step(form, token)).output
        token = (await client.step(form, token)).output
        assert (await server.step(form, token)).status == SEC_E_LOGON_DENIED
        again = await server.step(form, token)
        assert again.status == SEC_E_LOGON_DENIED
        assert server.ctx is not None
        desc = SecBufferDesc(
            [
                SecBuffer(SECBUFFER_STREAM_HEADER, 64, bytearray(64)),
                SecBuffer.of(SECBUFFER_DATA, bytearray(b"nope")),
                SecBuffer(SECBUFFER_STREAM_TRAILER, 256, bytearray(256)),
                SecBuffer(SECBUFFER_EMPTY),
            ]
        )
        assert not SEC_SUCCESS(EncryptMessage(server.ctx, 0, desc, 0))
        assert desc.pBuffers[1].data() == b"nope"


def test_T11_a_peer_fatal_alert_after_the_handshake_ends_the_context() -> None:
    """T11 [49]: a peer's fatal alert after the handshake fails DecryptMessage, ends the context."""
    conn = connect()
    token = struct.pack("<III", SCHANNEL_ALERT, TLS1_ALERT_FATAL, TLS1_ALERT_BAD_CERTIFICATE)
    assert (
        ApplyControlToken(conn.cctx, SecBufferDesc([SecBuffer.of(SECBUFFER_TOKEN, token)]))
        == SEC_E_OK
    )
    out = token_out(100)
    status = InitializeSecurityContext(
        conn.client.cred,
        conn.cctx,
        None,
        0,
        0,
        SECURITY_NATIVE_DREP,
        None,
        0,
        sentinel_handle(),
        out,
        None,
    )
    assert status == SEC_E_OK
    status, _ = decrypt(conn.sctx, output_bytes(out))
    assert not SEC_SUCCESS(status)
    desc = stream_buffers(conn.sctx, b"after the alert")
    assert not SEC_SUCCESS(EncryptMessage(conn.sctx, 0, desc, 0))
    assert desc.pBuffers[1].data() == b"after the alert"


# --------------------------------------------------------------------------- T13


def test_T13_every_use_of_a_deleted_server_handle_is_invalid_handle() -> None:
    """T13 [34]: every use of a deleted server handle → SEC_E_INVALID_HANDLE."""
    conn = connect()
    sctx = copy_handle(conn.sctx)
    record = encrypt(conn.cctx, b"late")
    assert DeleteSecurityContext(sctx) == SEC_E_OK
    new = sentinel_handle()
    status = AcceptSecurityContext(
        conn.server.cred,
        sctx,
        token_in(record),
        ASC_FLAGS,
        SECURITY_NATIVE_DREP,
        new,
        token_out(),
        None,
    )
    assert status == SEC_E_INVALID_HANDLE
    assert new == sentinel_handle()
    assert EncryptMessage(sctx, 0, stream_buffers(conn.cctx, b"x"), 0) == SEC_E_INVALID_HANDLE
    assert DecryptMessage(sctx, decrypt_desc(record), 0, None) == SEC_E_INVALID_HANDLE
    assert QueryContextAttributes(sctx, SECPKG_ATTR_STREAM_SIZES) == (SEC_E_INVALID_HANDLE, None)
    shutdown = SecBufferDesc([SecBuffer.of(SECBUFFER_TOKEN, struct.pack("<I", SCHANNEL_SHUTDOWN))])
    assert ApplyControlToken(sctx, shutdown) == SEC_E_INVALID_HANDLE
    assert ImpersonateSecurityContext(sctx) == SEC_E_INVALID_HANDLE
    assert RevertSecurityContext(sctx) == SEC_E_INVALID_HANDLE
    assert QuerySecurityContextToken(sctx) == (SEC_E_INVALID_HANDLE, None)
    assert DeleteSecurityContext(sctx) == SEC_E_INVALID_HANDLE
    # The client side of the connection is unaffected.
    assert QueryContextAttributes(conn.cctx, SECPKG_ATTR_STREAM_SIZES)[0] == SEC_E_OK


async def test_T13_deleted_client_handle_is_invalid_for_isc_and_messages(form_kind: str) -> None:
    """T13 [34]: a deleted client handle → SEC_E_INVALID_HANDLE for ISC, messages and delete."""
    async with open_form(form_kind) as form:
        ccred, scred = await acquire_pair(form)
        conn = await handshake(form, ccred, scred)
        cctx = copy_handle(conn.cctx)
        assert await form.delete(cctx) == SEC_E_OK
        new = sentinel_handle()
        status = await form.isc(
            ccred, cctx, SERVER_NAME, 0, token_in(b"\x16\x03\x03"), new, token_out()
        )
        assert status == SEC_E_INVALID_HANDLE
        assert new == sentinel_handle()
        assert EncryptMessage(cctx, 0, stream_buffers(conn.sctx, b"x"), 0) == SEC_E_INVALID_HANDLE
        assert QueryContextAttributes(cctx, SECPKG_ATTR_STREAM_SIZES) == (
            SEC_E_INVALID_HANDLE,
            None,
        )
        assert await form.delete(cctx) == SEC_E_INVALID_HANDLE


async def test_T13_a_handle_of_the_other_side_is_invalid_handle(form_kind: str) -> None:
    """T13: a server handle in ISC, or a client handle in ASC → SEC_E_INVALID_HANDLE."""
    async with open_form(form_kind) as form:
        ccred, scred = await acquire_pair(form)
        conn = await handshake(form, ccred, scred)
        record = encrypt(conn.cctx, b"x")
        new = sentinel_handle()
        status = await form.isc(
            ccred, conn.sctx, SERVER_NAME, 0, token_in(record), new, token_out()
        )
        assert status == SEC_E_INVALID_HANDLE
        status = await form.asc(scred, conn.cctx, token_in(record), 0, new, token_out())
        assert status == SEC_E_INVALID_HANDLE
        assert new == sentinel_handle()


async def test_T13_async_delete_completes_ok_and_unknown_handle_invalid() -> None:
    """T13: SspiDeleteSecurityContextAsync completes OK, then INVALID_HANDLE for dead handles."""
    async with open_form("classic") as form:
        ccred, scred = await acquire_pair(form)
        conn = await handshake(form, ccred, scred)
        actx = await SspiCreateAsyncContext()
        try:
            for handle, expected in (
                (conn.sctx, SEC_E_OK),
                (conn.sctx, SEC_E_INVALID_HANDLE),
                (CtxtHandle(0x1234, 0x1), SEC_E_INVALID_HANDLE),
                (CtxtHandle(), SEC_E_INVALID_HANDLE),
            ):
                assert await SspiDeleteSecurityContextAsync(actx, handle) == SEC_E_OK
                assert await wait_async_call(actx) == expected
        finally:
            await SspiFreeAsyncContext(actx)


async def test_T13_deleting_a_half_finished_context_works(form_kind: str) -> None:
    """T13: half-finished client and server contexts can be deleted; their handles die."""
    async with open_form(form_kind) as form:
        ccred, scred = await acquire_pair(form)
        client = Side(True, ccred, ISC_FLAGS)
        server = Side(False, scred, ASC_FLAGS)
        hello = await client.step(form, None)
        flight = await server.step(form, hello.output)
        assert await form.delete(client.ctx) == SEC_E_OK
        assert await form.delete(server.ctx) == SEC_E_OK
        new = sentinel_handle()
        status = await form.isc(
            ccred, client.ctx, SERVER_NAME, 0, token_in(flight.output), new, token_out()
        )
        assert status == SEC_E_INVALID_HANDLE
        assert new == sentinel_handle()
        assert await form.delete(server.ctx) == SEC_E_INVALID_HANDLE


async def test_T13_handles_are_unguessable_and_never_valid_again(form_kind: str) -> None:
    """T13/§2: context handles differ in many bits and a deleted one never comes back."""
    async with open_form(form_kind) as form:
        ccred, _ = await acquire_pair(form)
        handles = []
        for _ in range(12):
            side = Side(True, ccred, ISC_FLAGS)
            assert (await side.step(form, None)).status == SEC_I_CONTINUE_NEEDED
            assert side.ctx is not None
            handles.append(side.ctx)
        lowers = [h.dwLower for h in handles]
        assert len(set(lowers)) == len(lowers)
        for a, b in itertools.pairwise(lowers):
            assert hamming(a, b) >= 8, (hex(a), hex(b))
        dead = copy_handle(handles[0])
        assert await form.delete(dead) == SEC_E_OK
        for _ in range(50):
            side = Side(True, ccred, ISC_FLAGS)
            await side.step(form, None)
            assert side.ctx != dead
        assert QueryContextAttributes(dead, SECPKG_ATTR_STREAM_SIZES) == (
            SEC_E_INVALID_HANDLE,
            None,
        )
        assert await form.delete(dead) == SEC_E_INVALID_HANDLE
