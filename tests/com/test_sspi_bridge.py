"""SSPI and COM together (R21–R26, bridging): SSPI impersonation inside COM calls, COM calls
authenticated by an emulated SSPI server context (SimTLS, Schannel), and their interaction."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import structlog

from sspi_async import (
    EmulatorSettings,
    ImpersonationLevel,
    SimTLSCred,
    acquire_credentials,
    handshake,
)
from sspi_async.com import (
    E_FAIL,
    E_INVALIDARG,
    EOAC_STATIC_CLOAKING,
    ERROR_BAD_IMPERSONATION_LEVEL,
    ERROR_CANT_OPEN_ANONYMOUS,
    GENERIC_READ,
    RPC_C_AUTHN_GSS_SCHANNEL,
    RPC_C_AUTHN_LEVEL_PKT_PRIVACY,
    RPC_E_CALL_COMPLETE,
    S_OK,
    CoGetCallContext,
    CoImpersonateClient,
    CoQueryClientBlanket,
    CoRevertToSelf,
    IID_IServerSecurity,
    Runtime,
    Securable,
    current_token,
    open_thread_token,
    process_token,
    run_as,
)
from sspi_async.sspi import (
    ASC_REQ_CONFIDENTIALITY,
    ASC_REQ_MUTUAL_AUTH,
    ASC_REQ_STREAM,
    ISC_REQ_CONFIDENTIALITY,
    ISC_REQ_IDENTIFY,
    ISC_REQ_STREAM,
    SEC_E_INVALID_HANDLE,
    SEC_E_NO_IMPERSONATION,
    SEC_E_OK,
    SEC_E_UNSUPPORTED_FUNCTION,
    SEC_I_ASYNC_CALL_PENDING,
    SECPKG_CRED_OUTBOUND,
    CredHandle,
    CtxtHandle,
    ImpersonateSecurityContext,
    QuerySecurityContextToken,
    RevertSecurityContext,
    SspiAcquireCredentialsHandleAsync,
    SspiCreateAsyncContext,
    SspiFreeAsyncContext,
    SspiGetAsyncCallStatus,
    SspiSetAsyncNotifyCallback,
    TimeStamp,
    wait_async_call,
)
from tests.com.helpers import DAVE, FnServer, serve, simtls_pair, wait_for
from tests.facade.schannel_helpers import client_cert_cred, pki, server_cred

P = process_token().user
FILE = Securable("file", {"carol": GENERIC_READ, "alice": GENERIC_READ})


async def _in_com_call(body: Any, **serve_options: Any) -> None:
    """Run ``body()`` inside a synchronous COM call made by alice at IMPERSONATE."""

    async def run(_: object) -> int:
        await body()
        return S_OK

    async with serve(run, **serve_options) as s:
        assert await s.proxy.Call() == (S_OK,)


# ------------------------------------------------------------------------------- R21, R22


async def test_R21_R22_sspi_impersonation_is_raw_and_its_revert_is_not_nested() -> None:
    """R21: ImpersonateSecurityContext in a COM call overrides the COM impersonation (the COM
    IsImpersonating is then False) and saves nothing; R22: RevertSecurityContext goes to the
    process token, not back to the COM client."""
    seen: list[object] = []
    async with simtls_pair("carol") as pair:

        async def body() -> None:
            _, ss = CoGetCallContext(IID_IServerSecurity)
            assert CoImpersonateClient() == S_OK
            seen.append(ImpersonateSecurityContext(pair.server.handle))
            seen.append((current_token().user, ss.IsImpersonating()))  # type: ignore[union-attr]
            seen.append(RevertSecurityContext(pair.server.handle))
            seen.append(current_token().user)

        await _in_com_call(body)
    assert seen == [SEC_E_OK, ("carol", False), SEC_E_OK, P]


async def test_R21_failures_leave_the_COM_impersonation_in_force() -> None:
    """R21: a bad handle (INVALID_HANDLE), an incomplete or anonymous context
    (NO_IMPERSONATION) and the kernel profile (UNSUPPORTED_FUNCTION) change nothing."""
    seen: list[object] = []
    async with simtls_pair(None) as anonymous:
        incomplete = (await acquire_credentials("SimTLS", "inbound", SimTLSCred(principal="s", secret="x"))).server_context()  # fmt: skip

        async def body() -> None:
            assert CoImpersonateClient() == S_OK
            handles = (CtxtHandle(7, 7), anonymous.server.handle, incomplete.handle)
            seen.extend((ImpersonateSecurityContext(h), current_token().user) for h in handles)

        await _in_com_call(body)
    async with simtls_pair("carol", settings=EmulatorSettings(profile="kernel")) as kernel:

        async def kernel_body() -> None:
            assert CoImpersonateClient() == S_OK
            seen.append((ImpersonateSecurityContext(kernel.server.handle), current_token().user))

        await _in_com_call(kernel_body)
    assert seen == [
        (SEC_E_INVALID_HANDLE, "alice"),
        (SEC_E_NO_IMPERSONATION, "alice"),
        (SEC_E_INVALID_HANDLE, "alice"),  # never started: no context handle yet
        (SEC_E_UNSUPPORTED_FUNCTION, "alice"),
    ]


# ------------------------------------------------------------------------------- R23, R24


async def test_R23_sspi_identify_context_gives_an_identify_token_in_COM_too() -> None:
    """R23: ISC_REQ_IDENTIFY → an IDENTIFY token, directly (ImpersonateSecurityContext) and
    through a COM call authenticated by that context; opening as the client fails (1346)."""
    seen: dict[str, Any] = {}
    flags = ISC_REQ_CONFIDENTIALITY | ISC_REQ_STREAM | ISC_REQ_IDENTIFY
    async with simtls_pair("carol", client_flags=flags) as pair:
        assert ImpersonateSecurityContext(pair.server.handle) == SEC_E_OK
        seen["sspi"] = (current_token().level, FILE.open_as_client(GENERIC_READ)[0])
        assert RevertSecurityContext(pair.server.handle) == SEC_E_OK

        async def body(_: object) -> int:
            assert CoImpersonateClient() == S_OK
            seen["com"] = (current_token().level, FILE.open_as_client(GENERIC_READ)[0])
            seen["check"] = FILE.access_check(current_token(), GENERIC_READ)
            return CoRevertToSelf()

        async with Runtime() as rt:
            ref = rt.mta().register(FnServer(body))
            status, proxy = rt.proxy_for_context(ref, pair.server.handle)
            assert status == SEC_E_OK
            assert proxy is not None
            assert await proxy.Call() == (S_OK,)
    ident = ImpersonationLevel.SecurityIdentification
    assert seen == {
        "sspi": (ident, ERROR_BAD_IMPERSONATION_LEVEL),
        "com": (ident, ERROR_BAD_IMPERSONATION_LEVEL),
        "check": 0,
    }


async def test_R24_query_security_context_token_inside_a_call() -> None:
    """R24: QuerySecurityContextToken → SEC_E_OK and the client's token; bad handle →
    SEC_E_INVALID_HANDLE; the kernel profile → SEC_E_UNSUPPORTED_FUNCTION."""
    async with simtls_pair("carol") as pair:
        status, token = QuerySecurityContextToken(pair.server.handle)
        assert (status, token and token.user) == (SEC_E_OK, "carol")
        assert QuerySecurityContextToken(CtxtHandle(9, 9)) == (SEC_E_INVALID_HANDLE, None)
    async with simtls_pair("carol", settings=EmulatorSettings(profile="kernel")) as kernel:
        assert QuerySecurityContextToken(kernel.server.handle) == (SEC_E_UNSUPPORTED_FUNCTION, None)


# ------------------------------------------------------------------------------------ R25


async def test_R25_async_call_is_pending_then_its_callback_runs_at_the_process_token() -> None:
    """R25/I5: an async SSPI call queued from an impersonating COM call is pending, then its
    notify callback runs at the process token with no call context; an SSPI impersonation made
    in the callback stays there."""
    seen: dict[str, Any] = {}
    async with simtls_pair("carol") as pair:
        ran = asyncio.Event()

        def callback(actx: object, data: object) -> None:
            seen["callback"] = (current_token().user, CoGetCallContext(IID_IServerSecurity)[0])
            seen["callback imp"] = ImpersonateSecurityContext(pair.server.handle)
            ran.set()

        async def body() -> None:
            assert CoImpersonateClient() == S_OK
            actx = await SspiCreateAsyncContext()
            assert await SspiSetAsyncNotifyCallback(actx, callback) == SEC_E_OK
            cred, expiry = CredHandle(), TimeStamp()
            queued = await SspiAcquireCredentialsHandleAsync(
                actx, None, "SimTLS", SECPKG_CRED_OUTBOUND, None,
                SimTLSCred(principal="x", secret="y"), None, None, cred, expiry,
            )  # fmt: skip
            seen["queued"] = (queued, await SspiGetAsyncCallStatus(actx))
            seen["result"] = await wait_async_call(actx)
            await wait_for(ran.wait(), "the notify callback")
            seen["call after callback"] = current_token().user
            await SspiFreeAsyncContext(actx)

        await _in_com_call(body)
    assert seen == {
        "queued": (SEC_E_OK, SEC_I_ASYNC_CALL_PENDING),
        "result": SEC_E_OK,
        "callback": (P, RPC_E_CALL_COMPLETE),
        "callback imp": SEC_E_OK,
        "call after callback": "alice",
    }


# ------------------------------------------------------------------------------------ R26


async def test_R26_COM_revert_over_an_SSPI_impersonation_restores_the_COM_saved_token() -> None:
    """R26: COM RevertToSelf while an SSPI impersonation is in force restores what COM saved —
    here dave, the worker's run_as token — and logs a warning (Windows: undefined)."""
    seen: list[str] = []
    async with simtls_pair("carol") as pair:

        async def body() -> None:
            _, ss = CoGetCallContext(IID_IServerSecurity)

            async def worker() -> None:
                assert ss.ImpersonateClient() == S_OK  # type: ignore[union-attr]
                assert ImpersonateSecurityContext(pair.server.handle) == SEC_E_OK
                seen.append(current_token().user)
                assert ss.RevertToSelf() == S_OK  # type: ignore[union-attr]
                seen.append(current_token().user)

            await run_as(DAVE, worker)

        with structlog.testing.capture_logs() as logs:
            await _in_com_call(body)
    assert seen == ["carol", "dave"]
    (warning,) = [e for e in logs if e["event"] == "com.impersonation.mixed_revert"]
    assert warning["log_level"] == "warning"
    assert (warning["by"], warning["ended"], warning["restored"]) == (
        "RevertToSelf",
        "carol",
        "dave",
    )


@pytest.mark.parametrize("nesting", ["apartment", "traditional"])
async def test_R26_auto_revert_ends_a_leftover_SSPI_impersonation_with_a_warning(
    nesting: str,
) -> None:
    """R26/R8: a method that returns with an SSPI impersonation still in force is reverted by
    the dispatcher (the apartment is back at the process token) and a warning is logged."""
    async with simtls_pair("carol") as pair:

        async def body(_: object) -> int:
            return ImpersonateSecurityContext(pair.server.handle)

        with structlog.testing.capture_logs() as logs:
            async with serve(body, apartment="sta", nesting=nesting) as s:
                assert await s.proxy.Call() == (SEC_E_OK,)
                assert (await s.ref.apartment.run(current_token)).user == P
    (warning,) = [e for e in logs if e["event"] == "com.impersonation.mixed_revert"]
    assert (warning["by"], warning["ended"], warning["restored"]) == ("auto-revert", "carol", P)


# ------------------------------------------------------------------------------ bridging


async def test_bridge_simtls_context_authenticates_a_COM_call_as_its_client() -> None:
    """Bridging: a COM call authenticated by a SimTLS server context carries its client (carol,
    IMPERSONATE, source SimTLS) at PKT_PRIVACY through the Schannel service (TLS-shaped)."""
    seen: dict[str, Any] = {}

    async def body(_: object) -> int:
        seen["blanket"] = CoQueryClientBlanket()[1]
        assert CoImpersonateClient() == S_OK
        token = current_token()
        seen["token"] = (token.user, token.level, token.source)
        seen["open"] = FILE.open_as_client(GENERIC_READ)[0]
        return S_OK

    async with simtls_pair("carol") as pair, Runtime() as rt:
        ref = rt.mta().register(FnServer(body))
        status, proxy = rt.proxy_for_context(ref, pair.server.handle)
        assert status == SEC_E_OK
        assert proxy is not None
        assert await proxy.Call() == (S_OK,)
        assert proxy.SetBlanket(dwCapabilities=EOAC_STATIC_CLOAKING) == E_INVALIDARG  # R17
        assert rt.proxy_for_context(ref, CtxtHandle(4, 4)) == (SEC_E_INVALID_HANDLE, None)
        assert rt.proxy_for_context(ref, pair.client.handle)[0] == SEC_E_OK
    assert seen["token"] == ("carol", ImpersonationLevel.SecurityImpersonation, "SimTLS")
    assert seen["open"] == 0
    blanket = seen["blanket"]
    assert (blanket.authn_svc, blanket.authn_level, blanket.privs) == (
        RPC_C_AUTHN_GSS_SCHANNEL,
        RPC_C_AUTHN_LEVEL_PKT_PRIVACY,
        None,
    )


async def test_bridge_anonymous_and_tokenless_contexts() -> None:
    """Bridging: an anonymous SimTLS client is an ANONYMOUS COM client (COM lets the server
    impersonate it; its token cannot be opened, 1347); a kernel-profile context authenticates
    the call but gives no client token (ImpersonateClient → E_FAIL)."""
    seen: list[object] = []

    async def body(_: object) -> int:
        seen.append(CoImpersonateClient())
        seen.append((current_token().level, open_thread_token()[0]))
        return CoRevertToSelf()

    for principal, settings in ((None, None), ("carol", EmulatorSettings(profile="kernel"))):
        async with simtls_pair(principal, settings=settings) as pair, Runtime() as rt:
            ref = rt.mta().register(FnServer(body))
            status, proxy = rt.proxy_for_context(ref, pair.server.handle)
            assert status == SEC_E_OK
            assert proxy is not None
            assert await proxy.Call() == (S_OK,)
    assert seen == [
        S_OK,
        (ImpersonationLevel.SecurityAnonymous, ERROR_CANT_OPEN_ANONYMOUS),
        E_FAIL,
        (ImpersonationLevel.SecurityImpersonation, 1008),
    ]


@pytest.mark.parametrize("mapping", ["common_name", None])
async def test_bridge_schannel_client_certificate(mapping: str | None) -> None:
    """Bridging: over real TLS (Schannel) with a client certificate, the COM call's privs are
    the client's CERT_CONTEXT; a mapped certificate is impersonated as its account, an unmapped
    one cannot be (E_FAIL)."""
    seen: dict[str, Any] = {}

    async def body(_: object) -> int:
        seen["privs"] = CoQueryClientBlanket()[1].privs  # type: ignore[union-attr]
        seen["imp"] = (CoImpersonateClient(), current_token().user)
        return S_OK

    async with simtls_pair("unused") as sim:  # an emulator for the Schannel handshake
        ccred = await acquire_credentials("Schannel", "outbound", client_cert_cred())
        scred = await acquire_credentials(
            "Schannel", "inbound", server_cred(client_certificate_mapping=mapping)
        )
        client = ccred.client_context("localhost")
        server = scred.server_context(
            flags=ASC_REQ_CONFIDENTIALITY | ASC_REQ_STREAM | ASC_REQ_MUTUAL_AUTH
        )
        await handshake(client, server)
        async with Runtime() as rt:
            ref = rt.mta().register(FnServer(body))
            status, proxy = rt.proxy_for_context(ref, server.handle, emulator=sim.emulator)
            assert status == SEC_E_OK
            assert proxy is not None
            assert await proxy.Call() == (S_OK,)
    assert seen["privs"].pbCertEncoded == pki().client.der
    assert seen["imp"] == ((S_OK, "alice") if mapping else (E_FAIL, P))
