"""The ``sspi-async`` command line (SPEC §10): commands in-process through ``main()``, user
mistakes (one stderr line, exit 2), ``--help``/``--version``, and the installed console script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sspi_async import __version__
from sspi_async._cli import main

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 60

ISC_FIRST = (
    "client  SspiInitializeSecurityContextAsync -> queued SEC_E_OK, SEC_I_ASYNC_CALL_PENDING, "
    "completed SEC_I_CONTINUE_NEEDED (token "
)


def run_main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], list[str]]:
    """``main(argv)`` in-process: (exit code, stdout lines, stderr lines)."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out.splitlines(), err.splitlines()


# --------------------------------------------------------------------------- demo


def test_demo_without_arguments_runs_schannel_tls13(capsys: pytest.CaptureFixture[str]) -> None:
    """`sspi-async demo` with no arguments completes a Schannel TLS 1.3 handshake with ephemeral
    certificates (SPEC §10), reads the session tickets (M2) and exits 0."""
    code, out, err = run_main(capsys, "demo")
    assert code == 0, err
    assert err == []
    assert out[0] == (
        "client  SspiAcquireCredentialsHandleAsync -> queued SEC_E_OK, SEC_I_ASYNC_CALL_PENDING, "
        "completed SEC_E_OK"
    )
    assert out[2].startswith(ISC_FIRST)
    assert out[2].endswith(" bytes)")
    assert out[3].startswith("server  SspiAcceptSecurityContextAsync -> queued SEC_E_OK, ")
    calls = [line for line in out if "-> queued" in line]
    assert all(", SEC_I_ASYNC_CALL_PENDING, completed " in line for line in calls)
    assert any("protocol TLS 1.3" in line and "ALPN h2" in line for line in out)
    assert any("'CN=localhost'" in line and "'CN=alice'" in line for line in out)
    assert "client  DecryptMessage -> SEC_I_RENEGOTIATE (post-handshake message)" in out
    messages = [line for line in out if "EncryptMessage" in line]
    assert len(messages) == 2
    assert "DecryptMessage -> 'ping from the client'" in messages[0]
    assert "(header 5, trailer 17)" in messages[0]
    assert out[-1].startswith("handshake complete: Schannel, TLS 1.3, ALPN h2")


def test_demo_schannel_tls12(capsys: pytest.CaptureFixture[str]) -> None:
    """`demo --tls 1.2` runs Schannel's TLS 1.2 sequence: client CONTINUE, CONTINUE, OK (T8)."""
    code, out, _ = run_main(capsys, "demo", "--tls", "1.2", "--json")
    assert code == 0
    records = [json.loads(line) for line in out]
    client_steps = [
        r["completed"] for r in records if r.get("function") == "SspiInitializeSecurityContextAsync"
    ]
    assert client_steps == ["SEC_I_CONTINUE_NEEDED", "SEC_I_CONTINUE_NEEDED", "SEC_E_OK"]
    assert records[-1]["protocol"] == "TLS 1.2"


def test_demo_simtls(capsys: pytest.CaptureFixture[str]) -> None:
    """`demo --package simtls` completes a SimTLS handshake between server.example and alice."""
    code, out, _ = run_main(capsys, "demo", "--package", "simtls")
    assert code == 0
    assert any("'server.example'" in line and "'alice'" in line for line in out)
    assert out[-1].startswith("handshake complete: SimTLS, TLS 1.3, ALPN h2")


def test_demo_json_prints_one_object_per_call(capsys: pytest.CaptureFixture[str]) -> None:
    """`demo --json` prints JSON lines; every call has queued/after_await/completed statuses."""
    code, out, _ = run_main(capsys, "demo", "--json")
    assert code == 0
    records = [json.loads(line) for line in out]
    calls = [r for r in records if r["event"] == "call"]
    assert {r["side"] for r in calls} == {"client", "server"}
    queued = [r for r in calls if "queued" in r]
    assert all(r["queued"] == "SEC_E_OK" for r in queued)
    assert all(r["after_await"] == "SEC_I_ASYNC_CALL_PENDING" for r in queued)
    steps = [r for r in calls if "token_bytes" in r]
    assert [r["completed"] for r in steps[:4]] == [
        "SEC_I_CONTINUE_NEEDED",
        "SEC_I_CONTINUE_NEEDED",
        "SEC_E_OK",
        "SEC_E_OK",
    ]
    # TLS 1.3 session tickets: DecryptMessage -> SEC_I_RENEGOTIATE, then ISC -> SEC_E_OK (M2).
    assert all(r["completed"] == "SEC_E_OK" and r["token_bytes"] == 0 for r in steps[4:])
    assert steps[0]["function"] == "SspiInitializeSecurityContextAsync"
    assert steps[0]["token_bytes"] > 0
    negotiated = next(r for r in records if r["event"] == "negotiated")
    assert negotiated["alpn"] == "h2"
    assert [r["plaintext"] for r in records if r["event"] == "message"] == [
        "ping from the client",
        "pong from the server",
    ]
    assert records[-1]["event"] == "complete"
    assert records[-1]["handshake_calls"] == 4


def test_demo_options_rounds_alpn_and_package_case(capsys: pytest.CaptureFixture[str]) -> None:
    """`--package SIMTLS --rounds 2 --alpn http/1.1` runs the longer handshake and negotiates http/1.1."""
    code, out, _ = run_main(
        capsys, "demo", "--package", "SIMTLS", "--rounds", "2", "--alpn", "http/1.1", "--json"
    )
    assert code == 0
    records = [json.loads(line) for line in out]
    assert records[-1]["handshake_calls"] == 5
    assert records[-1]["alpn"] == "http/1.1"


def test_demo_without_alpn(capsys: pytest.CaptureFixture[str]) -> None:
    """`--alpn ''` offers no protocol, and the demo reports none."""
    code, out, _ = run_main(capsys, "demo", "--alpn", "")
    assert code == 0
    assert any("ALPN (none)" in line for line in out)


# --------------------------------------------------------------------------- packages, bench


def test_packages_lists_simtls(capsys: pytest.CaptureFixture[str]) -> None:
    """`packages` prints a table with SimTLS, its capabilities in hex and its max token."""
    code, out, _ = run_main(capsys, "packages")
    assert code == 0
    assert out[0].split() == ["name", "capabilities", "max", "token", "comment"]
    row = next(line for line in out if line.startswith("SimTLS "))
    assert row.split()[1].startswith("0x")


def test_packages_json(capsys: pytest.CaptureFixture[str]) -> None:
    """`packages --json` prints a JSON array with name, capabilities, max token and comment."""
    code, out, _ = run_main(capsys, "packages", "--json")
    assert code == 0
    records = json.loads("\n".join(out))
    simtls = next(r for r in records if r["name"] == "SimTLS")
    assert simtls["capabilities_hex"] == f"0x{simtls['capabilities']:08X}"
    assert simtls["max_token"] > 0
    assert simtls["comment"]


def test_bench_dispatch_json_fields(capsys: pytest.CaptureFixture[str]) -> None:
    """`bench dispatch --seconds 0.05 --json` reports every figure (never asserts on speed)."""
    code, out, _ = run_main(capsys, "bench", "dispatch", "--seconds", "0.05", "--json")
    assert code == 0
    result = json.loads("\n".join(out))
    for key in (
        "python",
        "implementation",
        "platform",
        "seconds",
        "rounds",
        "anchor_per_second",
        "sspi_per_second",
        "ratio",
        "eager_per_second",
        "eager_ratio",
        "goal_ratio",
        "within_goal",
        "structlog_configured",
    ):
        assert key in result, key
    assert result["anchor_per_second"] > 0
    assert result["sspi_per_second"] > 0
    assert result["goal_ratio"] == 3.0
    assert result["structlog_configured"] is False


def test_bench_dispatch_text(capsys: pytest.CaptureFixture[str]) -> None:
    """`bench dispatch` text output shows the anchor, the SSPI loops and the ratio against the goal."""
    code, out, _ = run_main(capsys, "bench", "dispatch", "--seconds", "0.03")
    assert code == 0
    text = "\n".join(out)
    assert "(a) bare asyncio round trip (anchor)" in text
    assert "(b) async SSPI call + notify (deferred)" in text
    assert "(eager)" in text
    assert "goal <= 3x" in text


# --------------------------------------------------------------------------- help and version


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["demo", "--help"],
        ["packages", "--help"],
        ["bench", "--help"],
        ["bench", "dispatch", "-h"],
    ],
)
def test_help_exits_zero(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """`--help` on every command prints usage and exits 0."""
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 0
    assert capsys.readouterr().out.startswith("usage: sspi-async")


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    """`--version` prints the package version and exits 0."""
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"sspi-async {__version__}"


# --------------------------------------------------------------------------- user mistakes


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["demo", "--package", "kerberos"],
            "sspi-async demo: error: unknown package 'kerberos' for the demo; "
            "use --package schannel or --package simtls",
        ),
        (["demo", "--tls", "1.1"], "argument --tls: invalid choice: '1.1'"),
        (["demo", "--rounds", "0"], "argument --rounds: must be an integer from 1 to 8"),
        (["demo", "--rounds", "9"], "argument --rounds"),
        (["demo", "--rounds", "many"], "argument --rounds"),
        (["demo", "--alpn", "h2,,x"], "argument --alpn"),
        (["demo", "--bogus"], "unrecognized arguments: --bogus"),
        (
            ["demo", "--package", "simtls", "--tls", "1.2"],
            "--tls applies to Schannel; SimTLS takes --rounds",
        ),
        (["demo", "--rounds", "2"], "--rounds applies to SimTLS; Schannel takes --tls 1.2 or 1.3"),
        (
            ["demo", "--trace", "/nonexistent-dir/t.jsonl"],
            "cannot write --trace /nonexistent-dir/t.jsonl: no such directory",
        ),
        (
            ["demo", "--package", "simtls", "--svg", "/nonexistent-dir/t.svg"],
            "cannot write --svg /nonexistent-dir/t.svg: no such directory",
        ),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        ([], "a command is required"),
        (["bench"], "a benchmark is required: dispatch"),
        (["bench", "nope"], "invalid choice: 'nope'"),
        (["bench", "dispatch", "--seconds", "0"], "argument --seconds"),
        (["bench", "dispatch", "--seconds", "soon"], "argument --seconds"),
    ],
)
def test_user_mistake_is_one_line_and_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A user mistake prints exactly one error line on stderr, nothing on stdout, and returns 2."""
    code, out, err = run_main(capsys, *argv)
    assert code == 2
    assert out == []
    assert len(err) == 1, err
    assert message in err[0]
    assert "error:" in err[0]
    assert "Traceback" not in err[0]


# --------------------------------------------------------------------------- installed entry points


def _env() -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }


def test_console_script_demo() -> None:
    """The installed `sspi-async` console script (next to sys.executable) runs `demo` and exits 0."""
    bindir = Path(sys.executable).parent
    script = next(
        (p for p in (bindir / "sspi-async", bindir / "sspi-async.exe") if p.exists()), None
    )
    if script is None:
        pytest.skip(f"the sspi-async console script is not installed in {bindir}")
    proc = subprocess.run(
        [str(script), "demo"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=_env(),
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    lines = proc.stdout.splitlines()
    assert lines[2].startswith(ISC_FIRST)
    assert lines[-1].startswith("handshake complete: ")


def test_python_dash_m() -> None:
    """`python -m sspi_async --version` runs the same command line."""
    proc = subprocess.run(
        [sys.executable, "-m", "sspi_async", "--version"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=_env(),
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"sspi-async {__version__}"


def test_library_never_imports_the_cli() -> None:
    """Importing the library (API, facade, packages) does not import the CLI (layering: L4 on top)."""
    code = (
        "import sys, sspi_async, sspi_async.sspi, sspi_async.packages, sspi_async.packages.simtls; "
        "bad = sorted(m for m in sys.modules if m.startswith('sspi_async._cli')); "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=_env(),
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_failed_run_is_one_line_and_exit_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A demo that fails (not a user mistake) prints one `failed:` line on stderr and returns 1."""
    import sspi_async._cli as cli
    from sspi_async._cli._demo import DemoError

    async def failing_demo(options: object, emit: object) -> None:
        raise DemoError("server: SspiAcceptSecurityContextAsync failed: SEC_E_LOGON_DENIED")

    monkeypatch.setattr(cli, "run_demo", failing_demo)
    code, out, err = run_main(capsys, "demo")
    assert code == 1
    assert out == []
    assert err == [
        "sspi-async: failed: server: SspiAcceptSecurityContextAsync failed: SEC_E_LOGON_DENIED"
    ]
