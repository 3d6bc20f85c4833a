"""The pytest-free pieces of the plugin (sspi_async.testing): plan sources, TlsPki, ContextPair,
the leak check and its message — in-process and fast, next to the pytester tests of the plugin."""

from __future__ import annotations

from pathlib import Path

import pytest

from sspi_async import (
    ConfigurationError,
    Emulator,
    EmulatorSettings,
    FaultPlan,
    FaultPlanError,
    SimTLSCred,
    SspiError,
    acquire_credentials,
    sspi,
)
from sspi_async.testing import ContextPair, FaultPlanInstaller, TlsPki, as_fault_plan
from sspi_async.testing._leaks import LeakCheck, leak_message

STALL_ACH = {"rules": [{"function": "ACH", "action": "stall"}]}


@pytest.fixture(scope="module")
def pki() -> TlsPki:
    return TlsPki.create()


# --------------------------------------------------------------------------- plan sources


def test_a_plan_from_every_source(tmp_path: Path) -> None:
    """as_fault_plan: a FaultPlan as is, a dict, TOML text, a file by str (relative to base) or
    Path."""
    plan = FaultPlan(seed=3)
    assert as_fault_plan(plan) is plan
    assert as_fault_plan({"seed": 3}) == plan
    assert as_fault_plan("seed = 3\n") == plan
    (tmp_path / "p.json").write_text('{"seed": 3}')
    assert as_fault_plan("p.json", base=tmp_path) == plan
    assert as_fault_plan(tmp_path / "p.json") == plan


def test_plan_source_mistakes_say_what_to_give(tmp_path: Path) -> None:
    """A missing file, bad TOML or a wrong type raise errors that say what a plan may be."""
    with pytest.raises(FaultPlanError, match=r"no fault plan file .*missing\.toml.*or TOML text"):
        as_fault_plan("missing.toml", base=tmp_path)
    with pytest.raises(FaultPlanError, match="not TOML"):
        as_fault_plan("seed = = 3")
    with pytest.raises(FaultPlanError, match=r"rules\[0\]\.action"):
        as_fault_plan({"rules": [{"side": "client"}]})
    with pytest.raises(TypeError, match=r"a fault plan is a FaultPlan, a dict .* not int"):
        as_fault_plan(3)  # type: ignore[arg-type]


async def test_the_installer_swaps_the_emulators_plan(tmp_path: Path) -> None:
    """FaultPlanInstaller: install, read back, clear; the emulator's plan follows."""
    async with Emulator() as emulator:
        install = FaultPlanInstaller(emulator, base=tmp_path)
        assert install.current is None
        plan = install({"seed": 9})
        assert plan is not None
        assert emulator.fault_plan == plan == install.current
        assert install(None) is None
        assert emulator.fault_plan is None
        install("seed = 1")
        install.clear()
        assert install.current is None


# --------------------------------------------------------------------------- TlsPki


def test_tls_pki_credentials_and_validated_copies(pki: TlsPki) -> None:
    """TlsPki: certificates for localhost and alice, credentials trusting the CA; copies with
    changed fields are validated (a typo names the field)."""
    assert pki.target == "localhost"
    assert pki.client_cred.trusted_roots == pki.ca.cert_pem == pki.server_cred.trusted_roots
    assert pki.client_cert_cred.certificate_chain == pki.client.chain_pem
    changed = pki.server_credential(alpn=["h2"], require_client_certificate=True)
    assert changed.alpn == ("h2",)
    assert changed.require_client_certificate
    assert changed.certificate_chain == pki.server_cred.certificate_chain
    assert pki.client_credential(certificate=True).certificate_chain == pki.client.chain_pem
    with pytest.raises(ConfigurationError, match="alpn_requird"):
        pki.client_credential(alpn_requird=True)


# --------------------------------------------------------------------------- ContextPair


@pytest.mark.parametrize("package", ["SimTLS", "Schannel"])
async def test_a_pair_handshakes_and_frees_everything(package: str, pki: TlsPki) -> None:
    """ContextPair: a handshake, application data both ways, and aclose frees every context and
    both credentials (idempotent); a closed pair makes no new contexts."""
    async with Emulator() as emulator:
        if package == "SimTLS":
            pair = await ContextPair.simtls()
        else:
            pair = await ContextPair.schannel(pki.client_cred, pki.server_cred)
        assert pair.package == package
        assert pair.emulator is emulator
        conn = await pair.handshake()
        assert conn.client_to_server(b"up") == b"up"
        assert conn.server_to_client(b"down") == b"down"
        pair.contexts()
        assert emulator.statistics()["credentials"] == 2
        await pair.aclose()
        await pair.aclose()
        assert emulator.statistics()["credentials"] == emulator.statistics()["contexts"] == 0
        with pytest.raises(RuntimeError, match="ContextPair was closed"):
            pair.contexts()


async def test_a_pair_frees_its_handles_after_shutdown() -> None:
    """A pair closed after its emulator shut down (which freed every handle itself, E1) closes
    without an error and leaves nothing."""
    emulator = Emulator()
    async with emulator:
        pair = await ContextPair.simtls()
        await pair.handshake()
        assert emulator.statistics()["contexts"] == 2
    assert emulator.closed
    assert emulator.statistics()["credentials"] == emulator.statistics()["contexts"] == 0
    await pair.aclose()
    assert emulator.statistics()["credentials"] == emulator.statistics()["contexts"] == 0


async def test_a_pair_whose_server_credential_fails_frees_the_client_one() -> None:
    """ContextPair.acquire: when the second credential fails, the first is freed."""
    async with Emulator() as emulator:
        with pytest.raises(SspiError):
            await ContextPair.acquire(
                "SimTLS", SimTLSCred(principal="a"), {"rounds": 99}, target=None
            )
        assert emulator.statistics()["credentials"] == 0


# --------------------------------------------------------------------------- leak check


async def test_the_leak_check_names_handles_by_package_and_side(pki: TlsPki) -> None:
    """LeakCheck.before_close: live handles grouped by package, side or use, counted."""
    async with Emulator() as emulator:
        check = LeakCheck(emulator)
        assert check.before_close() == []
        pair = await ContextPair.schannel(pki.client_cred, pki.server_cred)
        await pair.handshake()
        extra = await acquire_credentials("SimTLS", "both", SimTLSCred(principal="a"))
        assert check.before_close() == [
            "1 security context handle (Schannel, client side)",
            "1 security context handle (Schannel, server side)",
            "1 credential handle (Schannel, inbound)",
            "1 credential handle (Schannel, outbound)",
            "1 credential handle (SimTLS, inbound+outbound)",
        ]
        await pair.aclose()
        await extra.aclose()
        assert check.before_close() == []


async def test_the_leak_check_names_a_pending_call_and_a_lost_thread(pki: TlsPki) -> None:
    """A stalled call is named by function and async context; a crypto thread of an emulator
    never closed is named after the fixture's own emulator closed."""
    emulator = Emulator(EmulatorSettings(faults=STALL_ACH, trace=True))
    async with emulator:
        check = LeakCheck(emulator)
        actx = await sspi.SspiCreateAsyncContext()
        await sspi.SspiAcquireCredentialsHandleAsync(
            actx, None, "SimTLS", sspi.SECPKG_CRED_OUTBOUND, phCredential=sspi.CredHandle()
        )
        (pending,) = check.before_close()
        assert pending.startswith(
            "1 call queued and never completed "
            "(SspiAcquireCredentialsHandleAsync on async context 1)"
        )
        other = Emulator()
        client = await acquire_credentials("Schannel", "outbound", pki.client_cred, emulator=other)
        await client.client_context("localhost").step()  # crypto on a worker thread
    (thread,) = check.after_close()
    assert thread.startswith("1 crypto worker thread still running (sspi-async-crypto")
    await other.aclose()
    assert check.after_close() == []


def test_the_leak_message_lists_and_advises() -> None:
    """leak_message: 'A, B and C', handle advice only for handles, and the opt-out."""
    one = leak_message(["1 callback task still running"])
    assert one.startswith("sspi_emulator: the test leaked 1 callback task still running.\n")
    assert "DeleteSecurityContext" not in one
    assert "@pytest.mark.sspi_emulator(check_leaks=False)" in one
    three = leak_message(["1 credential handle (SimTLS, outbound)", "B", "C"])
    assert "leaked 1 credential handle (SimTLS, outbound), B and C." in three
    assert "FreeCredentialsHandle" in three


def test_a_bad_ini_number_stops_the_run() -> None:
    """sspi_shutdown_timeout / sspi_trace_max_events: a non-number or a negative one is a usage
    error naming the option (raised from pytest_configure, before any test)."""
    from sspi_async.testing._plugin import _ini_number

    class Config:
        def __init__(self, value: str) -> None:
            self.value = value

        def getini(self, name: str) -> str:
            return self.value

    assert _ini_number(Config(" 2.5 "), "sspi_shutdown_timeout", float) == 2.5  # type: ignore[arg-type]
    for bad in ("lots", "-1", "1.5"):
        with pytest.raises(pytest.UsageError, match=rf"sspi_trace_max_events = '{bad}'"):
            _ini_number(Config(bad), "sspi_trace_max_events", int)  # type: ignore[arg-type]
