"""The pytest plugin as a user meets it (issue 5): test files run by ``pytester`` in a subprocess
(a fresh interpreter and event loop each), with the user's configuration: pytest-asyncio in auto
mode, ``--strict-markers``, ``--strict-config`` and warnings as errors.

Each run holds several user tests, and each assertion names the user test it is about, to keep
the subprocess count (about a second each) small.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from sspi_async import load_trace

pytest_plugins = ["pytester"]

USER_INI = """
[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
filterwarnings = error
addopts = --strict-markers --strict-config -p no:cacheprovider
"""

#: A project without pytest-asyncio (run with -p no:asyncio): no asyncio_* options.
NO_ASYNCIO_INI = "[pytest]\nfilterwarnings = error\naddopts = --strict-markers\n"

#: The imports every user test file starts with.
HEADER = """
import asyncio
from pathlib import Path

import pytest

from sspi_async import (
    Emulator, SchannelCred, SecurityStatus, SimTLSCred, SspiError, acquire_credentials,
    current_emulator, sspi,
)
from sspi_async._flags import SECPKG_CRED_OUTBOUND
from sspi_async.testing import ContextPair, FaultPlanInstaller, TlsPki
"""


def user_project(pytester: pytest.Pytester, tests: str, ini: str = USER_INI) -> None:
    """A user's project: ``pytest.ini`` and ``test_user.py`` (``HEADER`` + ``tests``)."""
    pytester.makeini(ini)
    pytester.makepyfile(test_user=HEADER + textwrap.dedent(tests))


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """Run the user's suite in a subprocess with ``-rA`` (every outcome listed), without
    hypothesis' plugin (a second to import, and nothing the user tests here use)."""
    return pytester.runpytest_subprocess(
        "-rA", "-vv", "-p", "no:hypothesispytest", *args, timeout=120
    )


def outcome_lines(result: pytest.RunResult) -> dict[str, str]:
    """``test name -> the -rA summary line`` (``PASSED``/``FAILED``/``ERROR`` and the message)."""
    lines = {}
    for line in result.outlines:
        for word in ("PASSED", "FAILED", "ERROR"):
            if line.startswith(word + " test_user.py::"):
                name = line.split("::", 1)[1].split(" ", 1)[0]
                lines[name] = lines.get(name, "") + line + "\n"
    return lines


def error_without_pytest_asyncio(pytester: pytest.Pytester, test: str, *, passed: int) -> str:
    """Run with pytest-asyncio disabled; ``passed`` tests pass and ``test`` alone errors: its
    summary line."""
    result = run(pytester, "-p", "no:asyncio")
    result.assert_outcomes(passed=passed, errors=1)
    return outcome_lines(result)[test]


# --------------------------------------------------------------------------- fixtures that pass

FIXTURES_PASS = """
async def test_emulator_is_fresh_entered_and_tracing(sspi_emulator):
    assert isinstance(sspi_emulator, Emulator)
    assert current_emulator() is sspi_emulator
    assert sspi_emulator.tracing
    assert sspi_emulator.statistics()["credentials"] == 0
    cred = await acquire_credentials("SimTLS", "outbound", SimTLSCred(principal="a", secret="s"))
    await cred.aclose()
    assert [e.kind for e in sspi_emulator.trace_events()][:2] == ["queued", "completed"]

async def test_flat_facade_uses_the_fixture(sspi_emulator):
    actx = await sspi.SspiCreateAsyncContext()
    handle = sspi.CredHandle()
    status = await sspi.SspiAcquireCredentialsHandleAsync(
        actx, None, "SimTLS", SECPKG_CRED_OUTBOUND, pAuthData=SimTLSCred(principal="a", secret="s"),
        phCredential=handle)
    assert status == SecurityStatus.SEC_E_OK
    assert await sspi.wait_async_call(actx) == SecurityStatus.SEC_E_OK
    assert sspi_emulator.statistics()["credentials"] == 1
    assert sspi.FreeCredentialsHandle(handle) == SecurityStatus.SEC_E_OK
    await sspi.SspiFreeAsyncContext(actx)

def test_tls_pki(tls_pki):
    assert isinstance(tls_pki, TlsPki) and tls_pki.target == "localhost"
    assert isinstance(tls_pki.server_cred, SchannelCred) and tls_pki.client_cred.trusted_roots
    assert tls_pki.client_cert_cred.certificate_chain
    assert tls_pki.server_credential(alpn=("h2",)).alpn == ("h2",)

async def test_simtls_pair(simtls_pair):
    assert isinstance(simtls_pair, ContextPair) and simtls_pair.package == "SimTLS"
    conn = await simtls_pair.handshake()
    assert conn.client.complete and conn.server.complete
    assert conn.client_to_server(b"ping") == b"ping"
    assert conn.server_to_client(b"pong") == b"pong"

async def test_schannel_pair(schannel_pair):
    assert schannel_pair.package == "Schannel"
    conn = await schannel_pair.handshake(alpn=["h2"])
    assert conn.client_to_server(b"ping") == b"ping"
    assert conn.server_to_client(b"pong") == b"pong"
    client, server = schannel_pair.contexts()
    hello = await client.step()
    assert hello.status == SecurityStatus.SEC_I_CONTINUE_NEEDED

async def test_fault_plan_takes_every_form(simtls_pair, fault_plan):
    assert isinstance(fault_plan, FaultPlanInstaller) and fault_plan.current is None
    fail_server = {"rules": [{"side": "server", "action": {"kind": "fail", "status": "SEC_E_LOGON_DENIED"}}]}
    fault_plan(fail_server)
    with pytest.raises(SspiError) as error:
        await simtls_pair.handshake()
    assert error.value.status == SecurityStatus.SEC_E_LOGON_DENIED
    fault_plan('[[rules]]\\nside = "client"\\naction = {kind = "delay", seconds = 0.001}\\n')
    assert fault_plan.current.rules[0].side == "client"
    Path("plan.json").write_text('{"seed": 3}')
    assert fault_plan(Path("plan.json")).seed == 3
    fault_plan(None)
    assert fault_plan.current is None
    await simtls_pair.handshake()

@pytest.mark.sspi_emulator(completion="eager", crypto_workers=0)
async def test_settings_marker(sspi_emulator):
    assert sspi_emulator.settings.completion == "eager"
    assert sspi_emulator.settings.crypto_workers == 0

def test_unrelated_sync_test():
    assert True

async def test_unrelated_async_test():
    await asyncio.sleep(0)
"""


def test_a_users_suite_with_every_fixture_passes(pytester: pytest.Pytester) -> None:
    """Issue 5: each fixture works in a user's suite (auto mode, strict markers, -W error)."""
    user_project(pytester, FIXTURES_PASS)
    result = run(pytester)
    result.assert_outcomes(passed=9)


def test_strict_mode_and_anyio_without_pytest_asyncio(pytester: pytest.Pytester) -> None:
    """The async fixtures run in pytest-asyncio strict mode and, with pytest-asyncio disabled,
    under anyio's plugin; a test no plugin runs them for gets a message saying what to do."""
    user_project(
        pytester,
        """
        @pytest.mark.asyncio
        async def test_strict(simtls_pair):
            assert current_emulator() is simtls_pair.emulator
            await simtls_pair.handshake()
        """,
        ini=USER_INI.replace("asyncio_mode = auto", "asyncio_mode = strict"),
    )
    run(pytester).assert_outcomes(passed=1)

    user_project(
        pytester,
        """
        @pytest.fixture
        def anyio_backend():
            return "asyncio"

        @pytest.mark.anyio
        async def test_on_anyio(schannel_pair):
            assert current_emulator() is schannel_pair.emulator
            conn = await schannel_pair.handshake()
            assert conn.client_to_server(b"x") == b"x"

        def test_sync_asks_for_async_fixture(simtls_pair):
            pass
        """,
        ini=NO_ASYNCIO_INI,
    )
    message = error_without_pytest_asyncio(pytester, "test_sync_asks_for_async_fixture", passed=1)
    assert "sspi_async's fixture 'sspi_emulator' is async" in message
    assert "pytest-asyncio is installed but disabled (-p no:asyncio)" in message
    assert "Enable pytest-asyncio (drop -p no:asyncio)" in message


def test_every_test_asking_for_an_async_fixture_without_a_runner_gets_the_message(
    pytester: pytest.Pytester,
) -> None:
    """Not only the first: each test using an async fixture with no runner errors with the same
    clear message, never with pytest's internal AssertionError about finalizers."""
    user_project(
        pytester,
        """
        def test_one(simtls_pair):
            pass

        def test_two(simtls_pair):
            pass

        def test_three(sspi_emulator):
            pass
        """,
        ini=NO_ASYNCIO_INI,
    )
    result = run(pytester, "-p", "no:asyncio")
    result.assert_outcomes(errors=3)
    lines = outcome_lines(result)
    for name in ("test_one", "test_two", "test_three"):
        assert "sspi_async's fixture 'sspi_emulator' is async" in lines[name], lines[name]
    assert "AssertionError" not in result.stdout.str()


def test_without_pytest_asyncio_installed(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no pytest-asyncio at all, the plugin loads and stays out of the way (an unrelated
    test passes under --strict-markers and -W error), sync fixtures work, and only a test using
    an async fixture fails, naming what to install."""
    pytester.mkdir("blocked")
    blocker = pytester.mkpydir("blocked/pytest_asyncio")
    (blocker / "__init__.py").write_text("raise ImportError('pytest-asyncio is not installed')\n")
    monkeypatch.setenv("PYTHONPATH", str(blocker.parent))
    user_project(
        pytester,
        """
        def test_pki(tls_pki):
            assert tls_pki.server.certificate

        def test_plain():
            pass

        def test_needs_the_emulator(sspi_emulator):
            pass
        """,
        ini=NO_ASYNCIO_INI,
    )
    message = error_without_pytest_asyncio(pytester, "test_needs_the_emulator", passed=2)
    assert "pytest-asyncio is not installed" in message
    assert "pip install pytest-asyncio" in message


# --------------------------------------------------------------------------- leaks

LEAKS = """
async def test_leaks_a_credential_and_a_server_context(schannel_pair):
    await acquire_credentials("SimTLS", "outbound", SimTLSCred(principal="a", secret="s"))
    client = schannel_pair.client_credentials.client_context("localhost")
    hello = await client.step()
    server = schannel_pair.server_credentials.server_context()
    await server.step(hello.token)
    await client.aclose()

@pytest.mark.sspi_faults({"rules": [{"function": "AcquireCredentialsHandle", "action": "stall"}]})
async def test_leaks_a_call_never_completed(sspi_emulator):
    actx = await sspi.SspiCreateAsyncContext()
    status = await sspi.SspiAcquireCredentialsHandleAsync(
        actx, None, "SimTLS", SECPKG_CRED_OUTBOUND, pAuthData=SimTLSCred(principal="a", secret="s"),
        phCredential=sspi.CredHandle())
    assert status == SecurityStatus.SEC_E_OK

async def test_leaks_a_callback_task(sspi_emulator):
    started = asyncio.Event()
    async def never_returns(actx, data):
        started.set()
        await asyncio.Event().wait()
    actx = await sspi.SspiCreateAsyncContext()
    await sspi.SspiSetAsyncNotifyCallback(actx, never_returns, None)
    handle = sspi.CredHandle()
    await sspi.SspiAcquireCredentialsHandleAsync(
        actx, None, "SimTLS", SECPKG_CRED_OUTBOUND, pAuthData=SimTLSCred(principal="a", secret="s"),
        phCredential=handle)
    await started.wait()
    sspi.FreeCredentialsHandle(handle)

EMULATORS = []  # an application's long-lived emulators (one garbage-collected lets its threads go)

async def test_leaks_a_crypto_thread(sspi_emulator, tls_pki):
    emulator = Emulator()  # never closed: its crypto worker thread outlives the test
    EMULATORS.append(emulator)
    cred = await acquire_credentials("Schannel", "inbound", tls_pki.server_cred, emulator=emulator)
    client = await acquire_credentials("Schannel", "outbound", tls_pki.client_cred, emulator=emulator)
    context = client.client_context("localhost")
    await context.step()  # a ClientHello: crypto work on a worker thread

@pytest.mark.sspi_emulator(check_leaks=False)
async def test_opted_out(sspi_emulator):
    await acquire_credentials("SimTLS", "outbound", SimTLSCred(principal="a", secret="s"))

async def test_fails_itself_so_no_leak_report(sspi_emulator):
    await acquire_credentials("SimTLS", "outbound", SimTLSCred(principal="a", secret="s"))
    assert False, "the test's own failure"

async def test_closes_the_emulator_itself(simtls_pair, sspi_emulator):
    await simtls_pair.handshake()
    await sspi_emulator.aclose()
"""


def test_leaks_fail_the_test_naming_what_leaked(pytester: pytest.Pytester) -> None:
    """DESIGN "Concurrency": a leaked handle, call, callback task or thread errors the test at
    teardown with a message naming it; opting out, the test's own failure and fixture-owned
    handles after the test closed the emulator report nothing."""
    user_project(pytester, LEAKS)
    pytester.makeini(USER_INI + "sspi_shutdown_timeout = 1\n")
    result = run(pytester)
    lines = outcome_lines(result)
    result.assert_outcomes(passed=6, failed=1, errors=4)
    assert (
        "sspi_emulator: the test leaked 1 security context handle (Schannel, server side) "
        "and 1 credential handle (SimTLS, outbound)."
    ) in lines["test_leaks_a_credential_and_a_server_context"]
    assert (
        "leaked 1 call queued and never completed "
        "(SspiAcquireCredentialsHandleAsync on async context 1)"
    ) in lines["test_leaks_a_call_never_completed"]
    callback = lines["test_leaks_a_callback_task"]
    assert "1 callback task still running" in callback
    assert "did not shut down within 1 s" in callback
    assert "1 crypto worker thread still running (sspi-async-crypto" in result.stdout.str()
    assert "ERROR" in lines["test_leaks_a_crypto_thread"]
    assert lines["test_opted_out"].startswith("PASSED")
    assert lines["test_fails_itself_so_no_leak_report"].startswith("FAILED")
    assert "ERROR" not in lines["test_fails_itself_so_no_leak_report"]
    assert lines["test_closes_the_emulator_itself"].startswith("PASSED")
    assert "ERROR" not in lines["test_closes_the_emulator_itself"]


# --------------------------------------------------------------------------- traces in reports

FAILING = """
async def test_handshake_then_fails(simtls_pair):
    await simtls_pair.handshake()
    assert False, "deliberately"

async def test_fails_without_calls(sspi_emulator):
    assert False, "no calls"

async def test_passes(simtls_pair):
    await simtls_pair.handshake()

async def test_many_handshakes_then_fails(simtls_pair):
    for _ in range(3):
        await simtls_pair.handshake()
    assert False, "after 3 handshakes"
"""


def test_a_failing_test_reports_its_trace_as_mermaid(pytester: pytest.Pytester) -> None:
    """Issue 5: a failing test's report has a section with its trace as a Mermaid
    sequenceDiagram; --sspi-trace-dir writes the trace as JSON Lines; passing tests and tests
    without calls get no section; sspi_trace_max_events cuts a long diagram to its last events."""
    user_project(pytester, FAILING)
    pytester.makeini(USER_INI + "sspi_trace_max_events = 20\n")
    result = run(pytester, "--sspi-trace-dir", "traces")
    result.assert_outcomes(passed=1, failed=3)
    out = result.stdout.str()
    assert out.count("sspi_async trace (Mermaid sequenceDiagram)") == 2
    result.stdout.fnmatch_lines(
        [
            "*_ test_handshake_then_fails _*",
            "*AssertionError: deliberately*",
            "*- sspi_async trace (Mermaid sequenceDiagram); JSON Lines in traces*",
            "sequenceDiagram",
            "    participant Client",
            "    participant LSA as LSA (emulator)",
            "    participant Server",
            "    Client->>LSA: SspiAcquireCredentialsHandleAsync (actx 1) queued SEC_E_OK",
            "*Server->>LSA: SspiAcceptSecurityContextAsync (actx *, token * bytes) queued SEC_E_OK",
            "    LSA-->>Server: SEC_E_OK, token 0 bytes, ctx 2",
            "*_ test_fails_without_calls _*",
            "*_ test_many_handshakes_then_fails _*",
            "*sspi_async trace (Mermaid sequenceDiagram); JSON Lines in *; the last 20 of * events*",
        ]
    )
    traces = sorted(p.name for p in Path(pytester.path, "traces").iterdir())
    assert traces == [
        "test_user.py_test_handshake_then_fails.jsonl",
        "test_user.py_test_many_handshakes_then_fails.jsonl",
    ]
    events = load_trace(Path(pytester.path, "traces", traces[0]))
    assert {e.side for e in events} == {"client", "server"}
    assert len(load_trace(Path(pytester.path, "traces", traces[1]))) > 20


# --------------------------------------------------------------------------- markers

MARKERS = """
@pytest.mark.sspi_faults("plans/deny.toml")
async def test_plan_file(simtls_pair):
    with pytest.raises(SspiError) as error:
        await simtls_pair.handshake()
    assert error.value.status == SecurityStatus.SEC_E_LOGON_DENIED
    queued = [e for e in simtls_pair.emulator.trace_events() if e.kind == "queued"]
    assert queued[-1].queue_status == "SEC_E_LOGON_DENIED"
    assert queued[-1].faults == ("deny the client: fail SEC_E_LOGON_DENIED at queue",)

@pytest.mark.sspi_faults({"rules": [{"side": "server", "nth": 2,
                                     "action": {"kind": "fail", "status": "SEC_E_INTERNAL_ERROR"}}]})
async def test_plan_dict(simtls_pair):
    with pytest.raises(SspiError) as error:
        await simtls_pair.handshake()
    assert error.value.status == SecurityStatus.SEC_E_INTERNAL_ERROR

@pytest.mark.sspi_faults(seed=5, rules=[{"function": "ISC", "action": "eager"}])
async def test_plan_keywords(sspi_emulator, fault_plan):
    assert fault_plan.current.seed == 5

@pytest.mark.sspi_faults("plans/missing.toml")
async def test_missing_file(sspi_emulator):
    pass

@pytest.mark.sspi_faults({"rules": [{"action": {"kind": "fail", "status": "SEC_E_FOO"}}]})
async def test_bad_plan(sspi_emulator):
    pass

@pytest.mark.sspi_faults("plans/deny.toml")
def test_marker_without_the_fixture():
    pass

@pytest.mark.sspi_emulator(latency=-1)
async def test_bad_settings(sspi_emulator):
    pass
"""

DENY_PLAN = """
seed = 1

[[rules]]
name = "deny the client"
function = "InitializeSecurityContext"
action = { kind = "fail", status = "SEC_E_LOGON_DENIED", at = "queue" }
"""


def test_markers_apply_plans_and_reject_mistakes(pytester: pytest.Pytester) -> None:
    """Issue 5: sspi_faults runs the test under a plan (file relative to the test, dict or
    keywords) from its first call; a missing file, a bad plan or setting, and a marker on a test
    without the emulator error at setup with a message naming the problem."""
    user_project(pytester, MARKERS)
    pytester.mkdir("plans")
    Path(pytester.path, "plans", "deny.toml").write_text(DENY_PLAN)
    result = run(pytester)
    lines = outcome_lines(result)
    result.assert_outcomes(passed=3, errors=4)
    assert (
        "@pytest.mark.sspi_faults on test_missing_file: no fault plan file"
        in (lines["test_missing_file"])
    )
    assert "rules[0].action.status: unknown status 'SEC_E_FOO'" in lines["test_bad_plan"]
    assert (
        "does nothing: the test uses neither sspi_emulator"
        in (lines["test_marker_without_the_fixture"])
    )
    assert (
        "@pytest.mark.sspi_emulator on test_bad_settings: invalid EmulatorSettings: latency"
        in (lines["test_bad_settings"])
    )
