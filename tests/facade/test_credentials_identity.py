"""Credentials (C1, C3, C4), identity and impersonation (I1–I4, SimTLS identity), ALPN (T12),
package enumeration and TypeError naming through the flat facade (SPEC §2, §4, §5, §7;
reference cases 1–3 and 39–42).

Impersonation tests are async: the emulated thread token is per task (SPEC §7), so each test's
impersonation ends with its task.
"""

from __future__ import annotations

import asyncio
import itertools
from datetime import datetime, timezone
from typing import Any

import pytest

from sspi_async import AccessToken, EmulatorSettings, SimTLSCred, set_process_token
from sspi_async._identity import SE_IMPERSONATE_NAME
from sspi_async.com import ERROR_BAD_IMPERSONATION_LEVEL, Securable
from sspi_async.sspi import (
    ASC_REQ_DELEGATE,
    ASC_RET_IDENTIFY,
    ISC_REQ_DELEGATE,
    ISC_REQ_IDENTIFY,
    SEC_E_APPLICATION_PROTOCOL_MISMATCH,
    SEC_E_INVALID_HANDLE,
    SEC_E_INVALID_TOKEN,
    SEC_E_LOGON_DENIED,
    SEC_E_NO_CREDENTIALS,
    SEC_E_NO_IMPERSONATION,
    SEC_E_OK,
    SEC_E_SECPKG_NOT_FOUND,
    SEC_E_UNKNOWN_CREDENTIALS,
    SEC_E_UNSUPPORTED_FUNCTION,
    SEC_E_WRONG_PRINCIPAL,
    SEC_I_CONTINUE_NEEDED,
    SEC_SUCCESS,
    SECBUFFER_APPLICATION_PROTOCOLS,
    SECBUFFER_TOKEN,
    SECPKG_ATTR_APPLICATION_PROTOCOL,
    SECPKG_ATTR_NAMES,
    SECPKG_ATTR_STREAM_SIZES,
    SECPKG_CRED_BOTH,
    SECPKG_CRED_INBOUND,
    SECPKG_CRED_OUTBOUND,
    SECURITY_NATIVE_DREP,
    SIMTLS_NAME,
    TLS1_ALERT_NO_APP_PROTOCOL,
    AcceptSecurityContext,
    AcquireCredentialsHandle,
    ApplyControlToken,
    CredHandle,
    CtxtHandle,
    DecryptMessage,
    DeleteSecurityContext,
    EncryptMessage,
    EnumerateSecurityPackages,
    FreeCredentialsHandle,
    ImpersonateSecurityContext,
    ImpersonationLevel,
    InitializeSecurityContext,
    QueryContextAttributes,
    QuerySecurityContextToken,
    QuerySecurityPackageInfo,
    RevertSecurityContext,
    SecBuffer,
    SecBufferDesc,
    SecIsValidHandle,
    SspiAcceptSecurityContextAsync,
    SspiAcquireCredentialsHandleAsync,
    SspiCreateAsyncContext,
    SspiDeleteSecurityContextAsync,
    SspiFreeAsyncContext,
    SspiFreeCredentialsHandleAsync,
    SspiGetAsyncCallStatus,
    SspiInitializeSecurityContextAsync,
    current_token,
    encode_application_protocols,
    process_token,
    wait_async_call,
)
from tests.facade.helpers import (
    ASC_FLAGS,
    CONTENT_ALERT,
    FORMS,
    ISC_FLAGS,
    SECRET,
    SERVER_NAME,
    ClassicForm,
    Connection,
    Form,
    Side,
    acquire_pair,
    alpn_payload,
    client_auth,
    decrypt,
    encrypt,
    hamming,
    handshake,
    is_single_record,
    open_form,
    plaintext_of,
    run_sync,
    sentinel_handle,
    server_auth,
    token_in,
    token_out,
)

#: 9999-12-31T23:59:59Z, the far-future expiry SimTLS reports (C3; sspi_async's documented choice).
FAR_FUTURE = datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone.utc)


@pytest.fixture(params=FORMS)
def form_kind(request: pytest.FixtureRequest) -> str:
    """Run the test through the classic functions and through the async ones."""
    return str(request.param)


async def connected(
    form: Form,
    client: dict[str, Any] | None = None,
    server: dict[str, Any] | None = None,
    **options: Any,
) -> Connection:
    """A complete connection on ``form``."""
    ccred, scred = await acquire_pair(form, client, server)
    conn = await handshake(form, ccred, scred, **options)
    assert not conn.failed, (conn.client.statuses, conn.server.statuses)
    return conn


def classic_acquire(
    use: int, auth: object = None, package: str | None = "SimTLS", principal: str | None = None
) -> tuple[int, CredHandle]:
    cred = CredHandle()
    status = AcquireCredentialsHandle(principal, package, use, None, auth, None, None, cred, None)
    return status, cred


# --------------------------------------------------------------------------- C1


@pytest.mark.parametrize("package", [None, "NoSuchPackage", ""], ids=["NULL", "unknown", "empty"])
async def test_C1_unknown_or_null_package_is_secpkg_not_found(
    form_kind: str, package: str | None
) -> None:
    """C1 [1]: a NULL, unknown or empty package name → SEC_E_SECPKG_NOT_FOUND."""
    async with open_form(form_kind) as form:
        status, cred, _ = await form.acquire(SECPKG_CRED_OUTBOUND, client_auth(), package=package)
        assert status == SEC_E_SECPKG_NOT_FOUND
        assert not SecIsValidHandle(cred)


@pytest.mark.parametrize("use", [0, 4, 0x10, 0xFFFFFFFF])
async def test_C1_bad_credential_use_is_no_credentials(form_kind: str, use: int) -> None:
    """C1 [2]: fCredentialUse not INBOUND/OUTBOUND/BOTH → SEC_E_NO_CREDENTIALS."""
    async with open_form(form_kind) as form:
        status, cred, _ = await form.acquire(use, server_auth())
        assert status == SEC_E_NO_CREDENTIALS
        assert not SecIsValidHandle(cred)


@pytest.mark.parametrize("use", [0, SECPKG_CRED_INBOUND, SECPKG_CRED_BOTH])
def test_C1_no_credentials_even_with_a_null_out_handle(use: int) -> None:
    """C1 [2, 3]: use 0 or INBOUND/BOTH without auth data, phCredential NULL → NO_CREDENTIALS."""
    status = AcquireCredentialsHandle(None, "SimTLS", use, None, None, None, None, None, None)
    assert status == SEC_E_NO_CREDENTIALS


async def test_C1_inbound_without_auth_data_is_no_credentials(form_kind: str) -> None:
    """C1 [3]: a SimTLS INBOUND credential without auth data → SEC_E_NO_CREDENTIALS."""
    async with open_form(form_kind) as form:
        status, cred, _ = await form.acquire(SECPKG_CRED_INBOUND, None)
        assert status == SEC_E_NO_CREDENTIALS
        assert not SecIsValidHandle(cred)


async def test_C1_outbound_without_auth_data_is_an_anonymous_client(form_kind: str) -> None:
    """C1 [3]: OUTBOUND without auth data → SEC_E_OK (anonymous client)."""
    async with open_form(form_kind) as form:
        status, cred, _ = await form.acquire(SECPKG_CRED_OUTBOUND, None)
        assert status == SEC_E_OK
        assert SecIsValidHandle(cred)


@pytest.mark.parametrize(
    "auth",
    [
        {"principal": "alice", "secret": SECRET, "colour": "blue"},
        {"principal": "alice", "secret": SECRET, "rounds": 99},
        {"principal": "alice", "rounds": "many"},
        {"principal": "alice", "tls_version_bytes": 0x0301},
        {"principal": "alice", "alpn": [""]},
        42,
        ["alice", SECRET],
        "secret-as-a-string",
    ],
    ids=[
        "unknown-field",
        "rounds-99",
        "rounds-type",
        "version",
        "empty-alpn-id",
        "int",
        "list",
        "str",
    ],
)
async def test_C1_auth_data_failing_validation_is_unknown_credentials(
    form_kind: str, auth: object
) -> None:
    """C1: pAuthData failing validation → SEC_E_UNKNOWN_CREDENTIALS."""
    async with open_form(form_kind) as form:
        for use in (SECPKG_CRED_OUTBOUND, SECPKG_CRED_INBOUND):
            status, cred, _ = await form.acquire(use, auth)
            assert status == SEC_E_UNKNOWN_CREDENTIALS, use
            assert not SecIsValidHandle(cred)


def test_C1_auth_data_as_a_model_is_accepted() -> None:
    """C1: a SimTLSCred model is accepted as pAuthData."""
    status, cred = classic_acquire(
        SECPKG_CRED_INBOUND, SimTLSCred(principal="server", secret=SECRET)
    )
    assert status == SEC_E_OK
    assert FreeCredentialsHandle(cred) == SEC_E_OK


# --------------------------------------------------------------------------- C3


async def test_C3_expiry_is_far_future(form_kind: str) -> None:
    """C3: ptsExpiry of ACH and of the final ISC/ASC is 9999-12-31T23:59:59Z."""
    async with open_form(form_kind) as form:
        status, ccred, cexp = await form.acquire(SECPKG_CRED_OUTBOUND, client_auth())
        assert status == SEC_E_OK
        status, scred, sexp = await form.acquire(SECPKG_CRED_INBOUND, server_auth())
        assert status == SEC_E_OK
        status, _, anon = await form.acquire(SECPKG_CRED_OUTBOUND, None)
        assert status == SEC_E_OK
        for stamp in (cexp, sexp, anon):
            assert stamp.datetime == FAR_FUTURE
        conn = await handshake(form, ccred, scred)
        assert conn.client.expiry.datetime == FAR_FUTURE
        assert conn.server.expiry.datetime == FAR_FUTURE


# --------------------------------------------------------------------------- C4


def test_C4_free_credentials_then_again_is_invalid_handle() -> None:
    """C4: FreeCredentialsHandle → SEC_E_OK, then SEC_E_INVALID_HANDLE."""
    status, cred = classic_acquire(SECPKG_CRED_OUTBOUND, client_auth())
    assert status == SEC_E_OK
    assert FreeCredentialsHandle(cred) == SEC_E_OK
    assert FreeCredentialsHandle(cred) == SEC_E_INVALID_HANDLE
    assert FreeCredentialsHandle(CredHandle(5, 1)) == SEC_E_INVALID_HANDLE
    assert FreeCredentialsHandle(None) == SEC_E_INVALID_HANDLE


async def test_C4_async_free_credentials_completes_ok_then_invalid_handle() -> None:
    """C4: SspiFreeCredentialsHandleAsync completes OK, then INVALID_HANDLE."""
    async with open_form("async") as form:
        status, cred, _ = await form.acquire(SECPKG_CRED_INBOUND, server_auth())
        assert status == SEC_E_OK
        actx = await SspiCreateAsyncContext()
        try:
            for handle, expected in (
                (cred, SEC_E_OK),
                (cred, SEC_E_INVALID_HANDLE),
                (CredHandle(0xABCDEF, 1), SEC_E_INVALID_HANDLE),
            ):
                assert await SspiFreeCredentialsHandleAsync(actx, handle) == SEC_E_OK
                assert await wait_async_call(actx) == expected
        finally:
            await SspiFreeAsyncContext(actx)


async def test_C4_contexts_on_a_freed_credential_keep_working(form_kind: str) -> None:
    """C4: contexts on credentials freed mid-handshake complete and exchange messages."""
    async with open_form(form_kind) as form:
        ccred, scred = await acquire_pair(form)
        client = Side(True, ccred, ISC_FLAGS)
        server = Side(False, scred, ASC_FLAGS)
        hello = await client.step(form, None)
        flight = await server.step(form, hello.output)
        assert FreeCredentialsHandle(ccred) == SEC_E_OK
        assert FreeCredentialsHandle(scred) == SEC_E_OK
        finished = await client.step(form, flight.output)
        assert finished.status == SEC_E_OK
        assert (await server.step(form, finished.output)).status == SEC_E_OK
        assert client.ctx is not None
        assert server.ctx is not None
        status, desc = decrypt(server.ctx, encrypt(client.ctx, b"still here"))
        assert status == SEC_E_OK
        assert plaintext_of(desc) == b"still here"
        status, desc = decrypt(client.ctx, encrypt(server.ctx, b"me too"))
        assert status == SEC_E_OK
        assert plaintext_of(desc) == b"me too"


async def test_C4_new_context_on_a_freed_credential_is_invalid_handle(form_kind: str) -> None:
    """C4: a new context on a freed credential → SEC_E_INVALID_HANDLE."""
    async with open_form(form_kind) as form:
        ccred, scred = await acquire_pair(form)
        hello = await Side(True, ccred, ISC_FLAGS).step(form, None)
        assert FreeCredentialsHandle(ccred) == SEC_E_OK
        assert FreeCredentialsHandle(scred) == SEC_E_OK
        new = sentinel_handle()
        status = await form.isc(ccred, None, SERVER_NAME, ISC_FLAGS, None, new, token_out())
        assert status == SEC_E_INVALID_HANDLE
        assert new == sentinel_handle()
        status = await form.asc(scred, None, token_in(hello.output), ASC_FLAGS, new, token_out())
        assert status == SEC_E_INVALID_HANDLE
        assert new == sentinel_handle()


async def test_C4_credential_used_in_the_wrong_direction_is_invalid_handle(form_kind: str) -> None:
    """C4: an OUTBOUND credential in ASC, or INBOUND in ISC → SEC_E_INVALID_HANDLE."""
    async with open_form(form_kind) as form:
        ccred, scred = await acquire_pair(form)
        hello = await Side(True, ccred, ISC_FLAGS).step(form, None)
        new = sentinel_handle()
        status = await form.asc(ccred, None, token_in(hello.output), ASC_FLAGS, new, token_out())
        assert status == SEC_E_INVALID_HANDLE
        assert new == sentinel_handle()
        status = await form.isc(scred, None, SERVER_NAME, ISC_FLAGS, None, new, token_out())
        assert status == SEC_E_INVALID_HANDLE
        assert new == sentinel_handle()


async def test_C4_a_both_credential_serves_either_side(form_kind: str) -> None:
    """C1: a SECPKG_CRED_BOTH credential serves as client and as server."""
    async with open_form(form_kind) as form:
        status, both, _ = await form.acquire(
            SECPKG_CRED_BOTH, {"principal": "server", "secret": SECRET}
        )
        assert status == SEC_E_OK
        conn = await handshake(form, both, both)
        assert conn.client.statuses[-1] == SEC_E_OK
        assert conn.server.statuses[-1] == SEC_E_OK


def test_C4_credential_handles_are_unguessable_and_never_valid_again() -> None:
    """C4/§2: credential handles differ in many bits and a freed one never comes back."""
    handles = []
    for _ in range(12):
        status, cred = classic_acquire(SECPKG_CRED_OUTBOUND, client_auth())
        assert status == SEC_E_OK
        handles.append(cred)
    lowers = [h.dwLower for h in handles]
    assert len(set(lowers)) == len(lowers)
    for a, b in itertools.pairwise(lowers):
        assert hamming(a, b) >= 8, (hex(a), hex(b))
    dead = CredHandle(handles[0].dwLower, handles[0].dwUpper)
    for cred in handles:
        assert FreeCredentialsHandle(cred) == SEC_E_OK
    for _ in range(50):
        status, cred = classic_acquire(SECPKG_CRED_OUTBOUND, client_auth())
        assert cred != dead
        assert FreeCredentialsHandle(cred) == SEC_E_OK
    assert FreeCredentialsHandle(dead) == SEC_E_INVALID_HANDLE
    status = InitializeSecurityContext(
        dead,
        None,
        SERVER_NAME,
        ISC_FLAGS,
        0,
        SECURITY_NATIVE_DREP,
        None,
        0,
        CtxtHandle(),
        token_out(),
        None,
    )
    assert status == SEC_E_INVALID_HANDLE


# --------------------------------------------------------------------------- SimTLS identity


async def test_identity_principal_from_psz_principal(form_kind: str) -> None:
    """§4 SimTLS: pszPrincipal names a client whose auth data has no principal."""
    async with open_form(form_kind) as form:
        status, ccred, _ = await form.acquire(SECPKG_CRED_OUTBOUND, {"secret": SECRET}, "bob")
        assert status == SEC_E_OK
        _, scred = await acquire_pair(form)
        conn = await handshake(form, ccred, scred)
        assert not conn.failed
        status, names = QueryContextAttributes(conn.sctx, SECPKG_ATTR_NAMES)
        assert status == SEC_E_OK
        assert names.sUserName == "bob"
        status, token = QuerySecurityContextToken(conn.sctx)
        assert status == SEC_E_OK
        assert token is not None
        assert token.user == "bob"


async def test_identity_wrong_target_name_is_wrong_principal(form_kind: str) -> None:
    """§4 SimTLS: a wrong pszTargetName → client SEC_E_WRONG_PRINCIPAL with an alert."""
    async with open_form(form_kind) as form:
        ccred, scred = await acquire_pair(form)
        conn = await handshake(form, ccred, scred, target="someone-else")
        assert conn.failed
        assert conn.client.statuses == [SEC_I_CONTINUE_NEEDED, SEC_E_WRONG_PRINCIPAL]
        alert = conn.client.steps[-1].output
        assert is_single_record(alert, CONTENT_ALERT)
        server_step = await conn.server.step(form, alert)
        assert not SEC_SUCCESS(server_step.status)


async def test_identity_null_target_accepts_any_server(form_kind: str) -> None:
    """§4 SimTLS: without pszTargetName the server's principal is not checked."""
    async with open_form(form_kind) as form:
        ccred, scred = await acquire_pair(form)
        conn = await handshake(form, ccred, scred, target=None)
        assert not conn.failed
        status, names = QueryContextAttributes(conn.cctx, SECPKG_ATTR_NAMES)
        assert status == SEC_E_OK
        assert names.sUserName == SERVER_NAME


async def test_identity_anonymous_client_refused_without_allow_anonymous(form_kind: str) -> None:
    """§4 SimTLS: an anonymous client without allow_anonymous → server SEC_E_LOGON_DENIED."""
    async with open_form(form_kind) as form:
        status, ccred, _ = await form.acquire(SECPKG_CRED_OUTBOUND, None)
        assert status == SEC_E_OK
        status, scred, _ = await form.acquire(SECPKG_CRED_INBOUND, {"principal": "server"})
        assert status == SEC_E_OK
        conn = await handshake(form, ccred, scred)
        assert conn.failed
        assert conn.server.statuses == [SEC_E_LOGON_DENIED]
        alert = conn.server.steps[-1].output
        assert is_single_record(alert, CONTENT_ALERT)
        assert not SEC_SUCCESS((await conn.client.step(form, alert)).status)


# --------------------------------------------------------------------------- I1, I2


async def test_I1_impersonate_a_complete_server_context() -> None:
    """I1: impersonating a complete server context makes the task's token alice's."""
    async with open_form("classic") as form:
        conn = await connected(form)
        assert current_token() == process_token()
        assert ImpersonateSecurityContext(conn.sctx) == SEC_E_OK
        token = current_token()
        assert token.user == "alice"
        assert token.level == ImpersonationLevel.SecurityImpersonation
        assert token.source == "SimTLS"
        assert not token.is_process
        assert RevertSecurityContext(conn.sctx) == SEC_E_OK
        assert current_token() == process_token()


async def test_I1_impersonate_through_the_async_handshake() -> None:
    """I1: a server context completed through the async functions impersonates too."""
    async with open_form("async") as form:
        conn = await connected(form)
        assert ImpersonateSecurityContext(conn.sctx) == SEC_E_OK
        assert current_token().user == "alice"
        assert RevertSecurityContext(conn.sctx) == SEC_E_OK


async def test_I1_unknown_or_deleted_handle_is_invalid_handle() -> None:
    """I1: an unknown, NULL or deleted handle → SEC_E_INVALID_HANDLE, token unchanged."""
    async with open_form("classic") as form:
        conn = await connected(form)
        dead = CtxtHandle(conn.sctx.dwLower, conn.sctx.dwUpper)
        assert DeleteSecurityContext(dead) == SEC_E_OK
        for handle in (dead, CtxtHandle(1, 1), None):
            assert ImpersonateSecurityContext(handle) == SEC_E_INVALID_HANDLE
            assert current_token() == process_token()


async def test_I1_failure_leaves_an_existing_impersonation_alone() -> None:
    """I1: a failed ImpersonateSecurityContext leaves the current impersonation alone."""
    async with open_form("classic") as form:
        conn = await connected(form)
        assert ImpersonateSecurityContext(conn.sctx) == SEC_E_OK
        assert ImpersonateSecurityContext(CtxtHandle(3, 3)) == SEC_E_INVALID_HANDLE
        assert current_token().user == "alice"
        assert RevertSecurityContext(conn.sctx) == SEC_E_OK


async def test_I1_incomplete_context_is_no_impersonation() -> None:
    """I1: an incomplete server context → SEC_E_NO_IMPERSONATION, token unchanged."""
    async with open_form("classic") as form:
        ccred, scred = await acquire_pair(form)
        hello = await Side(True, ccred, ISC_FLAGS).step(form, None)
        server = Side(False, scred, ASC_FLAGS)
        assert (await server.step(form, hello.output)).status == SEC_I_CONTINUE_NEEDED
        assert server.ctx is not None
        assert ImpersonateSecurityContext(server.ctx) == SEC_E_NO_IMPERSONATION
        assert current_token() == process_token()
        assert QuerySecurityContextToken(server.ctx) == (SEC_E_NO_IMPERSONATION, None)


async def test_I1_anonymous_client_is_no_impersonation() -> None:
    """I1/I3: an anonymous client → SEC_E_NO_IMPERSONATION; its token level is Anonymous."""
    async with open_form("classic") as form:
        status, ccred, _ = await form.acquire(SECPKG_CRED_OUTBOUND, None)
        assert status == SEC_E_OK
        status, scred, _ = await form.acquire(
            SECPKG_CRED_INBOUND, {"principal": "server", "allow_anonymous": True}
        )
        assert status == SEC_E_OK
        conn = await handshake(form, ccred, scred)
        assert not conn.failed
        assert ImpersonateSecurityContext(conn.sctx) == SEC_E_NO_IMPERSONATION
        assert current_token() == process_token()
        status, token = QuerySecurityContextToken(conn.sctx)
        assert status == SEC_E_OK
        assert token is not None
        assert token.level == ImpersonationLevel.SecurityAnonymous


async def test_I2_revert_when_not_impersonating_and_with_a_bad_handle() -> None:
    """I2: revert is not nested, is a no-op when not impersonating, checks the handle."""
    async with open_form("classic") as form:
        conn = await connected(form)
        assert RevertSecurityContext(conn.sctx) == SEC_E_OK
        assert current_token() == process_token()
        assert ImpersonateSecurityContext(conn.sctx) == SEC_E_OK
        assert RevertSecurityContext(CtxtHandle(2, 2)) == SEC_E_INVALID_HANDLE
        assert RevertSecurityContext(None) == SEC_E_INVALID_HANDLE
        assert current_token().user == "alice"
        assert ImpersonateSecurityContext(conn.sctx) == SEC_E_OK
        assert RevertSecurityContext(conn.sctx) == SEC_E_OK
        assert current_token() == process_token()


async def test_I_the_token_is_per_task() -> None:
    """§7: a child task started while impersonating sees the process token."""
    async with open_form("classic") as form:
        conn = await connected(form)
        assert ImpersonateSecurityContext(conn.sctx) == SEC_E_OK

        async def child() -> str:
            return current_token().user

        assert await asyncio.create_task(child()) == process_token().user
        assert current_token().user == "alice"
        assert RevertSecurityContext(conn.sctx) == SEC_E_OK


# --------------------------------------------------------------------------- I3, I4


async def test_I3_identify_gives_an_identification_token() -> None:
    """I3: ISC_REQ_IDENTIFY → ASC_RET_IDENTIFY and a SecurityIdentification token."""
    async with open_form("classic") as form:
        conn = await connected(form, isc_flags=ISC_FLAGS | ISC_REQ_IDENTIFY)
        assert conn.server.steps[-1].attrs & ASC_RET_IDENTIFY == ASC_RET_IDENTIFY
        status, token = QuerySecurityContextToken(conn.sctx)
        assert status == SEC_E_OK
        assert token is not None
        assert token.user == "alice"
        assert token.level == ImpersonationLevel.SecurityIdentification
        assert ImpersonateSecurityContext(conn.sctx) == SEC_E_OK
        assert current_token().level == ImpersonationLevel.SecurityIdentification
        assert RevertSecurityContext(conn.sctx) == SEC_E_OK


async def test_I3_default_level_is_impersonation() -> None:
    """I3: without ISC_REQ_IDENTIFY the token level is SecurityImpersonation."""
    async with open_form("classic") as form:
        conn = await connected(form)
        assert conn.server.steps[-1].attrs & ASC_RET_IDENTIFY == 0
        status, token = QuerySecurityContextToken(conn.sctx)
        assert status == SEC_E_OK
        assert token is not None
        assert token.level == ImpersonationLevel.SecurityImpersonation


async def test_I3_R23_without_SeImpersonatePrivilege_the_client_token_is_identify_only() -> None:
    """I3 with reference R23/R13: a server whose process token lacks SeImpersonatePrivilege still
    impersonates (SEC_E_OK) but holds an IDENTIFY token, so opening a resource as the client
    fails; with the privilege (the default process token) the level is IMPERSONATE."""
    before = process_token()
    set_process_token(AccessToken("svc-lowpriv", is_process=True))
    try:
        async with open_form("classic") as form:
            conn = await connected(form)
            assert ImpersonateSecurityContext(conn.sctx) == SEC_E_OK
            assert current_token().user == "alice"
            assert current_token().level == ImpersonationLevel.SecurityIdentification
            denied, opened = Securable("payroll", {"alice": 1}).open_as_client(1)
            assert (denied, opened) == (ERROR_BAD_IMPERSONATION_LEVEL, None)
            assert RevertSecurityContext(conn.sctx) == SEC_E_OK
    finally:
        set_process_token(before)
    assert SE_IMPERSONATE_NAME in process_token().privileges
    async with open_form("classic") as form:
        conn = await connected(form)
        assert ImpersonateSecurityContext(conn.sctx) == SEC_E_OK
        assert current_token().level == ImpersonationLevel.SecurityImpersonation
        assert RevertSecurityContext(conn.sctx) == SEC_E_OK


async def test_I3_delegate_is_unsupported(form_kind: str) -> None:
    """I3: ASC_REQ_DELEGATE or ISC_REQ_DELEGATE → SEC_E_UNSUPPORTED_FUNCTION."""
    async with open_form(form_kind) as form:
        ccred, scred = await acquire_pair(form)
        new = sentinel_handle()
        status = await form.isc(
            ccred, None, SERVER_NAME, ISC_FLAGS | ISC_REQ_DELEGATE, None, new, token_out()
        )
        assert status == SEC_E_UNSUPPORTED_FUNCTION
        assert new == sentinel_handle()
        hello = await Side(True, ccred, ISC_FLAGS).step(form, None)
        status = await form.asc(
            scred, None, token_in(hello.output), ASC_FLAGS | ASC_REQ_DELEGATE, new, token_out()
        )
        assert status == SEC_E_UNSUPPORTED_FUNCTION
        assert new == sentinel_handle()


async def test_I4_kernel_profile_cannot_impersonate(form_kind: str) -> None:
    """I4: profile="kernel" → Impersonate and token query → SEC_E_UNSUPPORTED_FUNCTION."""
    async with open_form(form_kind, EmulatorSettings(profile="kernel")) as form:
        conn = await connected(form)
        assert ImpersonateSecurityContext(conn.sctx) == SEC_E_UNSUPPORTED_FUNCTION
        assert current_token() == process_token()
        assert QuerySecurityContextToken(conn.sctx) == (SEC_E_UNSUPPORTED_FUNCTION, None)


# --------------------------------------------------------------------------- T12 ALPN


def app_protocols(payload: bytes) -> SecBufferDesc:
    return SecBufferDesc([SecBuffer.of(SECBUFFER_APPLICATION_PROTOCOLS, payload)])


def assert_selected(conn: Connection, protocol: bytes) -> None:
    for ctx in (conn.cctx, conn.sctx):
        status, value = QueryContextAttributes(ctx, SECPKG_ATTR_APPLICATION_PROTOCOL)
        assert status == SEC_E_OK
        assert value.ProtoNegoStatus == 1  # SecApplicationProtocolNegotiationStatus_Success
        assert value.ProtoNegoExt == 2  # SecApplicationProtocolNegotiationExt_ALPN
        assert value.ProtocolIdSize == len(protocol)
        assert value.ProtocolId == protocol


def test_T12_encode_application_protocols_is_the_case_39_layout() -> None:
    """T12 [39]: encode_application_protocols produces the case-39 layout byte for byte."""
    expected = (
        b"\x12\x00\x00\x00"  # ProtocolListsSize = 4 + 2 + 12
        b"\x02\x00\x00\x00"  # ProtoNegoExt = ALPN
        b"\x0c\x00"  # ProtocolListSize = 12
        b"\x08http/1.1\x02h2"
    )
    assert encode_application_protocols(["http/1.1", "h2"]) == expected
    assert alpn_payload(b"http/1.1", b"h2") == expected


@pytest.mark.parametrize("builder", ["encoder", "by-hand"])
async def test_T12_client_offers_via_application_protocols_buffer(
    form_kind: str, builder: str
) -> None:
    """T12 [39, 42]: ALPN offered in an APPLICATION_PROTOCOLS buffer → the server's choice."""
    payload = (
        encode_application_protocols(["h2", "http/1.1"])
        if builder == "encoder"
        else alpn_payload(b"h2", b"http/1.1")
    )
    async with open_form(form_kind) as form:
        conn = await connected(
            form,
            server=server_auth(alpn=["http/1.1", "h2"]),
            first_input=app_protocols(payload),
        )
        assert conn.client.statuses[0] == SEC_I_CONTINUE_NEEDED
        assert_selected(conn, b"http/1.1")


@pytest.mark.parametrize(
    ("server_prefs", "expected"),
    [(["http/1.1", "h2"], b"http/1.1"), (["h2", "http/1.1"], b"h2"), (["spdy", "h2"], b"h2")],
)
async def test_T12_server_picks_its_first_preference_from_the_credential_alpn(
    form_kind: str, server_prefs: list[str], expected: bytes
) -> None:
    """T12: with alpn on the credentials the server picks its first preference offered."""
    async with open_form(form_kind) as form:
        conn = await connected(
            form, client=client_auth(alpn=["h2", "http/1.1"]), server=server_auth(alpn=server_prefs)
        )
        assert_selected(conn, expected)


async def test_T12_server_preferences_from_its_input_buffer(form_kind: str) -> None:
    """T12 [40]: the server's APPLICATION_PROTOCOLS input buffer sets its preferences."""
    async with open_form(form_kind) as form:
        ccred, scred = await acquire_pair(form, client_auth(alpn=["h2", "http/1.1"]))
        client = Side(True, ccred, ISC_FLAGS)
        server = Side(False, scred, ASC_FLAGS)
        hello = await client.step(form, None)
        pInput = SecBufferDesc(
            [
                SecBuffer.of(SECBUFFER_TOKEN, hello.output),
                SecBuffer.of(
                    SECBUFFER_APPLICATION_PROTOCOLS, encode_application_protocols(["http/1.1"])
                ),
            ]
        )
        flight = await server.step(form, None, pInput=pInput)
        assert flight.status == SEC_I_CONTINUE_NEEDED
        finished = await client.step(form, flight.output)
        assert finished.status == SEC_E_OK
        assert (await server.step(form, finished.output)).status == SEC_E_OK
        assert_selected(Connection(client, server), b"http/1.1")


async def test_T12_no_overlap_means_no_protocol(form_kind: str) -> None:
    """T12: no common protocol, alpn_required off → completes with no protocol."""
    async with open_form(form_kind) as form:
        conn = await connected(
            form, client=client_auth(alpn=["h2"]), server=server_auth(alpn=["http/1.1"])
        )
        for ctx in (conn.cctx, conn.sctx):
            status, value = QueryContextAttributes(ctx, SECPKG_ATTR_APPLICATION_PROTOCOL)
            assert status == SEC_E_OK
            assert value.ProtoNegoStatus == 0  # SecApplicationProtocolNegotiationStatus_None
            assert value.ProtocolIdSize == 0
            assert value.ProtocolId == b""


async def test_T12_no_overlap_with_alpn_required_is_a_mismatch(form_kind: str) -> None:
    """T12: no common protocol with alpn_required → SEC_E_APPLICATION_PROTOCOL_MISMATCH."""
    async with open_form(form_kind) as form:
        ccred, scred = await acquire_pair(
            form,
            client_auth(alpn=["h2"]),
            server_auth(alpn=["http/1.1"], alpn_required=True),
        )
        conn = await handshake(form, ccred, scred)
        assert conn.failed
        assert conn.server.statuses == [SEC_E_APPLICATION_PROTOCOL_MISMATCH]
        alert = conn.server.steps[-1].output
        assert is_single_record(alert, CONTENT_ALERT)
        assert alert[6] == TLS1_ALERT_NO_APP_PROTOCOL
        assert not SEC_SUCCESS((await conn.client.step(form, alert)).status)


@pytest.mark.parametrize(
    "payload",
    [
        b"\x40\x00\x00\x00\x02\x00\x00\x00\x03\x00\x02h2",  # lists size overruns the buffer
        b"\x0b\x00\x00\x00\x02\x00\x00\x00\x09\x00\x02h2",  # list size overruns the lists
        alpn_payload(b""),  # a zero-length id
        b"\x07\x00\x00\x00\x02\x00\x00\x00\x03\x00\x05h2",  # id length overruns the list
        b"\x02\x00",  # shorter than ProtocolListsSize
    ],
    ids=["lists-overrun", "list-overrun", "empty-id", "id-overrun", "truncated"],
)
async def test_T12_malformed_application_protocols_is_invalid_token(
    form_kind: str, payload: bytes
) -> None:
    """T12: a malformed APPLICATION_PROTOCOLS buffer → SEC_E_INVALID_TOKEN."""
    async with open_form(form_kind) as form:
        ccred, _ = await acquire_pair(form)
        new = sentinel_handle()
        status = await form.isc(
            ccred, None, SERVER_NAME, ISC_FLAGS, app_protocols(payload), new, token_out()
        )
        assert status == SEC_E_INVALID_TOKEN
        assert new == sentinel_handle()


# --------------------------------------------------------------------------- packages


def test_enumerate_security_packages_lists_simtls() -> None:
    """§8: EnumerateSecurityPackages → SEC_E_OK and one SecPkgInfo named "SimTLS"."""
    status, packages = EnumerateSecurityPackages()
    assert status == SEC_E_OK
    simtls = [p for p in packages if p.Name == SIMTLS_NAME]
    assert len(simtls) == 1
    assert SIMTLS_NAME == "SimTLS"
    assert simtls[0].cbMaxToken > 0
    assert simtls[0].fCapabilities != 0


@pytest.mark.parametrize("name", ["SimTLS", "simtls"])
def test_query_security_package_info_finds_simtls(name: str) -> None:
    """§5: QuerySecurityPackageInfo("SimTLS"), any case → SEC_E_OK and its SecPkgInfo."""
    status, info = QuerySecurityPackageInfo(name)
    assert status == SEC_E_OK
    assert info is not None
    assert info.Name == "SimTLS"
    _, packages = EnumerateSecurityPackages()
    assert info in packages


@pytest.mark.parametrize("name", ["NoSuchPackage", None])
def test_query_security_package_info_unknown_is_not_found(name: str | None) -> None:
    """§5: QuerySecurityPackageInfo of an unknown or NULL name → SECPKG_NOT_FOUND."""
    assert QuerySecurityPackageInfo(name) == (SEC_E_SECPKG_NOT_FOUND, None)


# --------------------------------------------------------------------------- TypeError naming


def _isc_args(**override: object) -> dict[str, object]:
    ccred, _ = run_sync(acquire_pair(ClassicForm()))
    args: dict[str, object] = {
        "phCredential": ccred,
        "phContext": None,
        "pszTargetName": SERVER_NAME,
        "fContextReq": ISC_FLAGS,
        "Reserved1": 0,
        "TargetDataRep": SECURITY_NATIVE_DREP,
        "pInput": None,
        "Reserved2": 0,
        "phNewContext": CtxtHandle(),
        "pOutput": token_out(),
        "pfContextAttr": None,
        "ptsExpiry": None,
    }
    args.update(override)
    return args


WRONG_ISC_ARGUMENTS = [
    ("pInput", "a str, not a SecBufferDesc"),
    ("pOutput", "a str, not a SecBufferDesc"),
    ("phContext", "not a handle"),
    ("phCredential", "not a handle"),
    ("phNewContext", "not a handle"),
    ("fContextReq", "flags"),
    ("pszTargetName", b"bytes"),
    ("pfContextAttr", 42),
]


@pytest.mark.parametrize(("name", "value"), WRONG_ISC_ARGUMENTS)
def test_TypeError_names_the_parameter_classic_isc(name: str, value: object) -> None:
    """§2: a wrong type in InitializeSecurityContext → TypeError naming the parameter."""
    with pytest.raises(TypeError, match=name):
        InitializeSecurityContext(**_isc_args(**{name: value}))  # type: ignore[arg-type]


@pytest.mark.parametrize(("name", "value"), WRONG_ISC_ARGUMENTS)
async def test_TypeError_names_the_parameter_async_isc(name: str, value: object) -> None:
    """§2: a wrong type in SspiInitializeSecurityContextAsync → TypeError naming it."""
    async with open_form("async") as form:
        ccred, _ = await acquire_pair(form)
        args = _isc_args(**{name: value})
        if name != "phCredential":
            args["phCredential"] = ccred
        actx = await SspiCreateAsyncContext()
        try:
            with pytest.raises(TypeError, match=name):
                await SspiInitializeSecurityContextAsync(actx, **args)  # type: ignore[arg-type]
            assert await SspiGetAsyncCallStatus(actx) == SEC_E_UNSUPPORTED_FUNCTION
        finally:
            await SspiFreeAsyncContext(actx)


@pytest.mark.parametrize("name", ["pInput", "pOutput", "phContext", "fContextReq"])
def test_TypeError_names_the_parameter_classic_asc(name: str) -> None:
    """§2: a wrong type in AcceptSecurityContext → TypeError naming the parameter."""
    _, scred = run_sync(acquire_pair(ClassicForm()))
    args: dict[str, object] = {
        "phCredential": scred,
        "phContext": None,
        "pInput": token_in(b"\x16\x03\x03\x00\x00"),
        "fContextReq": ASC_FLAGS,
        "TargetDataRep": SECURITY_NATIVE_DREP,
        "phNewContext": CtxtHandle(),
        "pOutput": token_out(),
        "pfContextAttr": None,
    }
    args[name] = "wrong type"
    with pytest.raises(TypeError, match=name):
        AcceptSecurityContext(**args)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["pInput", "pOutput", "phContext"])
async def test_TypeError_names_the_parameter_async_asc(name: str) -> None:
    """§2: a wrong type in SspiAcceptSecurityContextAsync → TypeError naming it."""
    async with open_form("async") as form:
        _, scred = await acquire_pair(form)
        args: dict[str, object] = {
            "phCredential": scred,
            "phContext": None,
            "pInput": token_in(b"\x16\x03\x03\x00\x00"),
            "fContextReq": ASC_FLAGS,
            "TargetDataRep": SECURITY_NATIVE_DREP,
            "phNewContext": CtxtHandle(),
            "pOutput": token_out(),
            "pfContextAttr": None,
        }
        args[name] = "wrong type"
        actx = await SspiCreateAsyncContext()
        try:
            with pytest.raises(TypeError, match=name):
                await SspiAcceptSecurityContextAsync(actx, **args)  # type: ignore[arg-type]
            assert await SspiGetAsyncCallStatus(actx) == SEC_E_UNSUPPORTED_FUNCTION
        finally:
            await SspiFreeAsyncContext(actx)


def test_TypeError_names_the_parameter_in_the_other_classic_functions() -> None:
    """§2: the other classic functions raise TypeError naming the wrong parameter."""
    ccred, _ = run_sync(acquire_pair(ClassicForm()))
    ctx = CtxtHandle()
    with pytest.raises(TypeError, match="pMessage"):
        EncryptMessage(ctx, 0, "wrong", 0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="pMessage"):
        DecryptMessage(ctx, "wrong", 0, None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="pInput"):
        ApplyControlToken(ctx, "wrong")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="ulAttribute"):
        QueryContextAttributes(ctx, "wrong")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="fCredentialUse"):
        AcquireCredentialsHandle(None, "SimTLS", "outbound", phCredential=CredHandle())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="phCredential"):
        AcquireCredentialsHandle(None, "SimTLS", SECPKG_CRED_OUTBOUND, phCredential="h")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="phContext"):
        DeleteSecurityContext("wrong")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="phContext"):
        ImpersonateSecurityContext("wrong")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="phContext"):
        QueryContextAttributes("wrong", SECPKG_ATTR_STREAM_SIZES)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="phCredential"):
        FreeCredentialsHandle("wrong")  # type: ignore[arg-type]
    assert FreeCredentialsHandle(ccred) == SEC_E_OK


async def test_TypeError_names_the_parameter_in_the_other_async_functions() -> None:
    """§2: the other async functions raise TypeError naming it, and queue nothing."""
    async with open_form("async"):
        actx = await SspiCreateAsyncContext()
        try:
            with pytest.raises(TypeError, match="phCredential"):
                await SspiAcquireCredentialsHandleAsync(
                    actx,
                    None,
                    "SimTLS",
                    SECPKG_CRED_OUTBOUND,
                    phCredential="h",  # type: ignore[arg-type]
                )
            with pytest.raises(TypeError, match="fCredentialUse"):
                await SspiAcquireCredentialsHandleAsync(
                    actx,
                    None,
                    "SimTLS",
                    "outbound",
                    phCredential=CredHandle(),  # type: ignore[arg-type]
                )
            with pytest.raises(TypeError, match="phContext"):
                await SspiDeleteSecurityContextAsync(actx, "wrong")  # type: ignore[arg-type]
            with pytest.raises(TypeError, match="phCredential"):
                await SspiFreeCredentialsHandleAsync(actx, "wrong")  # type: ignore[arg-type]
            assert await SspiGetAsyncCallStatus(actx) == SEC_E_UNSUPPORTED_FUNCTION
        finally:
            await SspiFreeAsyncContext(actx)
