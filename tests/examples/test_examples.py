"""The runnable examples: each runs in a subprocess, exits 0 and prints its expected transcript."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.facade import tls_peers

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
TIMEOUT = 60


def run_example(name: str) -> list[str]:
    """Run ``examples/<name>`` with this interpreter; return its stdout lines (asserts exit 0)."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd=ROOT,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, f"{name} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.stdout.splitlines()


def test_async_contexts_sample_runs_the_microsoft_sample() -> None:
    """The ported sample queues ASC (SEC_E_OK), sees it pending, and the callback sees SEC_E_OK and frees."""
    lines = run_example("async_contexts_sample.py")
    assert all(line.startswith("scene: ") for line in lines[:3]), "the scene comes first"
    assert "SEC_I_CONTINUE_NEEDED (ClientHello" in lines[0]
    assert lines[2].startswith("scene: client InitializeSecurityContext -> SEC_E_OK (Finished")
    assert lines[3:7] == [
        "DoASCCall: SspiSetAsyncNotifyCallback -> SEC_E_OK",
        "DoASCCall: SspiAcceptSecurityContextAsync queued -> SEC_E_OK",
        "DoASCCall: SspiGetAsyncCallStatus -> SEC_I_ASYNC_CALL_PENDING",
        "AsyncCallCompleted: SspiGetAsyncCallStatus -> SEC_E_OK",
    ]
    assert "client 'alice'" in lines[7]
    assert lines[8] == "AsyncCallCompleted: SspiFreeAsyncContext done"
    assert lines[-1].startswith("sample complete")


def test_simtls_handshake_completes_and_exchanges_messages() -> None:
    """The flat-facade handshake reaches SEC_E_OK on both sides and round-trips one message each way."""
    lines = run_example("simtls_handshake.py")
    assert lines[:2] == [
        "client: SspiAcquireCredentialsHandleAsync -> SEC_E_OK",
        "server: SspiAcquireCredentialsHandleAsync -> SEC_E_OK",
    ]
    steps = [line for line in lines if "SecurityContextAsync ->" in line and "Delete" not in line]
    assert [s.split(" -> ")[1].split(",")[0] for s in steps] == [
        "SEC_I_CONTINUE_NEEDED",
        "SEC_I_CONTINUE_NEEDED",
        "SEC_E_OK",
        "SEC_E_OK",
    ]
    assert "stream sizes: header 5, trailer 32, max message 16384" in lines
    assert any(line.endswith("decrypted b'GET / HTTP/1.1'") for line in lines)
    assert any(line.endswith("decrypted b'HTTP/1.1 200 OK'") for line in lines)
    assert "client: SspiDeleteSecurityContextAsync -> SEC_E_OK" in lines
    assert "server: SspiFreeCredentialsHandleAsync -> SEC_E_OK" in lines
    assert lines[-1].startswith("handshake complete")


def test_reinit_reuse_shows_the_status_cycle_and_strict_refusal() -> None:
    """Every call on the shared context goes UNSUPPORTED -> PENDING -> result -> reinit -> UNSUPPORTED; strict refuses reuse (A9, A10)."""
    lines = run_example("reinit_reuse.py")
    calls = [line for line in lines if line.startswith(("client ", "server "))]
    assert len(calls) == 10
    for line in calls:
        assert " SEC_E_UNSUPPORTED_FUNCTION -> SEC_I_ASYNC_CALL_PENDING -> " in line
        assert line.endswith(" -> reinit -> SEC_E_UNSUPPORTED_FUNCTION")
    assert (
        "strict: reuse without reinit -> queue SEC_E_INVALID_PARAMETER, "
        "status stays SEC_E_INVALID_HANDLE, callbacks 6"
    ) in lines
    assert (
        "strict: after reinit -> queue SEC_E_OK, completed SEC_E_INVALID_HANDLE, callbacks 7"
        in lines
    )


@pytest.mark.parametrize(
    "name", ["async_contexts_sample.py", "simtls_handshake.py", "reinit_reuse.py"]
)
def test_example_output_is_deterministic(name: str) -> None:
    """Two runs of an example print the same transcript."""
    assert run_example(name) == run_example(name)


def _read_line(proc: subprocess.Popen[str], prefix: str) -> str:
    """The first stdout line of ``proc`` starting with ``prefix`` (the caller bounds the wait)."""
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith(prefix):
            return line.strip()
    raise AssertionError(f"the process ended without printing {prefix!r}")


def test_tls_echo_server_and_client_talk_over_tcp() -> None:
    """tls_echo_server.py serves one TLS 1.3 connection on 127.0.0.1; tls_client.py validates the
    ephemeral certificate, sends a line and reads its echo (SspiTLSStream over TCP, T8, M1, M2)."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    server = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "tls_echo_server.py"), "--once"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    try:
        address = _read_line(server, "listening on ").removeprefix("listening on ")
        ca_file = _read_line(server, "CA certificate: ").removeprefix("CA certificate: ")
        client = subprocess.run(
            [sys.executable, str(EXAMPLES / "tls_client.py"), address, "--cafile", ca_file],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            env=env,
            cwd=ROOT,
            check=False,
        )
        assert client.returncode == 0, client.stderr
        lines = client.stdout.splitlines()
        assert lines[0].startswith("connected: TLSv1.3, server certificate ")
        assert lines[1] == "sent b'hello over SSPI\\n', received b'hello over SSPI\\n'"
        out, err = server.communicate(timeout=TIMEOUT)
        assert server.returncode == 0, err
        assert "client connected: TLSv1.3 TLS_AES_256_GCM_SHA384" in out
        assert "client closed after 16 bytes" in out
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate()


def _log_reason(line: str) -> str | None:
    """The reason of a listener failure event the example logs (structlog JSON, one a line)."""
    if not line.startswith("{"):
        return None
    event = json.loads(line)
    if event["event"] not in ("sspi.listener.handshake_failed", "sspi.listener.connection_failed"):
        return None
    assert event["level"] == "warning"
    assert set(event) >= {"peer", "exc_type", "timestamp"}
    return str(event["reason"])


def test_e5_tls_echo_server_survives_every_bad_client() -> None:
    """E5: tls_echo_server.py keeps serving after a reset before/after the ClientHello, an EOF
    without close_notify (a Python ssl client that never unwraps), a client that does not trust
    its CA, garbage and an idle client (--handshake-timeout): each is one structlog JSON line
    with a non-empty reason, and the next client gets its echo."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    server = tls_peers.ServerProcess(
        [sys.executable, str(EXAMPLES / "tls_echo_server.py"), "--handshake-timeout", "2"],
        env=env,
        cwd=ROOT,
    )
    try:
        [*_, listening] = server.expect(lambda line: line.startswith("listening on "))
        [*_, ca_line] = server.expect(lambda line: line.startswith("CA certificate: "))
        port = int(listening.rsplit(":", 1)[1])
        cafile = Path(ca_line.removeprefix("CA certificate: "))
        tls_peers.check_bad_clients(server, port, cafile, _log_reason)
    finally:
        status, err = server.stop()
    assert "Traceback" not in err, err
    assert status == 0, err


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_e5_tls_echo_server_survives_a_killed_openssl_s_client() -> None:
    """E5: an `openssl s_client` killed after its handshake (no close_notify) ends its own
    connection with one logged reason; tls_echo_server.py goes on and echoes the next client."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    server = tls_peers.ServerProcess(
        [sys.executable, str(EXAMPLES / "tls_echo_server.py")], env=env, cwd=ROOT
    )
    try:
        [*_, listening] = server.expect(lambda line: line.startswith("listening on "))
        [*_, ca_line] = server.expect(lambda line: line.startswith("CA certificate: "))
        address = listening.removeprefix("listening on ")
        cafile = Path(ca_line.removeprefix("CA certificate: "))
        client = tls_peers.ServerProcess(
            [
                *("openssl", "s_client", "-connect", address),
                *("-CAfile", str(cafile), "-servername", "localhost"),
            ],
            stdin=subprocess.PIPE,
        )
        try:
            client.expect(lambda line: "Verify return code: 0 (ok)" in line)
            server.expect(lambda line: line.startswith("client connected: "))
        finally:
            client.process.kill()
            client.stop()
        [line] = server.expect(lambda line: _log_reason(line) is not None)
        assert json.loads(line)["event"] == "sspi.listener.connection_failed"
        assert (_log_reason(line) or "").strip()
        port = int(address.rsplit(":", 1)[1])
        assert tls_peers.echo(port, cafile, b"next") == b"next"
    finally:
        status, err = server.stop()
    assert "Traceback" not in err, err
    assert status == 0, err


def test_e11_tls_echo_server_exits_quietly_when_its_output_pipe_closes(tmp_path: Path) -> None:
    """E11: `python examples/tls_echo_server.py | head -2`: at its next line of output (here the
    next client's) the server exits with 141 and no traceback, instead of a BrokenPipeError
    from the connection's task tearing the task group down with status 1."""
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    process = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "tls_echo_server.py")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline().rsplit(":", 1)[1])
        cafile = Path(process.stdout.readline().removeprefix("CA certificate: ").strip())
        process.stdout.close()
        with contextlib.suppress(OSError):
            tls_peers.echo(port, cafile)  # the server's line for it meets the closed pipe
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.communicate()
    assert "Traceback" not in err, err
    assert err == ""
    assert process.returncode == 141
