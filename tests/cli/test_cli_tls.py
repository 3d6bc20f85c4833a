"""`sspi-async serve` and `sspi-async connect` (SPEC §10): TLS over TCP through the emulator."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from sspi_async import SspiError
from sspi_async._cli import main
from sspi_async._cli._tls import ConnectOptions, ServeOptions, connect, serve
from sspi_async._status import status_name


async def _serve_once(
    tmp_path: Path, lines: list[str], failed: asyncio.Event | None = None, **options: object
) -> tuple[asyncio.Task[None], int]:
    """Start `serve` for one connection; return its task and port once it listens."""
    listening = asyncio.get_running_loop().create_future()

    def emit(line: str) -> None:
        lines.append(line)
        if "handshake failed" in line and failed is not None:
            failed.set()
        if line.startswith("serving TLS echo on ") and not listening.done():
            listening.set_result(int(line.rsplit(":", 1)[1]))

    task = asyncio.create_task(
        serve(ServeOptions(ca_out=tmp_path / "ca.pem", connections=1, **options), emit)  # type: ignore[arg-type]
    )
    port = await asyncio.wait_for(listening, 30)
    return task, port


async def test_serve_and_connect_echo(tmp_path: Path) -> None:
    """`serve` issues an ephemeral certificate and echoes; `connect` validates it and prints the
    negotiated TLS 1.3 suite, ALPN and the reply."""
    served: list[str] = []
    task, port = await _serve_once(tmp_path, served, alpn=("h2",))
    said: list[str] = []
    reply = await connect(
        ConnectOptions(
            "127.0.0.1",
            port,
            cafile=tmp_path / "ca.pem",
            servername="localhost",
            alpn=("h2",),
            message=b"ping\n",
        ),
        said.append,
    )
    await asyncio.wait_for(task, 30)
    assert reply == b"ping\n"
    assert said[0] == (
        f"connected to 127.0.0.1:{port}, TLSv1.3 TLS_AES_256_GCM_SHA384, ALPN h2, peer CN=localhost"
    )
    assert served[0].startswith("ephemeral certificate for localhost, 127.0.0.1; CA certificate")
    assert any("connected, TLSv1.3" in line for line in served)
    assert served[-1].endswith("closed after echoing 5 bytes")


async def test_connect_rejects_untrusted_server(tmp_path: Path) -> None:
    """`connect` without the server's CA fails the handshake with SEC_E_UNTRUSTED_ROOT (T10) and
    the server reports the failed handshake and keeps running."""
    served: list[str] = []
    failed = asyncio.Event()
    task, port = await _serve_once(tmp_path, served, failed, tls=("tls1.2",))
    from sspi_async import SspiError
    from sspi_async.testing import CertificateAuthority

    other_ca = tmp_path / "other.pem"
    other_ca.write_bytes(CertificateAuthority().cert_pem)
    with pytest.raises(SspiError, match="SEC_E_UNTRUSTED_ROOT"):
        await connect(
            ConnectOptions("127.0.0.1", port, cafile=other_ca, servername="localhost"), [].append
        )
    await asyncio.wait_for(failed.wait(), 30)  # the server saw the client's alert
    assert not task.done()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert any("handshake failed" in line for line in served)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["connect", "nowhere"], "argument HOST:PORT: must be HOST:PORT, not 'nowhere'"),
        (["connect", "host:99999"], "must be HOST:PORT"),
        (["serve", "--port", "70000"], "argument --port: must be a port number"),
        (["serve", "--key", "k.pem"], "--key needs --cert"),
        (["serve", "--tls", "1.1"], "argument --tls: must be 1.2, 1.3 or both"),
        (["serve", "--handshake-timeout", "0"], "argument --handshake-timeout: must be a number"),
    ],
)
def test_serve_connect_user_mistakes(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bad `serve`/`connect` arguments print one error line and exit 2."""
    assert main(argv) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1
    assert message in err[0]


def test_connect_refused_is_one_line_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    """`connect` to a closed port prints one `failed:` line and exits 1."""
    import socket

    with socket.socket() as sock:  # a port nobody listens on: bound, never listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        code = main(["connect", f"127.0.0.1:{port}", "--timeout", "5"])
    err = capsys.readouterr().err.splitlines()
    assert code == 1
    assert len(err) == 1
    assert err[0].startswith(f"sspi-async: failed: cannot connect to 127.0.0.1:{port}")


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--cert", "{missing}"], "cannot read --cert {missing}: No such file or directory"),
        (
            ["--cert", "{existing}", "--key", "{missing}"],
            "cannot read --key {missing}: No such file or directory",
        ),
        (["--ca-out", "{missing}/ca.pem"], "cannot write --ca-out {missing}/ca.pem: "),
        (["--port", "{busy}"], "cannot listen on 127.0.0.1:{busy}: "),
    ],
)
def test_serve_user_mistakes_are_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, flags: list[str], message: str
) -> None:
    """SPEC §10: an unreadable certificate or key, an unwritable --ca-out or a port in use is one
    clear error line and exit code 2, never a traceback."""
    existing = tmp_path / "cert.pem"
    existing.write_text("not a certificate")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        values = {
            "missing": str(tmp_path / "missing"),
            "existing": str(existing),
            "busy": str(busy.getsockname()[1]),
        }
        argv = ["serve", "--once", *(flag.format(**values) for flag in flags)]
        code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2
    lines = err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("sspi-async: error: " + message.format(**values))
    assert "Traceback" not in out + err


async def test_serve_removes_its_temporary_ca_file_when_it_stops(tmp_path: Path) -> None:
    """Without --ca-out the CA certificate goes to a temporary folder, removed when the server
    stops; meanwhile a client that trusts it connects."""
    lines: list[str] = []
    listening = asyncio.get_running_loop().create_future()

    def emit(line: str) -> None:
        lines.append(line)
        if line.startswith("serving TLS echo on ") and not listening.done():
            listening.set_result(int(line.rsplit(":", 1)[1]))

    task = asyncio.create_task(serve(ServeOptions(connections=1), emit))
    port = await asyncio.wait_for(listening, 30)
    ca_path = Path(lines[0].split("written to ")[1].split(" (removed")[0])
    assert lines[0].endswith("(removed when the server stops)")
    assert await anyio.Path(ca_path).exists()
    await connect(ConnectOptions("127.0.0.1", port, cafile=ca_path, message=b"x"), lambda _: None)
    await asyncio.wait_for(task, 30)
    assert not await anyio.Path(ca_path.parent).exists()


async def test_connect_explains_an_untrusted_or_misnamed_server_certificate(
    tmp_path: Path,
) -> None:
    """SEC_E_UNTRUSTED_ROOT and SEC_E_WRONG_PRINCIPAL come with what to pass (--cafile,
    --insecure, --servername); the error class and status are unchanged."""
    for options, status, hint in (
        ({}, "SEC_E_UNTRUSTED_ROOT", "--cafile FILE"),
        (
            {"cafile": tmp_path / "ca.pem", "servername": "other.example"},
            "SEC_E_WRONG_PRINCIPAL",
            "--servername NAME",
        ),
    ):
        lines: list[str] = []
        task, port = await _serve_once(tmp_path, lines)
        with pytest.raises(SspiError) as info:
            await connect(ConnectOptions("127.0.0.1", port, **options), lambda _: None)  # type: ignore[arg-type]
        assert status_name(info.value.status) == status
        assert hint in str(info.value)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def test_serve_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    """SIGTERM stops `sspi-async serve` cleanly (exit 0, its temporary CA folder removed), not
    with a traceback."""
    process = subprocess.Popen(
        [sys.executable, "-m", "sspi_async", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        ca_path = Path(first.split("written to ")[1].split(" (removed")[0])
        assert process.stdout.readline().startswith("serving TLS echo on ")
        assert ca_path.exists()
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "terminated (SIGTERM)" in out
    assert "Traceback" not in err
    assert not ca_path.parent.exists()
