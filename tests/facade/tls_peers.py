"""Real TCP peers for the E5 tests: blocking Python ``socket``/``ssl`` clients on 127.0.0.1.

Each one plays one way a client can misbehave towards a TLS server (SPEC E5) and returns the
``host:port`` it connected from, the peer address the server should report. Every socket has a
timeout (:data:`TIMEOUT`), so a peer never blocks a test for longer than that. The in-process
listener tests run them in a worker thread (``anyio.to_thread.run_sync``); the subprocess tests
(``sspi-async serve``, ``examples/tls_echo_server.py``) call them directly.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import struct
from collections.abc import Callable
from pathlib import Path

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
