"""The plugin's fixtures and markers used by this suite itself (the plugin is loaded here as in any
project that installed sspi-async): fast, in-process companions of the pytester tests in
test_plugin.py, whose subprocesses run the same code where coverage cannot see it. Each test's
teardown runs the leak check too: a fixture that leaked would error the test."""

from __future__ import annotations

import pytest

from sspi_async import (
    Emulator,
    SecurityStatus,
    SspiError,
    current_emulator,
    sspi,
)
from sspi_async.testing import ContextPair, FaultPlanInstaller, TlsPki

DENY_ISC_AT_QUEUE = {
    "rules": [
        {
            "function": "ISC",
            "action": {"kind": "fail", "status": "SEC_E_NO_CREDENTIALS", "at": "queue"},
        }
    ]
}


async def test_sspi_emulator_is_fresh_current_and_tracing(sspi_emulator: Emulator) -> None:
    """sspi_emulator: the current emulator for the test, tracing, with nothing in it yet."""
    assert current_emulator() is sspi_emulator
    assert sspi_emulator.tracing
    assert sspi_emulator.trace_events() == []
    assert sspi_emulator.statistics() == dict.fromkeys(sspi_emulator.statistics(), 0)


async def test_both_pairs_share_the_tests_emulator(
    simtls_pair: ContextPair, schannel_pair: ContextPair, sspi_emulator: Emulator
) -> None:
    """simtls_pair and schannel_pair live on the test's emulator and hand-shake; their teardown
    frees what they made (or the leak check would error this test)."""
    assert simtls_pair.emulator is schannel_pair.emulator is sspi_emulator
    for pair in (simtls_pair, schannel_pair):
        conn = await pair.handshake()
        assert conn.client_to_server(b"a") == b"a"
        assert conn.server_to_client(b"b") == b"b"
    assert sspi_emulator.statistics()["contexts"] == 4


def test_tls_pki_is_shared_by_the_session(tls_pki: TlsPki, request: pytest.FixtureRequest) -> None:
    """tls_pki: one PKI per session (the same object for every test)."""
    assert request.getfixturevalue("tls_pki") is tls_pki
    assert tls_pki.server.certificate.subject.rfc4514_string() == "CN=localhost"


@pytest.mark.sspi_faults(DENY_ISC_AT_QUEUE)
async def test_the_marker_plan_applies_from_the_first_call(simtls_pair: ContextPair) -> None:
    """sspi_faults: the plan is on the emulator before the test runs; ISC fails at queue time."""
    with pytest.raises(SspiError) as error:
        await simtls_pair.handshake()
    assert error.value.status == SecurityStatus.SEC_E_NO_CREDENTIALS


@pytest.mark.sspi_faults("plans/deny_isc.toml")
async def test_the_marker_reads_a_file_next_to_the_test(fault_plan: FaultPlanInstaller) -> None:
    """sspi_faults("file"): relative to the test file's directory."""
    assert fault_plan.current is not None
    assert fault_plan.current.rules[0].name == "deny the client"


@pytest.mark.sspi_emulator(completion="eager", latency=0.001, time_scale=0)
async def test_the_settings_marker(sspi_emulator: Emulator) -> None:
    """sspi_emulator(**settings): EmulatorSettings fields; tracing stays on."""
    settings = sspi_emulator.settings
    assert (settings.completion, settings.latency, settings.time_scale) == ("eager", 0.001, 0)
    assert settings.trace


async def test_fault_plan_swaps_and_clears(
    simtls_pair: ContextPair, fault_plan: FaultPlanInstaller
) -> None:
    """fault_plan(...): TOML text in force for the next calls, then removed."""
    fault_plan(
        '[[rules]]\nside = "server"\naction = { kind = "fail", status = "SEC_E_LOGON_DENIED" }\n'
    )
    with pytest.raises(SspiError) as error:
        await simtls_pair.handshake()
    assert error.value.status == SecurityStatus.SEC_E_LOGON_DENIED
    fault_plan(None)
    await simtls_pair.handshake()


@pytest.mark.sspi_emulator(check_leaks=False)
async def test_check_leaks_false_lets_a_handle_live(sspi_emulator: Emulator) -> None:
    """check_leaks=False: a credential left alive does not error the test."""
    handle = sspi.CredHandle()
    actx = await sspi.SspiCreateAsyncContext()
    await sspi.SspiAcquireCredentialsHandleAsync(
        actx, None, "SimTLS", sspi.SECPKG_CRED_OUTBOUND, phCredential=handle
    )
    assert await sspi.wait_async_call(actx) == SecurityStatus.SEC_E_OK
    await sspi.SspiFreeAsyncContext(actx)
    assert sspi_emulator.statistics()["credentials"] == 1
