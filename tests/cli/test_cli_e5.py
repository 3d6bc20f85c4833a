"""`sspi-async serve` as a subprocess against misbehaving clients (SPEC E5) and every command's
output pipe closing early (SPEC E11)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.facade import tls_peers

TIMEOUT = 60  # seconds: the bound on each subprocess


def _serve(tmp_path: Path, *options: str) -> tuple[tls_peers.ServerProcess, int]:
    server = tls_peers.ServerProcess(
        [
            sys.executable,
            "-m",
            "sspi_async",
            "serve",
            "--ca-out",
            str(tmp_path / "ca.pem"),
            *options,
        ]
    )
    [*_, line] = server.expect(lambda line: line.startswith("serving TLS echo on "))
    return server, int(line.rsplit(":", 1)[1])


def _failure_reason(line: str) -> str | None:
    """The reason of a `serve` failure line (`PEER: handshake|connection failed: REASON`)."""
    for marker in (": handshake failed: ", ": connection failed: "):
        if marker in line:
            return line.split(marker, 1)[1]
    return None


def test_e5_serve_survives_every_bad_client_with_one_line_each(tmp_path: Path) -> None:
    """E5: against `sspi-async serve`, a reset before/after the ClientHello, an EOF without
    close_notify, a failed handshake, garbage and an idle client (--handshake-timeout) each end
    their connection with one `failed: <reason>` line; the next client still gets its echo."""
    server, port = _serve(tmp_path, "--handshake-timeout", "2")
    try:
        tls_peers.check_bad_clients(server, port, tmp_path / "ca.pem", _failure_reason)
    finally:
        status, err = server.stop()
    assert status == 0, err
    assert "Traceback" not in err, err
    idle = [line for line in server.transcript if "no TLS handshake within 2 s" in line]
    assert len(idle) == 1, server.transcript


def test_e5_serve_reports_the_peer_and_a_reason_for_a_reset(tmp_path: Path) -> None:
    """E5: a client that connects and resets at once is one `handshake failed: <reason>` line
    naming the connection (or `unknown peer`), never a `TypedAttributeLookupError` exit."""
    server, port = _serve(tmp_path)
    try:
        for _ in range(3):
            tls_peers.reset_before_hello(port, tmp_path / "ca.pem")
            [*_, line] = server.expect(lambda line: "handshake failed: " in line)
            reason = line.split(": handshake failed: ")[1]
            assert reason in (
                "[Errno 104] Connection reset by peer",  # Linux
                "the peer closed the transport mid-handshake",  # a stack that turns RST into EOF
            )
            assert line.startswith(("127.0.0.1:", "unknown peer:"))
        assert tls_peers.echo(port, tmp_path / "ca.pem", b"still here") == b"still here"
    finally:
        status, err = server.stop()
    assert status == 0, err


def _piped(argv: list[str], lines: int) -> tuple[int, str]:
    """Run ``sspi-async ARGV`` with stdout to a pipe; read ``lines`` lines, close the read end
    (as `| head -N` does) and return the exit status and stderr."""
    process = subprocess.Popen(
        [sys.executable, "-m", "sspi_async", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        for _ in range(lines):
            assert process.stdout.readline()
        process.stdout.close()
        _, err = process.communicate(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return process.returncode, err


@pytest.mark.parametrize(
    "argv",
    [["demo"], ["demo", "--json"], ["demo", "--package", "simtls"], ["packages"]],
    ids=" ".join,
)
def test_e11_closed_output_pipe_exits_quietly_with_141(argv: list[str]) -> None:
    """E11: when the reader of stdout has gone away (`sspi-async demo | true`; the read end is
    closed before the command's first line, so its first write fails whatever the timing), the
    command exits with 141 (128 + SIGPIPE, what a shell reports for a Unix tool) and no
    traceback."""
    status, err = _piped(argv, 0)
    assert "Traceback" not in err, err
    assert "BrokenPipeError" not in err, err
    assert err == ""
    assert status == 141


def test_e11_demo_piped_into_head_prints_no_traceback() -> None:
    """E11: `sspi-async demo | head -3`: the first lines arrive, and whether the rest was still
    to be written when the pipe closed (141) or not (0), stderr stays empty."""
    status, err = _piped(["demo"], 3)
    assert err == ""
    assert status in (0, 141)


def test_e11_serve_exits_quietly_when_its_output_pipe_closes(tmp_path: Path) -> None:
    """E11: `sspi-async serve | head -2` stops with 141 and no traceback at its next line of
    output (here: the next client), not with a BrokenPipeError from a connection task."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "sspi_async", "serve", "--ca-out", str(tmp_path / "ca.pem")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        process.stdout.readline()
        port = int(process.stdout.readline().rsplit(":", 1)[1])
        process.stdout.close()
        tls_peers.reset_before_hello(port, tmp_path / "ca.pem")  # makes the server print a line
        _, err = process.communicate(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.communicate()
    assert "Traceback" not in err, err
    assert err == ""
    assert process.returncode == 141
