"""Token rules T1–T8 on the real Schannel package through the flat facade (SPEC §4; reference §6,
§7 and cases 11–26, 41).

Every handshake rule runs through the classic functions and through the async ones (the
``form_kind`` parameter; :func:`helpers.open_form` gives each test a fresh emulator), on TLS 1.3
and, where the message sequence differs, on TLS 1.2.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sspi_async.sspi import (
    ISC_REQ_ALLOCATE_MEMORY,
    ISC_REQ_CONFIDENTIALITY,
    ISC_REQ_STREAM,
    ISC_RET_ALLOCATED_MEMORY,
    SEC_E_BUFFER_TOO_SMALL,
    SEC_E_INCOMPLETE_MESSAGE,
    SEC_E_INSUFFICIENT_MEMORY,
    SEC_E_INVALID_TOKEN,
    SEC_E_OK,
    SEC_I_CONTINUE_NEEDED,
    SEC_SUCCESS,
    SECBUFFER_ALERT,
    SECBUFFER_EMPTY,
    SECBUFFER_EXTRA,
    SECBUFFER_MISSING,
    SECBUFFER_TOKEN,
    SECPKG_CRED_INBOUND,
    SECPKG_CRED_OUTBOUND,
    SECURITY_NATIVE_DREP,
    ULONG,
    UNISP_NAME,
    AcceptSecurityContext,
    AcquireCredentialsHandle,
    CredHandle,
    CtxtHandle,
    DeleteSecurityContext,
    FreeContextBuffer,
    FreeCredentialsHandle,
    SecBuffer,
    SecBufferDesc,
    SecIsValidHandle,
)
from tests.facade.helpers import (
    ASC_FLAGS,
    CONTENT_HANDSHAKE,
    FORMS,
    ISC_FLAGS,
    SENTINEL,
    ClassicForm,
    Form,
    Side,
    decrypt,
    encrypt,
    open_form,
    output_bytes,
    plaintext_of,
    record_length_field,
    run_sync,
    sentinel_handle,
    token_in,
    token_out,
)
from tests.facade.schannel_helpers import (
    SCHANNEL,
    TARGET,
    TLS12,
    client_cred,
    connected,
    feed_in_pieces,
    read_tickets,
    records,
    schannel_pair,
    server_cred,
    sides,
)

SHAPES = {"tls13": None, "tls12": TLS12}


@pytest.fixture(params=FORMS)
def form_kind(request: pytest.FixtureRequest) -> str:
    """Run the test through the classic functions and through the async ones."""
    return str(request.param)


@pytest.fixture(params=list(SHAPES))
def tls(request: pytest.FixtureRequest) -> str:
    """Run the test on TLS 1.3 and on TLS 1.2."""
    return str(request.param)


def client_for(tls: str) -> object:
    protocols = SHAPES[tls]
    return client_cred(enabled_protocols=protocols) if protocols else client_cred()


async def first_isc(
    form: Form,
    *,
    pInput: SecBufferDesc | None = None,
    pOutput: SecBufferDesc | None = None,
    flags: int = ISC_FLAGS,
) -> tuple[int, CtxtHandle, SecBufferDesc, int]:
    """The client's first ISC on a fresh OUTBOUND Schannel credential."""
    ccred, _ = await schannel_pair(form)
    new = sentinel_handle()
    out = token_out() if pOutput is None else pOutput
    attr = ULONG()
    status = await form.isc(ccred, None, TARGET, flags, pInput, new, out, attr)
    return status, new, out, attr.value


async def server_flight(form: Form, tls: str = "tls13") -> tuple[Side, Side, bytes]:
    """A client after its ClientHello, the server after its first flight, and that flight."""
    client, server = sides(*await schannel_pair(form, client_for(tls)))
    hello = await client.step(form, None)
    assert hello.status == SEC_I_CONTINUE_NEEDED
    flight = await server.step(form, hello.output)
    assert flight.status == SEC_I_CONTINUE_NEEDED
    return client, server, flight.output


def is_client_hello(token: bytes) -> bool:
    (kind, body), *rest = records(token)
    return kind == CONTENT_HANDSHAKE and body[0] == 1 and not rest


# --------------------------------------------------------------------------- T1


async def test_T1_case18_first_isc_without_input_is_a_client_hello(form_kind: str) -> None:
    """T1 [18]: first ISC, pInput None → CONTINUE_NEEDED, a ClientHello record, a new handle."""
    async with open_form(form_kind) as form:
        status, new, out, _ = await first_isc(form)
        assert status == SEC_I_CONTINUE_NEEDED
        assert out.pBuffers[0].BufferType == SECBUFFER_TOKEN
        assert is_client_hello(output_bytes(out))
        assert SecIsValidHandle(new)
        assert new != sentinel_handle()


async def test_T1_case11_single_empty_input_buffer(form_kind: str) -> None:
    """T1 [11]: first ISC with one empty EMPTY input buffer and ALLOCATE_MEMORY → CONTINUE."""
    async with open_form(form_kind) as form:
        status, new, out, _ = await first_isc(
            form,
            pInput=SecBufferDesc([SecBuffer(SECBUFFER_EMPTY, 0, None)]),
            pOutput=SecBufferDesc([SecBuffer(SECBUFFER_TOKEN, 1000, None)]),
            flags=ISC_REQ_CONFIDENTIALITY | ISC_REQ_STREAM | ISC_REQ_ALLOCATE_MEMORY,
        )
        assert status == SEC_I_CONTINUE_NEEDED
        assert is_client_hello(output_bytes(out))
        assert SecIsValidHandle(new)
        assert FreeContextBuffer(out.pBuffers[0].pvBuffer) == SEC_E_OK


async def test_T1_unisp_name_selects_schannel(form_kind: str) -> None:
    """T1/C1: a credential acquired under UNISP_NAME starts a Schannel handshake too."""
    async with open_form(form_kind) as form:
        status, ccred, _ = await form.acquire(
            SECPKG_CRED_OUTBOUND, client_cred(), package=UNISP_NAME
        )
        assert status == SEC_E_OK
        client = Side(True, ccred, ISC_FLAGS, TARGET)
        hello = await client.step(form, None)
        assert hello.status == SEC_I_CONTINUE_NEEDED
        assert is_client_hello(hello.output)


# --------------------------------------------------------------------------- T2


async def test_T2_case12_zero_sized_token_is_insufficient_memory(form_kind: str) -> None:
    """T2 [12]: output TOKEN cbBuffer 0 without ALLOCATE_MEMORY → SEC_E_INSUFFICIENT_MEMORY."""
    async with open_form(form_kind) as form:
        status, new, out, _ = await first_isc(
            form, pOutput=SecBufferDesc([SecBuffer(SECBUFFER_TOKEN, 0, None)])
        )
        assert status == SEC_E_INSUFFICIENT_MEMORY
        assert (out.pBuffers[0].cbBuffer, out.pBuffers[0].pvBuffer) == (0, None)
        assert new == sentinel_handle()


async def test_T2_case13_zero_sized_alert_is_insufficient_memory(form_kind: str) -> None:
    """T2 [13]: TOKEN 8192 + ALERT cbBuffer 0, no ALLOCATE → SEC_E_INSUFFICIENT_MEMORY."""
    async with open_form(form_kind) as form:
        pOutput = SecBufferDesc(
            [SecBuffer(SECBUFFER_TOKEN, 8192, bytearray(8192)), SecBuffer(SECBUFFER_ALERT, 0, None)]
        )
        status, new, _, _ = await first_isc(form, pOutput=pOutput)
        assert status == SEC_E_INSUFFICIENT_MEMORY
        assert new == sentinel_handle()


async def test_T2_case14_allocate_memory_replaces_the_callers_buffer(form_kind: str) -> None:
    """T2 [14]: ALLOCATE_MEMORY replaces a caller pvBuffer with an exact, freeable object."""
    async with open_form(form_kind) as form:
        caller = bytearray(b"\xde\xad\xbe\xef")
        pOutput = SecBufferDesc(
            [SecBuffer(SECBUFFER_TOKEN, 0, caller), SecBuffer(SECBUFFER_ALERT, 0, None)]
        )
        status, _, out, attrs = await first_isc(
            form, pOutput=pOutput, flags=ISC_FLAGS | ISC_REQ_ALLOCATE_MEMORY
        )
        assert status == SEC_I_CONTINUE_NEEDED
        token = out.pBuffers[0]
        assert token.pvBuffer is not caller
        assert caller == bytearray(b"\xde\xad\xbe\xef")
        assert token.pvBuffer is not None
        assert len(token.pvBuffer) == token.cbBuffer
        assert is_client_hello(token.data())
        assert out.pBuffers[1].cbBuffer == 0
        assert attrs & ISC_RET_ALLOCATED_MEMORY
        assert FreeContextBuffer(token.pvBuffer) == SEC_E_OK


async def test_T2_case15_alert_buffer_without_alert_gets_zero_size(form_kind: str) -> None:
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
        assert is_client_hello(output_bytes(out))


async def test_T2_case16_null_pvbuffer_makes_the_package_allocate(form_kind: str) -> None:
    """T2 [16]: TOKEN pvBuffer None, cbBuffer 1000, no ALLOCATE → a package allocation."""
    async with open_form(form_kind) as form:
        status, _, out, _ = await first_isc(
            form, pOutput=SecBufferDesc([SecBuffer(SECBUFFER_TOKEN, 1000, None)])
        )
        assert status == SEC_I_CONTINUE_NEEDED
        token = out.pBuffers[0]
        assert token.pvBuffer is not None
        assert is_client_hello(token.data())
        assert FreeContextBuffer(token.pvBuffer) == SEC_E_OK


async def test_T2_case17_null_output_is_invalid_token(form_kind: str) -> None:
    """T2 [17]: first ISC with pOutput None → SEC_E_INVALID_TOKEN, no handle."""
    async with open_form(form_kind) as form:
        ccred, _ = await schannel_pair(form)
        new = sentinel_handle()
        assert (
            await form.isc(ccred, None, TARGET, ISC_FLAGS, None, new, None) == SEC_E_INVALID_TOKEN
        )
        assert new == sentinel_handle()


async def test_T2_buffer_too_small_then_retry_with_a_bigger_buffer(form_kind: str) -> None:
    """T2: the ClientHello in an 8-byte buffer → BUFFER_TOO_SMALL, nothing written; retry works."""
    async with open_form(form_kind) as form:
        small = bytearray(8)
        status, new, _, _ = await first_isc(
            form, pOutput=SecBufferDesc([SecBuffer(SECBUFFER_TOKEN, 8, small)])
        )
        assert status == SEC_E_BUFFER_TOO_SMALL
        assert small == bytearray(8)
        assert new == sentinel_handle()
        status, new, out, _ = await first_isc(form)
        assert status == SEC_I_CONTINUE_NEEDED
        assert is_client_hello(output_bytes(out))


async def test_T2_buffer_too_small_on_a_continuation_loses_nothing(
    form_kind: str, tls: str
) -> None:
    """T2: BUFFER_TOO_SMALL on the client's second flight; the retry gets it and completes."""
    async with open_form(form_kind) as form:
        client, server, flight = await server_flight(form, tls)
        tight = SecBufferDesc([SecBuffer(SECBUFFER_TOKEN, 4, bytearray(4))])
        assert (await client.step(form, flight, pOutput=tight)).status == SEC_E_BUFFER_TOO_SMALL
        retry = await client.step(form, flight)
        assert SEC_SUCCESS(retry.status)
        assert retry.output
        token = retry.output
        while not (client.done and server.done):
            step = await (server if not server.done else client).step(form, token)
            assert SEC_SUCCESS(step.status), hex(step.status)
            token = step.output
        status, desc = decrypt(server.handle, encrypt(client.handle, b"after retry"))
        assert (status, plaintext_of(desc)) == (SEC_E_OK, b"after retry")


# --------------------------------------------------------------------------- T3, T4


async def test_T3_case21_continuation_without_input_is_incomplete(form_kind: str) -> None:
    """T3 [21]: ISC and ASC continuations with pInput None → INCOMPLETE, nothing written."""
    async with open_form(form_kind) as form:
        client, server, _ = await server_flight(form)
        new, out = sentinel_handle(), token_out()
        status = await form.isc(client.cred, client.ctx, TARGET, ISC_FLAGS, None, new, out)
        assert status == SEC_E_INCOMPLETE_MESSAGE
        new2, out2 = sentinel_handle(), token_out()
        status = await form.asc(server.cred, server.ctx, None, ASC_FLAGS, new2, out2)
        assert status == SEC_E_INCOMPLETE_MESSAGE
        for handle, desc in ((new, out), (new2, out2)):
            assert handle == sentinel_handle()
            assert desc.pBuffers[0].BufferType == SECBUFFER_TOKEN
            assert desc.pBuffers[0].cbBuffer == 8192


@pytest.mark.parametrize(("cut", "case"), [(0, "22"), (4, "23"), (5, "24"), (40, "partial-body")])
async def test_T4_cases_22_23_24_partial_input_reports_missing(
    form_kind: str, cut: int, case: str
) -> None:
    """T4 [22–24]: too few bytes → INCOMPLETE with the exact MISSING count, nothing written."""
    async with open_form(form_kind) as form:
        client, _, flight = await server_flight(form)
        expected = 5 - cut if cut < 5 else 5 + record_length_field(flight) - cut
        pInput = token_in(flight[:cut])
        out = token_out(8192)
        new = sentinel_handle()
        status = await form.isc(client.cred, client.ctx, TARGET, 0, pInput, new, out)
        assert status == SEC_E_INCOMPLETE_MESSAGE, case
        assert (pInput.pBuffers[1].BufferType, pInput.pBuffers[1].cbBuffer) == (
            SECBUFFER_MISSING,
            expected,
        )
        assert out.pBuffers[0].cbBuffer == 8192
        assert out.pBuffers[0].pvBuffer == bytearray(8192)
        assert new == sentinel_handle()


@pytest.mark.parametrize("chunk", [3, 100])
async def test_T4_client_fed_the_server_flight_in_pieces(
    form_kind: str, tls: str, chunk: int
) -> None:
    """T4/T6: the server flight a few bytes at a time: INCOMPLETE/MISSING, append, EXTRA, done."""
    async with open_form(form_kind) as form:
        client, server, flight = await server_flight(form, tls)
        steps, produced = await feed_in_pieces(form, client, flight, chunk)
        statuses = [s.status for s in steps]
        assert statuses.count(SEC_E_INCOMPLETE_MESSAGE) >= len(flight) // chunk // 2
        assert statuses[-1] == (SEC_E_OK if tls == "tls13" else SEC_I_CONTINUE_NEEDED)
        token = produced
        while not (client.done and server.done):
            step = await (server if not server.done else client).step(form, token)
            assert SEC_SUCCESS(step.status), hex(step.status)
            token = step.output
        read_tickets(client, token)
        status, desc = decrypt(client.handle, encrypt(server.handle, b"pieces"))
        assert (status, plaintext_of(desc)) == (SEC_E_OK, b"pieces")


async def test_T4_server_fed_the_client_flights_byte_by_byte(form_kind: str, tls: str) -> None:
    """T4: both client flights byte by byte: the server completes, MISSING exact every time."""
    async with open_form(form_kind) as form:
        client, server = sides(*await schannel_pair(form, client_for(tls)))
        hello = (await client.step(form, None)).output
        _, flight = await feed_in_pieces(form, server, hello, 1)
        assert server.statuses[-1] == SEC_I_CONTINUE_NEEDED
        second = await client.step(form, flight)
        assert second.status == (SEC_E_OK if tls == "tls13" else SEC_I_CONTINUE_NEEDED)
        _, final = await feed_in_pieces(form, server, second.output, 1)
        assert server.statuses[-1] == SEC_E_OK
        if tls == "tls12":
            assert (await client.step(form, final)).status == SEC_E_OK
        status, desc = decrypt(server.handle, encrypt(client.handle, b"bytes"))
        assert (status, plaintext_of(desc)) == (SEC_E_OK, b"bytes")


# --------------------------------------------------------------------------- T5


async def test_T5_case26_empty_input_buffer_with_a_size_is_invalid_token(form_kind: str) -> None:
    """T5 [26]: an input EMPTY buffer with cbBuffer 0xdeadbeef → SEC_E_INVALID_TOKEN."""
    async with open_form(form_kind) as form:
        client, _, flight = await server_flight(form)
        pInput = SecBufferDesc(
            [SecBuffer.of(SECBUFFER_TOKEN, flight), SecBuffer(SECBUFFER_EMPTY, SENTINEL, None)]
        )
        new = sentinel_handle()
        status = await form.isc(client.cred, client.ctx, TARGET, 0, pInput, new, token_out())
        assert status == SEC_E_INVALID_TOKEN
        assert new == sentinel_handle()


@pytest.mark.parametrize("fill", [0xFA, 0x00], ids=["0xFA", "zeros"])
async def test_T5_case19_garbage_is_invalid_token_with_empty_output(
    form_kind: str, fill: int
) -> None:
    """T5 [19]: 8192 bytes of garbage → SEC_E_INVALID_TOKEN and output cbBuffer 0."""
    async with open_form(form_kind) as form:
        client, _, _ = await server_flight(form)
        out = token_out(8192)
        pInput = SecBufferDesc([SecBuffer.of(SECBUFFER_TOKEN, bytes([fill]) * 8192)])
        status = await form.isc(client.cred, client.ctx, TARGET, 0, pInput, sentinel_handle(), out)
        assert status == SEC_E_INVALID_TOKEN
        assert out.pBuffers[0].cbBuffer == 0


async def test_T5_case20_garbage_with_a_zero_sized_output(form_kind: str) -> None:
    """T5 [20]: garbage with a 0-sized output → INSUFFICIENT_MEMORY or INVALID_TOKEN, cb 0."""
    async with open_form(form_kind) as form:
        client, _, _ = await server_flight(form)
        out = SecBufferDesc([SecBuffer(SECBUFFER_TOKEN, 0, None)])
        pInput = SecBufferDesc([SecBuffer.of(SECBUFFER_TOKEN, b"\xfa" * 8192)])
        status = await form.isc(client.cred, client.ctx, TARGET, 0, pInput, sentinel_handle(), out)
        assert status in (SEC_E_INSUFFICIENT_MEMORY, SEC_E_INVALID_TOKEN)
        assert out.pBuffers[0].cbBuffer == 0


async def test_T5_garbage_as_a_client_hello(form_kind: str) -> None:
    """T5/T11: garbage ClientHello → INVALID_TOKEN; a bogus record → error, at most an alert."""
    async with open_form(form_kind) as form:
        _, scred = await schannel_pair(form)
        out, new = token_out(8192), sentinel_handle()
        status = await form.asc(scred, None, token_in(b"\xfa" * 64), ASC_FLAGS, new, out)
        assert (status, out.pBuffers[0].cbBuffer, new) == (
            SEC_E_INVALID_TOKEN,
            0,
            sentinel_handle(),
        )
        out = token_out(8192)
        status = await form.asc(
            scred, None, token_in(b"\x16\x03\x03\x00\x05hello"), ASC_FLAGS, new, out
        )
        assert not SEC_SUCCESS(status)
        assert [kind for kind, _ in records(output_bytes(out))] in ([], [0x15])
        if new != sentinel_handle():
            assert DeleteSecurityContext(new) == SEC_E_OK


# --------------------------------------------------------------------------- T6


async def test_T6_a_tail_after_the_flight_comes_back_as_extra(form_kind: str) -> None:
    """T6: bytes after the server flight → input[1] SECBUFFER_EXTRA with the tail's length."""
    async with open_form(form_kind) as form:
        client, _, flight = await server_flight(form)
        tail = b"\x17\x03\x03\x00\x10ab"
        step = await client.step(form, flight + tail)
        assert step.status == SEC_E_OK
        assert step.in_desc is not None
        assert (step.in_desc.pBuffers[1].BufferType, step.in_desc.pBuffers[1].cbBuffer) == (
            SECBUFFER_EXTRA,
            len(tail),
        )
        assert step.extra == tail


async def test_T6_handshake_then_application_data_in_one_buffer(form_kind: str, tls: str) -> None:
    """T6: the last flight + an application record in one buffer → OK with EXTRA; it decrypts."""
    async with open_form(form_kind) as form:
        client, server, flight = await server_flight(form, tls)
        second = await client.step(form, flight)
        if tls == "tls13":  # the server completes on the client's Finished
            receiver, sender, last = server, client, second.output
        else:  # the client completes on the server's ChangeCipherSpec/Finished
            final = await server.step(form, second.output)
            assert final.status == SEC_E_OK
            receiver, sender, last = client, server, final.output
        record = encrypt(sender.handle, b"right behind the handshake")
        step = await receiver.step(form, last + record)
        assert step.status == SEC_E_OK
        assert step.extra == record
        status, desc = decrypt(receiver.handle, step.extra)
        assert (status, plaintext_of(desc)) == (SEC_E_OK, b"right behind the handshake")


# --------------------------------------------------------------------------- T7, T8


async def test_T7_cases_25_41_new_context_equals_context(form_kind: str, tls: str) -> None:
    """T7 [25, 41]: on every continuation phNewContext receives exactly phContext, both sides."""
    async with open_form(form_kind) as form:
        conn = await connected(form, client_for(tls))
        for side in (conn.client, conn.server):
            first, *later = side.steps
            assert first.ctx_before is None
            assert later
            for step in later:
                assert step.ctx_before == first.new_ctx == step.new_ctx


async def test_T8_tls13_sequence(form_kind: str) -> None:
    """T8: TLS 1.3 — client CONTINUE, OK(Finished); server CONTINUE, OK(session tickets)."""
    async with open_form(form_kind) as form:
        conn = await connected(form)
        assert conn.client.statuses == [SEC_I_CONTINUE_NEEDED, SEC_E_OK]
        assert conn.server.statuses == [SEC_I_CONTINUE_NEEDED, SEC_E_OK]
        assert conn.client.steps[-1].output
        assert conn.leftover == conn.server.steps[-1].output
        assert conn.leftover
        assert {kind for kind, _ in records(conn.leftover)} == {0x17}


async def test_T8_tls13_without_tickets_the_server_ok_is_empty(form_kind: str) -> None:
    """T8: session_tickets=False → the TLS 1.3 server's SEC_E_OK carries no token."""
    async with open_form(form_kind) as form:
        conn = await connected(form, server=server_cred(session_tickets=False))
        assert conn.server.steps[-1].output == b""


async def test_T8_case41_tls12_sequence(form_kind: str) -> None:
    """T8 [41, 27]: TLS 1.2 — client CONTINUE, CONTINUE, OK(cb 0); server CONTINUE, OK(token)."""
    async with open_form(form_kind) as form:
        conn = await connected(form, client_cred(enabled_protocols=TLS12))
        assert conn.client.statuses == [SEC_I_CONTINUE_NEEDED, SEC_I_CONTINUE_NEEDED, SEC_E_OK]
        assert conn.server.statuses == [SEC_I_CONTINUE_NEEDED, SEC_E_OK]
        assert conn.server.steps[-1].output
        assert conn.client.steps[-1].out_desc.pBuffers[0].cbBuffer == 0


# --------------------------------------------------------------------------- fuzzing


def _fresh_server_call(data: bytes) -> tuple[int, SecBufferDesc]:
    """A first AcceptSecurityContext over ``data`` on a fresh credential; everything freed."""
    cred = CredHandle()
    assert AcquireCredentialsHandle(None, SCHANNEL, SECPKG_CRED_INBOUND, None, server_cred(), None, None, cred, None) == SEC_E_OK  # fmt: skip
    new, out, pInput = sentinel_handle(), token_out(), token_in(data)
    status = AcceptSecurityContext(
        cred, None, pInput, ASC_FLAGS, SECURITY_NATIVE_DREP, new, out, None
    )
    if status == SEC_E_INCOMPLETE_MESSAGE:
        assert pInput.pBuffers[1].BufferType == SECBUFFER_MISSING
        assert pInput.pBuffers[1].cbBuffer > 0
    if status == SEC_E_INCOMPLETE_MESSAGE:  # T4: the output is left untouched
        assert out.pBuffers[0].cbBuffer == len(out.pBuffers[0].pvBuffer or b"")
    elif not SEC_SUCCESS(status):  # T5/T11: nothing, or one alert record, goes out
        assert [kind for kind, _ in records(output_bytes(out))] in ([], [0x15])
    if new != sentinel_handle():
        assert DeleteSecurityContext(new) == SEC_E_OK
    assert FreeCredentialsHandle(cred) == SEC_E_OK
    return status, pInput


FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(
    st.one_of(
        st.binary(min_size=1, max_size=400),
        st.builds(
            lambda kind, body: bytes((kind, 3, 3)) + len(body).to_bytes(2, "big") + body,
            st.sampled_from([20, 21, 22, 23, 24]),
            st.binary(max_size=300),
        ),
    )
)
def test_T5_fuzz_random_client_hello_never_crashes_or_completes(data: bytes) -> None:
    """T4/T5/T11: random bytes or records as a ClientHello: no exception, never SEC_E_OK."""
    status, _ = _fresh_server_call(data)
    assert status != SEC_E_OK
    assert status in (SEC_I_CONTINUE_NEEDED, SEC_E_INCOMPLETE_MESSAGE) or not SEC_SUCCESS(status)


@FUZZ
@given(st.integers(0, 255), st.binary(max_size=300))
def test_T5_fuzz_whole_random_handshake_message_is_an_error(kind: int, body: bytes) -> None:
    """T5/T11: one whole handshake message of random content as a ClientHello → an error."""
    message = bytes((kind,)) + len(body).to_bytes(3, "big") + body
    status, _ = _fresh_server_call(b"\x16\x03\x03" + len(message).to_bytes(2, "big") + message)
    assert not SEC_SUCCESS(status)


@FUZZ
@given(st.integers(0, 1 << 16), st.integers(1, 255))
def test_T5_fuzz_mutated_server_flight_through_isc(where: int, xor: int) -> None:
    """T11: a server flight with one byte changed, through ISC: no exception, never a hang."""
    form = ClassicForm()
    client, server, flight = run_sync(server_flight(form))
    mutated = bytearray(flight)
    mutated[where % len(mutated)] ^= xor
    step = run_sync(client.step(form, bytes(mutated)))
    assert step.status in (SEC_E_OK, SEC_I_CONTINUE_NEEDED, SEC_E_INCOMPLETE_MESSAGE) or not SEC_SUCCESS(step.status)  # fmt: skip
    for side in (client, server):
        assert DeleteSecurityContext(side.ctx) == SEC_E_OK
        assert FreeCredentialsHandle(side.cred) == SEC_E_OK
