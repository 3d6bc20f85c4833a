"""Final attributes (T9), server-certificate validation (T10), failures and alerts (T11), ALPN
(T12) and deleted contexts (T13) on the real Schannel package through the flat facade (SPEC §4;
reference cases 27, 34, 39–42).

Each rule runs through the classic and the async functions (``form_kind``).
"""

from __future__ import annotations

import struct

import pytest

from sspi_async.sspi import (
    ASC_REQ_ALLOCATE_MEMORY,
    ASC_REQ_EXTENDED_ERROR,
    ASC_REQ_MUTUAL_AUTH,
    ASC_RET_ALLOCATED_MEMORY,
    ASC_RET_EXTENDED_ERROR,
    ASC_RET_MUTUAL_AUTH,
    ISC_REQ_ALLOCATE_MEMORY,
    ISC_REQ_EXTENDED_ERROR,
    ISC_REQ_MANUAL_CRED_VALIDATION,
    ISC_REQ_MUTUAL_AUTH,
    ISC_REQ_USE_SUPPLIED_CREDS,
    ISC_RET_ALLOCATED_MEMORY,
    ISC_RET_EXTENDED_ERROR,
    ISC_RET_MANUAL_CRED_VALIDATION,
    ISC_RET_MUTUAL_AUTH,
    SCHANNEL_SHUTDOWN,
    SEC_E_APPLICATION_PROTOCOL_MISMATCH,
    SEC_E_CERT_EXPIRED,
    SEC_E_INVALID_HANDLE,
    SEC_E_INVALID_TOKEN,
    SEC_E_MESSAGE_ALTERED,
    SEC_E_OK,
    SEC_E_TARGET_UNKNOWN,
    SEC_E_UNSUPPORTED_FUNCTION,
    SEC_E_UNTRUSTED_ROOT,
    SEC_E_WRONG_PRINCIPAL,
    SEC_I_CONTINUE_NEEDED,
    SEC_SUCCESS,
    SECBUFFER_ALERT,
    SECBUFFER_APPLICATION_PROTOCOLS,
    SECBUFFER_DATA,
    SECBUFFER_EMPTY,
    SECBUFFER_STREAM_HEADER,
    SECBUFFER_STREAM_TRAILER,
    SECBUFFER_TOKEN,
    SECPKG_ATTR_APPLICATION_PROTOCOL,
    SECPKG_ATTR_REMOTE_CERT_CONTEXT,
    SECPKG_ATTR_STREAM_SIZES,
    ApplyControlToken,
    CtxtHandle,
    DecryptMessage,
    EncryptMessage,
    FreeContextBuffer,
    ImpersonateSecurityContext,
    QueryContextAttributes,
    QuerySecurityContextToken,
    SecBuffer,
    SecBufferDesc,
    SspiCreateAsyncContext,
    SspiDeleteSecurityContextAsync,
    SspiFreeAsyncContext,
    encode_application_protocols,
    wait_async_call,
)
from tests.facade.helpers import (
    ASC_FLAGS,
    FORMS,
    ISC_FLAGS,
    Connection,
    alpn_payload,
    copy_handle,
    decrypt_desc,
    encrypt,
    handshake,
    open_form,
    output_bytes,
    sentinel_handle,
    stream_buffers,
    token_in,
    token_out,
)
from tests.facade.schannel_helpers import (
    TARGET,
    TLS12,
    TLS13,
    client_cert_cred,
    client_cred,
    connected,
    offered_versions,
    pki,
    records,
    schannel_pair,
    server_cred,
    sides,
)

NO_APP_PROTOCOL_ALERT = bytes.fromhex("15 03 03 00 02 02 78")


@pytest.fixture(params=FORMS)
def form_kind(request: pytest.FixtureRequest) -> str:
    """Run the test through the classic functions and through the async ones."""
    return str(request.param)


def alert_desc() -> SecBufferDesc:
    """An output descriptor with a TOKEN and an ALERT buffer (T11)."""
    return SecBufferDesc(
        [
            SecBuffer(SECBUFFER_TOKEN, 8192, bytearray(8192)),
            SecBuffer(SECBUFFER_ALERT, 8192, bytearray(8192)),
        ]
    )


# --------------------------------------------------------------------------- T9


async def test_T9_case27_tls12_client_attributes_reflect_the_whole_context(form_kind: str) -> None:
    """T9 [27]: later calls pass only USE_SUPPLIED_CREDS → final attributes exactly 0x809C."""
    async with open_form(form_kind) as form:
        conn = await connected(
            form,
            client_cred(enabled_protocols=TLS12),
            later_isc_flags=ISC_REQ_USE_SUPPLIED_CREDS,
        )
        assert conn.client.steps[-1].attrs == 0x809C
        assert conn.server.steps[-1].attrs == 0x1001C


async def test_T9_honoured_flags_set_their_ret_bits(form_kind: str) -> None:
    """T9: EXTENDED_ERROR, ALLOCATE_MEMORY, MANUAL_CRED_VALIDATION, MUTUAL_AUTH → RET bits."""
    async with open_form(form_kind) as form:
        isc = ISC_FLAGS | ISC_REQ_EXTENDED_ERROR | ISC_REQ_ALLOCATE_MEMORY
        isc |= ISC_REQ_MANUAL_CRED_VALIDATION | ISC_REQ_MUTUAL_AUTH
        asc = ASC_FLAGS | ASC_REQ_EXTENDED_ERROR | ASC_REQ_ALLOCATE_MEMORY | ASC_REQ_MUTUAL_AUTH
        ccred, scred = await schannel_pair(form, client_cert_cred())
        conn = await handshake(form, ccred, scred, target=TARGET, isc_flags=isc, asc_flags=asc)
        assert not conn.failed
        client_ret = ISC_RET_EXTENDED_ERROR | ISC_RET_ALLOCATED_MEMORY
        client_ret |= ISC_RET_MANUAL_CRED_VALIDATION | ISC_RET_MUTUAL_AUTH | 0x801C
        server_ret = (
            ASC_RET_EXTENDED_ERROR | ASC_RET_ALLOCATED_MEMORY | ASC_RET_MUTUAL_AUTH | 0x1001C
        )
        assert conn.client.steps[-1].attrs & client_ret == client_ret
        assert conn.server.steps[-1].attrs & server_ret == server_ret
        for side in (conn.client, conn.server):
            for step in side.steps:
                if step.output:
                    assert FreeContextBuffer(step.out_desc.pBuffers[0].pvBuffer) == SEC_E_OK


# --------------------------------------------------------------------------- T10

BAD_SERVERS = {
    "untrusted": (lambda: client_cred(trusted_roots=pki().other_ca.cert_pem), lambda: server_cred(), TARGET, SEC_E_UNTRUSTED_ROOT),
    "expired": (client_cred, lambda: server_cred(pki().expired), TARGET, SEC_E_CERT_EXPIRED),
    "not-yet-valid": (client_cred, lambda: server_cred(pki().not_yet_valid), TARGET, SEC_E_CERT_EXPIRED),
    "wrong-name": (client_cred, lambda: server_cred(), "www.example.org", SEC_E_WRONG_PRINCIPAL),
}  # fmt: skip


@pytest.mark.parametrize("case", list(BAD_SERVERS))
@pytest.mark.parametrize("tls", ["tls13", "tls12"])
async def test_T10_bad_server_certificate_fails_the_client(
    form_kind: str, case: str, tls: str
) -> None:
    """T10/T11: a bad server certificate fails the client; its alert fails the server."""
    make_client, make_server, target, expected = BAD_SERVERS[case]
    client_auth = make_client()
    if tls == "tls12":
        client_auth = client_auth.model_copy(update={"enabled_protocols": TLS12})
    async with open_form(form_kind) as form:
        ccred, scred = await schannel_pair(form, client_auth, make_server())
        client, server = sides(ccred, scred, target=target)
        flight = (await server.step(form, (await client.step(form, None)).output)).output
        out = alert_desc()
        step = await client.step(form, flight, pOutput=out)
        assert step.status == expected
        assert out.pBuffers[0].cbBuffer == 0
        alert = output_bytes(out, 1)
        assert len(list(records(alert))) == 1
        assert not SEC_SUCCESS((await server.step(form, alert)).status)
        assert (await client.step(form, flight)).status == expected  # sticky


@pytest.mark.parametrize("case", list(BAD_SERVERS))
async def test_T10_manual_cred_validation_skips_the_checks(form_kind: str, case: str) -> None:
    """T10: ISC_REQ_MANUAL_CRED_VALIDATION → OK; the caller inspects REMOTE_CERT_CONTEXT."""
    make_client, make_server, target, _ = BAD_SERVERS[case]
    async with open_form(form_kind) as form:
        conn = await connected(
            form,
            make_client(),
            make_server(),
            target=target,
            isc_flags=ISC_FLAGS | ISC_REQ_MANUAL_CRED_VALIDATION,
        )
        assert conn.client.steps[-1].attrs & ISC_RET_MANUAL_CRED_VALIDATION
        status, remote = QueryContextAttributes(conn.cctx, SECPKG_ATTR_REMOTE_CERT_CONTEXT)
        assert status == SEC_E_OK
        assert remote.pbCertEncoded


@pytest.mark.parametrize(
    ("protocols", "versions"),
    [(None, {0x0303, 0x0304}), (TLS12, {0x0303}), (TLS13, {0x0304})],
)
async def test_T10_nothing_below_tls12_is_offered(
    form_kind: str, protocols: tuple[str, ...] | None, versions: set[int]
) -> None:
    """T10: the ClientHello's legacy_version is 0x0303 and it offers only TLS 1.2/1.3."""
    auth = client_cred(enabled_protocols=protocols) if protocols else client_cred()
    async with open_form(form_kind) as form:
        ccred, scred = await schannel_pair(form, auth)
        client, _ = sides(ccred, scred)
        legacy, supported = offered_versions((await client.step(form, None)).output)
        assert legacy == 0x0303
        assert set(supported or [0x0303]) == versions


async def test_T10_target_name_the_host_cannot_take_is_target_unknown(form_kind: str) -> None:
    """T10: a pszTargetName with a NUL or empty labels → SEC_E_TARGET_UNKNOWN, no handle."""
    async with open_form(form_kind) as form:
        ccred, _ = await schannel_pair(form)
        for name in ("bad\x00name", "a..b"):
            new = sentinel_handle()
            status = await form.isc(ccred, None, name, ISC_FLAGS, None, new, token_out())
            assert (status, new) == (SEC_E_TARGET_UNKNOWN, sentinel_handle())


# --------------------------------------------------------------------------- T11


async def test_T11_tampered_server_flight_fails_both_sides(form_kind: str) -> None:
    """T11: a tampered server flight → client MESSAGE_ALTERED + alert → server fails; sticky."""
    async with open_form(form_kind) as form:
        client, server = sides(*await schannel_pair(form))
        flight = bytearray((await server.step(form, (await client.step(form, None)).output)).output)
        flight[-3] ^= 0x01
        step = await client.step(form, bytes(flight))
        assert step.status == SEC_E_MESSAGE_ALTERED
        assert step.output
        assert (await server.step(form, step.output)).status == SEC_E_MESSAGE_ALTERED
        assert (await client.step(form, bytes(flight))).status == SEC_E_MESSAGE_ALTERED
        message = SecBufferDesc(
            [
                SecBuffer(SECBUFFER_STREAM_HEADER, 13, bytearray(13)),
                SecBuffer.of(SECBUFFER_DATA, bytearray(b"no")),
                SecBuffer(SECBUFFER_STREAM_TRAILER, 64, bytearray(64)),
                SecBuffer(SECBUFFER_EMPTY),
            ]
        )
        assert not SEC_SUCCESS(EncryptMessage(client.handle, 0, message, 0))
        assert message.pBuffers[1].data() == b"no"


async def test_T11_protocol_version_mismatch(form_kind: str) -> None:
    """T11: TLS 1.2-only client vs TLS 1.3-only server → UNSUPPORTED_FUNCTION on both sides."""
    async with open_form(form_kind) as form:
        ccred, scred = await schannel_pair(
            form, client_cred(enabled_protocols=TLS12), server_cred(enabled_protocols=TLS13)
        )
        conn = await handshake(form, ccred, scred, target=TARGET)
        assert conn.server.statuses == [SEC_E_UNSUPPORTED_FUNCTION]
        alert = conn.server.steps[-1].output
        assert alert == bytes.fromhex("15 03 03 00 02 02 46")
        assert (await conn.client.step(form, alert)).status == SEC_E_UNSUPPORTED_FUNCTION


async def test_T11_alert_after_a_failed_decrypt_goes_out_with_the_next_isc(form_kind: str) -> None:
    """T11: after a failed DecryptMessage the next ASC returns the error with its alert record."""
    async with open_form(form_kind) as form:
        conn = await connected(form, client_cred(enabled_protocols=TLS12))
        record = bytearray(encrypt(conn.cctx, b"tamper"))
        record[-1] ^= 1
        assert (
            DecryptMessage(conn.sctx, decrypt_desc(bytes(record)), 0, None) == SEC_E_MESSAGE_ALTERED
        )
        step = await conn.server.step(form, b"")
        assert step.status == SEC_E_MESSAGE_ALTERED
        assert [kind for kind, _ in records(step.output)] == [0x15]
        assert (
            DecryptMessage(conn.cctx, decrypt_desc(step.output), 0, None) == SEC_E_MESSAGE_ALTERED
        )


# --------------------------------------------------------------------------- T12


def application_protocols(*ids: bytes) -> SecBuffer:
    return SecBuffer.of(SECBUFFER_APPLICATION_PROTOCOLS, alpn_payload(*ids))


def assert_selected(conn: Connection, protocol: bytes | None) -> None:
    """[42]: APPLICATION_PROTOCOL on both sides."""
    for ctx in (conn.cctx, conn.sctx):
        status, value = QueryContextAttributes(ctx, SECPKG_ATTR_APPLICATION_PROTOCOL)
        assert status == SEC_E_OK
        if protocol is None:
            assert (value.ProtoNegoStatus, value.ProtocolIdSize) == (0, 0)
        else:
            assert (value.ProtoNegoStatus, value.ProtoNegoExt) == (1, 2)
            assert (value.ProtocolIdSize, value.ProtocolId) == (len(protocol), protocol)


async def test_T12_case39_42_client_buffer_server_first_preference(form_kind: str) -> None:
    """T12 [39, 42]: APPLICATION_PROTOCOLS first input; the server's first preference is chosen."""
    assert alpn_payload(b"http/1.1", b"h2") == encode_application_protocols(["http/1.1", "h2"])
    async with open_form(form_kind) as form:
        conn = await connected(
            form,
            server=server_cred(alpn=("http/1.1", "h2")),
            first_input=SecBufferDesc([application_protocols(b"h2", b"http/1.1")]),
        )
        assert conn.client.statuses[0] == SEC_I_CONTINUE_NEEDED
        assert_selected(conn, b"http/1.1")


async def test_T12_case40_server_preferences_from_its_input(form_kind: str) -> None:
    """T12 [40]: ASC input [TOKEN(ClientHello), APPLICATION_PROTOCOLS] → CONTINUE; it selects."""
    async with open_form(form_kind) as form:
        ccred, scred = await schannel_pair(form, client_cred(alpn=("h2", "http/1.1")))
        client, server = sides(ccred, scred)
        hello = await client.step(form, None)
        pInput = SecBufferDesc([SecBuffer.of(SECBUFFER_TOKEN, hello.output), application_protocols(b"http/1.1")])  # fmt: skip
        flight = await server.step(form, None, pInput=pInput)
        assert flight.status == SEC_I_CONTINUE_NEEDED
        finished = await client.step(form, flight.output)
        assert (await server.step(form, finished.output)).status == SEC_E_OK
        assert_selected(Connection(client, server), b"http/1.1")


async def test_T12_no_overlap_means_no_protocol(form_kind: str) -> None:
    """T12: no common protocol and ALPN not required → the handshake completes without one."""
    async with open_form(form_kind) as form:
        conn = await connected(form, client_cred(alpn=("h2",)), server_cred(alpn=("http/1.1",)))
        assert_selected(conn, None)


async def test_T12_required_alpn_without_overlap_is_a_mismatch(form_kind: str) -> None:
    """T12: alpn_required, no overlap → APPLICATION_PROTOCOL_MISMATCH both sides, alert 120."""
    async with open_form(form_kind) as form:
        ccred, scred = await schannel_pair(
            form, client_cred(alpn=("h2",)), server_cred(alpn=("http/1.1",), alpn_required=True)
        )
        conn = await handshake(form, ccred, scred, target=TARGET)
        assert conn.server.statuses == [SEC_E_APPLICATION_PROTOCOL_MISMATCH]
        assert conn.server.steps[0].output == NO_APP_PROTOCOL_ALERT
        step = await conn.client.step(form, NO_APP_PROTOCOL_ALERT)
        assert step.status == SEC_E_APPLICATION_PROTOCOL_MISMATCH


async def test_T12_malformed_application_protocols_is_invalid_token(form_kind: str) -> None:
    """T12: a truncated APPLICATION_PROTOCOLS buffer → SEC_E_INVALID_TOKEN, no handle."""
    async with open_form(form_kind) as form:
        ccred, _ = await schannel_pair(form)
        bad = SecBufferDesc([SecBuffer.of(SECBUFFER_APPLICATION_PROTOCOLS, struct.pack("<IIH", 40, 2, 30))])  # fmt: skip
        new = sentinel_handle()
        status = await form.isc(ccred, None, TARGET, ISC_FLAGS, bad, new, token_out())
        assert (status, new) == (SEC_E_INVALID_TOKEN, sentinel_handle())


# --------------------------------------------------------------------------- T13


async def test_T13_case34_every_use_of_a_deleted_context_is_invalid_handle(form_kind: str) -> None:
    """T13 [34]: every use of a deleted context → SEC_E_INVALID_HANDLE; the peer is unaffected."""
    async with open_form(form_kind) as form:
        conn = await connected(
            form, server=server_cred(client_certificate_mapping="common_name"),
            asc_flags=ASC_FLAGS | ASC_REQ_MUTUAL_AUTH,
        )  # fmt: skip
        sctx = copy_handle(conn.sctx)
        record = encrypt(conn.cctx, b"late")
        assert await form.delete(sctx) == SEC_E_OK
        new = sentinel_handle()
        status = await form.asc(
            conn.server.cred, sctx, token_in(record), ASC_FLAGS, new, token_out()
        )
        assert (status, new) == (SEC_E_INVALID_HANDLE, sentinel_handle())
        assert EncryptMessage(sctx, 0, stream_buffers(conn.cctx, b"x"), 0) == SEC_E_INVALID_HANDLE
        assert DecryptMessage(sctx, decrypt_desc(record), 0, None) == SEC_E_INVALID_HANDLE
        for attribute in (SECPKG_ATTR_REMOTE_CERT_CONTEXT, SECPKG_ATTR_STREAM_SIZES):
            assert QueryContextAttributes(sctx, attribute) == (SEC_E_INVALID_HANDLE, None)
        shutdown = SecBufferDesc([SecBuffer.of(SECBUFFER_TOKEN, struct.pack("<I", SCHANNEL_SHUTDOWN))])  # fmt: skip
        assert ApplyControlToken(sctx, shutdown) == SEC_E_INVALID_HANDLE
        assert ImpersonateSecurityContext(sctx) == SEC_E_INVALID_HANDLE
        assert QuerySecurityContextToken(sctx) == (SEC_E_INVALID_HANDLE, None)
        assert await form.delete(sctx) == SEC_E_INVALID_HANDLE
        assert QueryContextAttributes(conn.cctx, SECPKG_ATTR_STREAM_SIZES)[0] == SEC_E_OK


async def test_T13_half_finished_contexts_delete(form_kind: str) -> None:
    """T13: half-finished client and server contexts delete; their handles die."""
    async with open_form(form_kind) as form:
        client, server = sides(*await schannel_pair(form))
        flight = (await server.step(form, (await client.step(form, None)).output)).output
        assert await form.delete(client.handle) == SEC_E_OK
        assert await form.delete(server.handle) == SEC_E_OK
        new = sentinel_handle()
        status = await form.isc(
            client.cred, client.handle, TARGET, 0, token_in(flight), new, token_out()
        )
        assert (status, new) == (SEC_E_INVALID_HANDLE, sentinel_handle())


async def test_T13_async_delete_completes_ok_then_invalid_handle() -> None:
    """T13: SspiDeleteSecurityContextAsync completes OK, then INVALID_HANDLE for the dead handle."""
    async with open_form("classic") as form:
        conn = await connected(form)
        actx = await SspiCreateAsyncContext()
        try:
            for handle, expected in (
                (conn.sctx, SEC_E_OK),
                (conn.sctx, SEC_E_INVALID_HANDLE),
                (CtxtHandle(0x1234, 1), SEC_E_INVALID_HANDLE),
            ):
                assert await SspiDeleteSecurityContextAsync(actx, handle) == SEC_E_OK
                assert await wait_async_call(actx) == expected
        finally:
            await SspiFreeAsyncContext(actx)
