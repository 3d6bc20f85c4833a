"""Real TCP peers for the E5 tests: blocking Python ``socket``/``ssl`` clients on 127.0.0.1.

Each one plays one way a client can misbehave towards a TLS server (SPEC E5) and returns the
``host:port`` it connected from, the peer address the server should report. Every socket has a
timeout (:data:`TIMEOUT`), so a peer never blocks a test for longer than that. The in-process
listener tests run them in a worker thread (``anyio.to_thread.run_sync``); the subprocess tests
(``sspi-async serve``, ``examples/tls_echo_server.py``) call them directly.
"""

from __future__ import annotations

import contextlib
import queue
import signal
import socket
import ssl
import struct
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

TIMEOUT = 15.0  # seconds: the bound on every blocking socket operation
HOST = "127.0.0.1"
SERVER_NAME = "localhost"

#: ``E5 case name -> peer(port, cafile)``: the misbehaving clients, each ending its connection.
Peer = Callable[[int, Path], str]


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection((HOST, port), timeout=TIMEOUT)
    sock.settimeout(TIMEOUT)
    return sock


def _address(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"{host}:{port}"


def _reset(sock: socket.socket) -> None:
    """Close with SO_LINGER on and a zero linger time: the kernel sends RST, not FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def _read_until_closed(sock: socket.socket) -> None:
    """Read until the server closes the connection (EOF, reset, or a TLS alert)."""
    with contextlib.suppress(ConnectionResetError, ssl.SSLError):
        while sock.recv(65536):
            pass


def reset_before_hello(port: int, cafile: Path) -> str:
    """Connect and reset at once, before sending anything."""
    sock = _connect(port)
    address = _address(sock)
    _reset(sock)
    return address


def reset_after_hello(port: int, cafile: Path) -> str:
    """Send a real ClientHello (Python ``ssl`` over a MemoryBIO), wait for the server's first
    flight (so the server is mid-handshake), then reset."""
    context = ssl.create_default_context(cafile=str(cafile))
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname=SERVER_NAME)
    with contextlib.suppress(ssl.SSLWantReadError):
        tls.do_handshake()
    sock = _connect(port)
    address = _address(sock)
    sock.sendall(outgoing.read())
    assert sock.recv(65536), "the server answered the ClientHello"
    _reset(sock)
    return address


def eof_after_handshake(port: int, cafile: Path) -> str:
    """Complete the handshake, get one echo, then close the TCP connection without close_notify
    (a Python ``ssl`` client that never calls ``unwrap()``)."""
    context = ssl.create_default_context(cafile=str(cafile))
    sock = context.wrap_socket(_connect(port), server_hostname=SERVER_NAME)
    address = _address(sock)
    sock.sendall(b"ping")
    assert sock.recv(4) == b"ping"
    sock.close()  # SSLSocket.close() sends no close_notify
    return address


def untrusting_client(port: int, cafile: Path) -> str:
    """A client that does not trust the server's CA: its handshake fails with an alert."""
    context = ssl.create_default_context(cadata=_other_ca())
    raw = _connect(port)
    address = _address(raw)
    try:
        context.wrap_socket(raw, server_hostname=SERVER_NAME).close()
    except ssl.SSLCertVerificationError:
        pass
    else:  # pragma: no cover - the peer's whole point
        raise AssertionError("the untrusting client accepted the server's certificate")
    finally:
        raw.close()
    return address


def garbage(port: int, cafile: Path) -> str:
    """Send bytes that are not TLS (an HTTP request), then read until the server hangs up."""
    sock = _connect(port)
    address = _address(sock)
    sock.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
    _read_until_closed(sock)
    sock.close()
    return address


def idle(port: int, cafile: Path) -> str:
    """Connect and send nothing; return once the server drops the connection (its handshake
    timeout must be shorter than :data:`TIMEOUT`)."""
    sock = _connect(port)
    address = _address(sock)
    _read_until_closed(sock)
    sock.close()
    return address


def echo(port: int, cafile: Path, message: bytes = b"hello after E5\n") -> bytes:
    """A well-behaved client: handshake, send ``message``, read its echo, close_notify."""
    context = ssl.create_default_context(cafile=str(cafile))
    with context.wrap_socket(_connect(port), server_hostname=SERVER_NAME) as sock:
        sock.sendall(message)
        received = b""
        while len(received) < len(message):
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
        with contextlib.suppress(OSError, ssl.SSLError):
            sock.unwrap()
    return received


def send_and_read_until_closed(port: int, cafile: Path) -> str:
    """Handshake, send one message, then read until the server closes the connection."""
    context = ssl.create_default_context(cafile=str(cafile))
    with context.wrap_socket(_connect(port), server_hostname=SERVER_NAME) as sock:
        sock.sendall(b"boom")
        _read_until_closed(sock)
        return _address(sock)


_OTHER_CA: list[str] = []


def _other_ca() -> str:
    """A CA certificate (PEM) that did not issue the server's certificate (made once)."""
    if not _OTHER_CA:
        from sspi_async.testing import CertificateAuthority

        _OTHER_CA.append(CertificateAuthority().cert_pem.decode())
    return _OTHER_CA[0]


#: Every E5 case, by name; the idle one needs a short handshake timeout on the server.
PEERS: dict[str, Peer] = {
    "reset_before_hello": reset_before_hello,
    "reset_after_hello": reset_after_hello,
    "eof_after_handshake": eof_after_handshake,
    "untrusting_client": untrusting_client,
    "garbage": garbage,
    "idle": idle,
}


class ServerProcess:
    """A TLS echo server running as a subprocess (``sspi-async serve``, the example), its stdout
    read line by line in a thread so that every wait is bounded (:meth:`expect`)."""

    def __init__(self, argv: list[str], **popen: Any) -> None:
        self.process = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        self.transcript: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def expect(self, wanted: Callable[[str], bool], timeout: float = TIMEOUT) -> list[str]:
        """The stdout lines up to and including the first one ``wanted`` accepts."""
        seen: list[str] = []
        while True:
            try:
                line = self._lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"no such line within {timeout} s; got {seen}") from None
            if line is None:
                raise AssertionError(f"the server exited ({self.process.wait()}); got {seen}")
            seen.append(line)
            self.transcript.append(line)
            if wanted(line):
                return seen

    def stop(self) -> tuple[int, str]:
        """SIGTERM (if still running); return the exit status and stderr."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            _, err = self.process.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, err = self.process.communicate()
        return self.process.returncode, err


def check_bad_clients(
    server: ServerProcess, port: int, cafile: Path, reason: Callable[[str], str | None]
) -> None:
    """Run every E5 peer against a running server, each followed by a good client: each bad
    peer must produce exactly one failure line (``reason(line)`` is not None for it, and is its
    reason, non-empty) and the good client its echo, the server still up. The server's
    handshake timeout must be shorter than :data:`TIMEOUT` (the idle peer)."""

    def is_failure(line: str) -> bool:
        return reason(line) is not None

    for case, peer in PEERS.items():
        peer(port, cafile)
        lines = server.expect(is_failure)
        assert echo(port, cafile, case.encode()) == case.encode(), case
        closed = f" {len(case)} bytes"  # "closed after [echoing] N bytes"
        lines += server.expect(
            lambda line, end=closed: "closed after" in line and line.endswith(end)
        )
        failed = [line for line in lines if is_failure(line)]
        assert len(failed) == 1, (case, lines)
        assert (reason(failed[0]) or "").strip(), (case, failed)
        assert server.process.poll() is None, (case, lines)
