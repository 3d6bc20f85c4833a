"""Schannel credentials (C1–C4), client certificates (T14) and impersonation (I1–I4) through the
flat facade (SPEC §4, §7; reference cases 1–7).

Credential and handshake rules run through the classic and the async functions (``form_kind``).
Impersonation tests are async: the emulated thread token is per task, so each test's
impersonation ends with its task.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import structlog
from cryptography.hazmat.primitives.serialization import Encoding

from sspi_async import EmulatorSettings, SchannelCred
from sspi_async.sspi import (
    ASC_REQ_DELEGATE,
    ASC_REQ_MUTUAL_AUTH,
    ASC_RET_MUTUAL_AUTH,
    ISC_REQ_IDENTIFY,
    SEC_E_ALGORITHM_MISMATCH,
    SEC_E_INVALID_HANDLE,
    SEC_E_LOGON_DENIED,
    SEC_E_NO_CREDENTIALS,
    SEC_E_NO_IMPERSONATION,
    SEC_E_OK,
    SEC_E_SECPKG_NOT_FOUND,
    SEC_E_UNKNOWN_CREDENTIALS,
    SEC_E_UNSUPPORTED_FUNCTION,
    SEC_I_CONTINUE_NEEDED,
    SEC_SUCCESS,
    SECPKG_ATTR_NAMES,
    SECPKG_ATTR_REMOTE_CERT_CONTEXT,
    SECPKG_CRED_BOTH,
    SECPKG_CRED_INBOUND,
    SECPKG_CRED_OUTBOUND,
    SP_PROT_TLS1_2_CLIENT,
    SP_PROT_TLS1_2_SERVER,
    SP_PROT_TLS1_3_CLIENT,
    SP_PROT_TLS1_3_SERVER,
    UNISP_NAME,
    AcquireCredentialsHandle,
    CtxtHandle,
    FreeCredentialsHandle,
    ImpersonateSecurityContext,
    ImpersonationLevel,
    QueryContextAttributes,
    QuerySecurityContextToken,
    RevertSecurityContext,
    SspiCreateAsyncContext,
    SspiFreeAsyncContext,
    SspiFreeCredentialsHandleAsync,
    current_token,
    process_token,
    wait_async_call,
)
from tests.facade.helpers import (
    ASC_FLAGS,
    FORMS,
    ISC_FLAGS,
    ClassicForm,
    Connection,
    Form,
    decrypt,
    encrypt,
    handshake,
    open_form,
    plaintext_of,
    run_sync,
    sentinel_handle,
    token_in,
    token_out,
)
from tests.facade.schannel_helpers import (
    SCHANNEL,
    TARGET,
    TLS12,
    client_cert_cred,
    client_cred,
    connected,
    pki,
    schannel_pair,
    server_cred,
    sides,
)

MUTUAL = ASC_FLAGS | ASC_REQ_MUTUAL_AUTH
FAR_FUTURE = datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone.utc)


@pytest.fixture(params=FORMS)
def form_kind(request: pytest.FixtureRequest) -> str:
    """Run the test through the classic functions and through the async ones."""
    return str(request.param)


async def mutual(form: Form, mapping: Any = None, **client: Any) -> Connection:
    """alice (certificate) → a server asking for it with ASC_REQ_MUTUAL_AUTH."""
    return await connected(
        form,
        client_cert_cred(**client),
        server_cred(client_certificate_mapping=mapping),
        asc_flags=MUTUAL,
    )


# --------------------------------------------------------------------------- C1, C2


@pytest.mark.parametrize("name", ["Schannel", "schannel", UNISP_NAME])
async def test_C1_package_names(form_kind: str, name: str) -> None:
    """C1/§1: "Schannel" (any case) and UNISP_NAME select Schannel."""
    async with open_form(form_kind) as form:
        status, _, expiry = await form.acquire(SECPKG_CRED_OUTBOUND, client_cred(), package=name)
        assert status == SEC_E_OK
        assert expiry.datetime == FAR_FUTURE


@pytest.mark.parametrize("name", [None, "Schannel2", ""])
async def test_C1_case1_null_or_unknown_package(form_kind: str, name: str | None) -> None:
    """C1 [1]: a NULL or unknown package name → SEC_E_SECPKG_NOT_FOUND."""
    async with open_form(form_kind) as form:
        status, _, _ = await form.acquire(SECPKG_CRED_OUTBOUND, client_cred(), package=name)
        assert status == SEC_E_SECPKG_NOT_FOUND


@pytest.mark.parametrize("use", [0, SECPKG_CRED_INBOUND, SECPKG_CRED_BOTH])
def test_C1_case2_no_credentials_with_a_null_out_handle(use: int) -> None:
    """C1 [2, 3]: use 0, or INBOUND/BOTH without auth data, phCredential NULL → NO_CREDENTIALS."""
    status = AcquireCredentialsHandle(None, SCHANNEL, use, None, None, None, None, None, None)
    assert status == SEC_E_NO_CREDENTIALS


@pytest.mark.parametrize("use", [0, 4, 0x10])
async def test_C1_case2_bad_credential_use_is_no_credentials(form_kind: str, use: int) -> None:
    """C1 [2]: fCredentialUse not INBOUND/OUTBOUND/BOTH → SEC_E_NO_CREDENTIALS."""
    async with open_form(form_kind) as form:
        status, _, _ = await form.acquire(use, server_cred(), package=SCHANNEL)
        assert status == SEC_E_NO_CREDENTIALS


def _bad_pem(**_: Any) -> dict[str, Any]:
    return {"certificate_chain": b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"}


C2_CASES: dict[str, tuple[int, Any, int]] = {
    "case3-outbound-anonymous": (SECPKG_CRED_OUTBOUND, lambda: None, SEC_E_OK),
    "case3-inbound-without-auth": (SECPKG_CRED_INBOUND, lambda: None, SEC_E_NO_CREDENTIALS),
    "both-without-certificate": (SECPKG_CRED_BOTH, lambda: client_cred(), SEC_E_NO_CREDENTIALS),
    "case7-certificate-without-key": (
        SECPKG_CRED_INBOUND,
        lambda: SchannelCred(certificate_chain=pki().server.chain_pem),
        SEC_E_NO_CREDENTIALS,
    ),
    "case7-bogus-certificate": (
        SECPKG_CRED_INBOUND,
        lambda: SchannelCred(**_bad_pem(), private_key=pki().server.key_pem),
        SEC_E_UNKNOWN_CREDENTIALS,
    ),
    "mismatched-key": (
        SECPKG_CRED_INBOUND,
        lambda: SchannelCred(certificate_chain=pki().server.chain_pem, private_key=pki().client.key_pem),
        SEC_E_UNKNOWN_CREDENTIALS,
    ),
    "dict-with-unknown-field": (SECPKG_CRED_OUTBOUND, lambda: {"alpn": ["h2"], "colour": "blue"}, SEC_E_UNKNOWN_CREDENTIALS),
    "dict-with-bad-suite": (SECPKG_CRED_OUTBOUND, lambda: {"cipher_suites": ["TLS_NULL"]}, SEC_E_UNKNOWN_CREDENTIALS),
    "not-a-model": (SECPKG_CRED_OUTBOUND, lambda: 42, SEC_E_UNKNOWN_CREDENTIALS),
    "case4-server-bits-outbound": (
        SECPKG_CRED_OUTBOUND,
        lambda: client_cred(enabled_protocols=SP_PROT_TLS1_2_SERVER | SP_PROT_TLS1_3_SERVER),
        SEC_E_ALGORITHM_MISMATCH,
    ),
    "case4-client-bits-inbound": (
        SECPKG_CRED_INBOUND,
        lambda: server_cred(enabled_protocols=SP_PROT_TLS1_2_CLIENT | SP_PROT_TLS1_3_CLIENT),
        SEC_E_ALGORITHM_MISMATCH,
    ),
    "case4-client-bits-outbound": (
        SECPKG_CRED_OUTBOUND,
        lambda: client_cred(enabled_protocols=SP_PROT_TLS1_2_CLIENT | SP_PROT_TLS1_3_CLIENT),
        SEC_E_OK,
    ),
    "case4-server-bits-inbound": (
        SECPKG_CRED_INBOUND,
        lambda: server_cred(enabled_protocols=SP_PROT_TLS1_2_SERVER | SP_PROT_TLS1_3_SERVER),
        SEC_E_OK,
    ),
    "dict-accepted": (SECPKG_CRED_OUTBOUND, lambda: {"trusted_roots": pki().ca.cert_pem, "enabled_protocols": ["tls1.2"]}, SEC_E_OK),
}  # fmt: skip


@pytest.mark.parametrize("case", list(C2_CASES))
async def test_C2_credential_data(form_kind: str, case: str) -> None:
    """C2 [3, 4, 7]: certificate, key and protocol checks give the pinned statuses."""
    use, make, expected = C2_CASES[case]
    async with open_form(form_kind) as form:
        status, cred, _ = await form.acquire(use, make(), package=SCHANNEL)
        assert status == expected
        if status == SEC_E_OK:
            assert FreeCredentialsHandle(cred) == SEC_E_OK


def test_C2_rejections_are_logged_without_key_material() -> None:
    """C2/§11: a refused credential is logged with its reason, never with the key."""
    key_line = pki().client.key_pem.decode().splitlines()[1]
    with structlog.testing.capture_logs() as logs:
        for auth in (
            C2_CASES["mismatched-key"][1](),
            {"private_key": pki().client.key_pem, "x": 1},
        ):
            status, _, _ = run_sync(
                ClassicForm().acquire(SECPKG_CRED_INBOUND, auth, package=SCHANNEL)
            )
            assert status == SEC_E_UNKNOWN_CREDENTIALS
    rejected = [e for e in logs if e["event"] == "sspi.credentials.rejected"]
    assert len(rejected) == 2
    assert all(e.get("reason") for e in rejected)
    assert key_line not in repr(logs)
    assert "PRIVATE KEY" not in repr(logs)


async def test_C2_pem_paths_are_read(form_kind: str, tmp_path: Path) -> None:
    """C2/§4: certificate, key and roots may be given as file paths."""
    cert_path, key_path = pki().server.write(tmp_path, "server")
    roots = tmp_path / "ca.pem"
    roots.write_bytes(pki().ca.cert_pem)
    async with open_form(form_kind) as form:
        conn = await connected(
            form,
            SchannelCred(trusted_roots=str(roots)),
            SchannelCred(certificate_chain=cert_path, private_key=str(key_path)),
        )
        status, desc = decrypt(conn.sctx, encrypt(conn.cctx, b"from files"))
        assert (status, plaintext_of(desc)) == (SEC_E_OK, b"from files")


# --------------------------------------------------------------------------- C3, C4


async def test_C3_expiry_is_the_certificates_not_after(form_kind: str) -> None:
    """C3: ptsExpiry of a certificate credential (and of its contexts) is the notAfter."""
    async with open_form(form_kind) as form:
        status, _, expiry = await form.acquire(SECPKG_CRED_INBOUND, server_cred(), package=SCHANNEL)
        assert status == SEC_E_OK
        assert expiry.datetime == pki().server.certificate.not_valid_after_utc
        conn = await connected(form)
        assert conn.server.expiry.datetime == pki().server.certificate.not_valid_after_utc
        assert conn.client.expiry.datetime == FAR_FUTURE


async def test_C4_free_credentials_async_then_invalid_handle() -> None:
    """C4: SspiFreeCredentialsHandleAsync completes OK; again → INVALID_HANDLE."""
    async with open_form("classic") as form:
        ccred, scred = await schannel_pair(form)
        actx = await SspiCreateAsyncContext()
        try:
            for expected in (SEC_E_OK, SEC_E_INVALID_HANDLE):
                assert await SspiFreeCredentialsHandleAsync(actx, scred) == SEC_E_OK
                assert await wait_async_call(actx) == expected
        finally:
            await SspiFreeAsyncContext(actx)
        assert FreeCredentialsHandle(ccred) == SEC_E_OK


async def test_C4_contexts_outlive_their_freed_credentials(form_kind: str) -> None:
    """C4: contexts outlive freed credentials; a freed or OUTBOUND one cannot start an ASC."""
    async with open_form(form_kind) as form:
        ccred, scred = await schannel_pair(form)
        client, server = sides(ccred, scred)
        flight = (await server.step(form, (await client.step(form, None)).output)).output
        assert FreeCredentialsHandle(ccred) == FreeCredentialsHandle(scred) == SEC_E_OK
        finished = await client.step(form, flight)
        assert finished.status == SEC_E_OK
        assert (await server.step(form, finished.output)).status == SEC_E_OK
        status, desc = decrypt(server.handle, encrypt(client.handle, b"still here"))
        assert (status, plaintext_of(desc)) == (SEC_E_OK, b"still here")
        new = sentinel_handle()
        assert await form.isc(ccred, None, TARGET, ISC_FLAGS, None, new, token_out()) == SEC_E_INVALID_HANDLE  # fmt: skip
        ccred2, _ = await schannel_pair(form)
        status = await form.asc(
            ccred2, None, token_in(finished.output), ASC_FLAGS, new, token_out()
        )
        assert (status, new) == (SEC_E_INVALID_HANDLE, sentinel_handle())


# --------------------------------------------------------------------------- T14


async def test_T14_mutual_auth_gives_the_server_the_client_certificate(form_kind: str) -> None:
    """T14: MUTUAL_AUTH + client certificate → ASC_RET_MUTUAL_AUTH, NAMES, REMOTE_CERT_CONTEXT."""
    async with open_form(form_kind) as form:
        conn = await mutual(form)
        assert conn.server.steps[-1].attrs & ASC_RET_MUTUAL_AUTH
        assert QueryContextAttributes(conn.sctx, SECPKG_ATTR_NAMES)[1].sUserName == "CN=alice"
        status, remote = QueryContextAttributes(conn.sctx, SECPKG_ATTR_REMOTE_CERT_CONTEXT)
        assert (status, remote.pbCertEncoded) == (SEC_E_OK, pki().client.der)
        assert remote.chain[1:] == [pki().ca.certificate.public_bytes(Encoding.DER)]


async def test_T14_untrusted_client_certificate_fails_the_server(form_kind: str) -> None:
    """T14/T11: a client certificate from an untrusted CA → the server refuses the handshake."""
    async with open_form(form_kind) as form:
        ccred, scred = await schannel_pair(form, client_cert_cred(pki().stranger), server_cred())
        conn = await handshake(form, ccred, scred, target=TARGET, asc_flags=MUTUAL)
        assert conn.failed
        assert not SEC_SUCCESS(conn.server.statuses[-1])


async def test_T14_required_certificate_missing_fails_both_sides_tls13(form_kind: str) -> None:
    """T14: TLS 1.3, required certificate missing → server LOGON_DENIED; client fails on alert."""
    async with open_form(form_kind) as form:
        ccred, scred = await schannel_pair(form, None, server_cred(require_client_certificate=True))
        conn = await handshake(form, ccred, scred, target=TARGET)
        assert conn.client.statuses == [SEC_I_CONTINUE_NEEDED, 0]
        assert conn.server.statuses[-1] == SEC_E_LOGON_DENIED
        alert = conn.server.steps[-1].output
        assert alert
        assert decrypt(conn.cctx, alert)[0] == SEC_E_LOGON_DENIED


async def test_T14_required_certificate_missing_fails_both_sides_tls12(form_kind: str) -> None:
    """T14: TLS 1.2, require_client_certificate, none sent → both handshakes fail."""
    async with open_form(form_kind) as form:
        ccred, scred = await schannel_pair(
            form, client_cred(enabled_protocols=TLS12), server_cred(require_client_certificate=True)
        )
        conn = await handshake(form, ccred, scred, target=TARGET)
        assert conn.server.statuses[-1] == SEC_E_LOGON_DENIED
        client = conn.client
        final = await client.step(form, conn.server.steps[-1].output)
        assert not SEC_SUCCESS(final.status)


async def test_T14_required_certificate_present_completes(form_kind: str) -> None:
    """T14: require_client_certificate with a trusted client certificate completes."""
    async with open_form(form_kind) as form:
        conn = await connected(
            form, client_cert_cred(), server_cred(require_client_certificate=True)
        )
        assert QueryContextAttributes(conn.sctx, SECPKG_ATTR_NAMES)[1].sUserName == "CN=alice"


# --------------------------------------------------------------------------- I1–I4


@pytest.mark.parametrize(
    ("mapping", "user"),
    [("common_name", "alice"), ("upn", "alice@example.com"), ("fingerprint", "EXAMPLE\\alice")],
)
async def test_I1_mapped_client_certificate_is_impersonated(
    form_kind: str, mapping: str, user: str
) -> None:
    """I1/I3: a mapped client certificate → the task acts as that user at SecurityImpersonation."""
    table: Any = {pki().client.fingerprint.upper(): user} if mapping == "fingerprint" else mapping
    async with open_form(form_kind) as form:
        conn = await mutual(form, table)
        assert current_token() == process_token()
        assert ImpersonateSecurityContext(conn.sctx) == SEC_E_OK
        token = current_token()
        assert (token.user, token.level, token.source) == (
            user,
            ImpersonationLevel.SecurityImpersonation,
            "Schannel",
        )
        assert RevertSecurityContext(conn.sctx) == SEC_E_OK
        assert current_token() == process_token()
        status, queried = QuerySecurityContextToken(conn.sctx)
        assert status == SEC_E_OK
        assert queried is not None
        assert queried.user == user


async def test_I1_no_mapping_or_no_certificate_is_no_impersonation() -> None:
    """I1: no mapping, a missed mapping or no certificate → SEC_E_NO_IMPERSONATION, no token."""
    async with open_form("classic") as form:
        unmapped = await mutual(form)
        missed = await mutual(form, {"ab" * 32: "nobody"})
        anonymous = await connected(form, server=server_cred(client_certificate_mapping="common_name"), asc_flags=MUTUAL)  # fmt: skip
        for conn in (unmapped, missed, anonymous):
            assert ImpersonateSecurityContext(conn.sctx) == SEC_E_NO_IMPERSONATION
            assert current_token() == process_token()
            assert QuerySecurityContextToken(conn.sctx) == (SEC_E_NO_IMPERSONATION, None)
        assert ImpersonateSecurityContext(unmapped.cctx) == SEC_E_NO_IMPERSONATION


async def test_I1_incomplete_or_deleted_context() -> None:
    """I1: an incomplete server context → NO_IMPERSONATION; a deleted one → INVALID_HANDLE."""
    async with open_form("classic") as form:
        ccred, scred = await schannel_pair(form, client_cert_cred(), server_cred(client_certificate_mapping="common_name"))  # fmt: skip
        client, server = sides(ccred, scred)
        server.flags = MUTUAL
        await server.step(form, (await client.step(form, None)).output)
        assert ImpersonateSecurityContext(server.handle) == SEC_E_NO_IMPERSONATION
        assert await form.delete(server.handle) == SEC_E_OK
        for handle in (server.handle, CtxtHandle(5, 5), None):
            assert ImpersonateSecurityContext(handle) == SEC_E_INVALID_HANDLE
        assert current_token() == process_token()


async def test_I3_client_identify_cannot_reach_a_tls_server() -> None:
    """I3: TLS carries no ISC_REQ_IDENTIFY: a mapped client is impersonated, not identified."""
    async with open_form("classic") as form:
        conn = await connected(
            form,
            client_cert_cred(),
            server_cred(client_certificate_mapping="common_name"),
            asc_flags=MUTUAL,
            isc_flags=ISC_FLAGS | ISC_REQ_IDENTIFY,
        )
        status, token = QuerySecurityContextToken(conn.sctx)
        assert status == SEC_E_OK
        assert token is not None
        assert token.level == ImpersonationLevel.SecurityImpersonation


async def test_I3_asc_req_delegate_is_unsupported(form_kind: str) -> None:
    """I3: ASC_REQ_DELEGATE → SEC_E_UNSUPPORTED_FUNCTION; no handle is written."""
    async with open_form(form_kind) as form:
        ccred, scred = await schannel_pair(form)
        client, _ = sides(ccred, scred)
        hello = await client.step(form, None)
        new = sentinel_handle()
        status = await form.asc(scred, None, token_in(hello.output), ASC_FLAGS | ASC_REQ_DELEGATE, new, token_out())  # fmt: skip
        assert (status, new) == (SEC_E_UNSUPPORTED_FUNCTION, sentinel_handle())


async def test_I4_kernel_profile_cannot_impersonate(form_kind: str) -> None:
    """I4: profile="kernel" → Impersonate and QuerySecurityContextToken → UNSUPPORTED_FUNCTION."""
    async with open_form(form_kind, EmulatorSettings(profile="kernel")) as form:
        conn = await mutual(form, "common_name")
        assert ImpersonateSecurityContext(conn.sctx) == SEC_E_UNSUPPORTED_FUNCTION
        assert current_token() == process_token()
        assert QuerySecurityContextToken(conn.sctx) == (SEC_E_UNSUPPORTED_FUNCTION, None)
