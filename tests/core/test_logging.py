"""SPEC §11: structlog events with stable names and ids; nothing secret is logged; the library
never configures structlog and stays silent until the application does."""

from __future__ import annotations

import asyncio

import anyio
import pytest
import structlog
from structlog.testing import capture_logs

from sspi_async import Emulator, SimTLSCred, acquire_credentials, handshake
from sspi_async._core import _log
from sspi_async.sspi import (
    SEC_E_OK,
    SECPKG_CRED_OUTBOUND,
    CredHandle,
    SspiAcquireCredentialsHandleAsync,
    SspiCreateAsyncContext,
    SspiSetAsyncNotifyCallback,
    wait_async_call,
)

SECRET = "correct horse battery staple"


async def _handshake_and_message() -> None:
    client_cred = await acquire_credentials(
        "SimTLS", "outbound", SimTLSCred(principal="alice", secret=SECRET)
    )
    server_cred = await acquire_credentials(
        "SimTLS", "inbound", SimTLSCred(principal="server", secret=SECRET)
    )
    client, server = client_cred.client_context("server"), server_cred.server_context()
    await handshake(client, server)
    assert server.decrypt(client.encrypt(b"plaintext-marker")).data == b"plaintext-marker"
    with server.impersonate():
        pass


async def test_call_events_carry_names_and_ids() -> None:
    """§11: a queued call logs sspi.call.queued, sspi.call.completed and sspi.callback.dispatched
    with the function, the async context id and the status."""
    async with Emulator():
        actx = await SspiCreateAsyncContext()
        done = asyncio.Event()
        await SspiSetAsyncNotifyCallback(actx, lambda c, d: done.set(), None)
        with capture_logs() as events:
            status = await SspiAcquireCredentialsHandleAsync(
                actx,
                None,
                "SimTLS",
                SECPKG_CRED_OUTBOUND,
                None,
                None,
                None,
                None,
                CredHandle(),
                None,
            )
            assert status == SEC_E_OK
            await done.wait()
    names = [e["event"] for e in events]
    assert names[:3] == ["sspi.call.queued", "sspi.call.completed", "sspi.callback.dispatched"]
    queued, completed = events[0], events[1]
    assert queued["function"] == "SspiAcquireCredentialsHandleAsync"
    assert queued["actx"] == actx.id == completed["actx"]
    assert completed["status"] == "SEC_E_OK"


async def test_impersonation_events_name_the_user() -> None:
    """§11: sspi.impersonation.begin/end carry the user name."""
    async with Emulator():
        with capture_logs() as events:
            await _handshake_and_message()
    begin = next(e for e in events if e["event"] == "sspi.impersonation.begin")
    end = next(e for e in events if e["event"] == "sspi.impersonation.end")
    assert begin["user"] == "alice"
    assert begin["level"] == "SecurityImpersonation"
    assert end["user"] == "alice"


async def test_nothing_secret_is_logged() -> None:
    """§11: secrets, plaintext and token bytes never appear in any event."""
    async with Emulator():
        with capture_logs() as events:
            await _handshake_and_message()
    assert events, "the run logged nothing, so this test could not fail"
    text = repr(events)
    assert SECRET not in text
    assert "plaintext-marker" not in text
    assert not any(isinstance(v, (bytes, bytearray)) for e in events for v in e.values())


async def test_rejected_credentials_log_the_reason_not_the_secret() -> None:
    """C2/§11: auth data failing validation is logged with the reason, never the secret."""
    async with Emulator():
        actx = await SspiCreateAsyncContext()
        with capture_logs() as events:
            await SspiAcquireCredentialsHandleAsync(
                actx,
                None,
                "SimTLS",
                SECPKG_CRED_OUTBOUND,
                None,
                {"secret": SECRET, "rounds": 99},
                None,
                None,
                CredHandle(),
                None,
            )
            await wait_async_call(actx)
    rejected = next(e for e in events if e["event"] == "sspi.credentials.rejected")
    assert "rounds" in rejected["reason"]
    assert SECRET not in repr(events)


async def test_unconfigured_structlog_prints_nothing(capsys: object) -> None:
    """§11: the library never configures structlog, so until the application does, only errors
    are emitted: a normal handshake prints nothing to stdout."""
    assert not structlog.is_configured()
    async with Emulator():
        await _handshake_and_message()
    assert not structlog.is_configured()
    out, _err = capsys.readouterr()  # type: ignore[attr-defined]
    assert out == ""


async def test_a_failing_logger_never_leaves_a_call_pending(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """SPEC §11 + "never a hang": a structlog processor that raises (or a closed stdout) must not
    stop a call from completing and notifying; the failure is reported once on stderr."""

    def broken(logger: object, method: str, event: dict[str, object]) -> dict[str, object]:
        raise BrokenPipeError("stdout is closed")

    structlog.configure(processors=[broken])
    _log._failures.clear()
    try:
        with anyio.fail_after(10):
            await _handshake_and_message()
    finally:
        structlog.reset_defaults()
        failures = list(_log._failures)
        _log._failures.clear()
    assert failures  # the emulator did try to log, and every attempt failed
    err = capsys.readouterr().err
    assert err.count("sspi_async: logging") == 1
    assert "BrokenPipeError: stdout is closed" in err
