"""The standard library's OpenSSL as an interop peer (peers nobody here wrote).

* :class:`PythonTLSServer` — a blocking :mod:`ssl` server for one connection in a worker thread;
  it records what it saw (the client certificate, the protocol, the handshake error) for
  assertions.
* :class:`MemoryBioPeer` — :mod:`ssl` over memory BIOs, stepped by the test, so the bytes it
  produces go out grouped exactly as the test wants.
"""

from __future__ import annotations

import socket
import ssl

__all__ = ("MemoryBioPeer", "PythonTLSServer")


class MemoryBioPeer:
    """The standard library's OpenSSL over memory BIOs, stepped by the test, so the bytes it
    produces go out grouped exactly as the test wants (e.g. a Finished and the first application
    record in one transport write)."""

    def __init__(
        self, context: ssl.SSLContext, *, server_side: bool, server_hostname: str | None = None
    ) -> None:
        self._in = ssl.MemoryBIO()
        self._out = ssl.MemoryBIO()
        self.ssl = context.wrap_bio(
            self._in, self._out, server_side=server_side, server_hostname=server_hostname
        )

    def feed(self, data: bytes) -> None:
        """Bytes from the other side."""
        self._in.write(data)

    def handshake(self) -> bool:
        """One ``do_handshake``: True once it completed."""
        try:
            self.ssl.do_handshake()
        except ssl.SSLWantReadError:
            return False
        return True

    def write(self, data: bytes) -> None:
        """Application data (its record waits in the outgoing BIO)."""
        self.ssl.write(data)

    def read(self) -> bytes:
        """Whatever application data the fed bytes hold (b"" when none yet)."""
        try:
            return self.ssl.read(65536)
        except ssl.SSLWantReadError:
            return b""

    def take(self) -> bytes:
        """Everything written so far, to send in one transport write."""
        return self._out.read()


class PythonTLSServer:
    """A blocking :mod:`ssl` server for exactly one connection, run in a worker thread.

    It listens on 127.0.0.1:0 from construction (so ``port`` is known at once), then
    :meth:`serve_one` accepts a connection, handshakes, reads one line, answers it upper-cased,
    and reads until the client's close_notify (or EOF). Every socket operation has a timeout, and
    nothing is raised from the thread: the outcome is recorded for the test to assert.

    Attributes:
        error: the exception that ended the connection (``ssl.SSLError`` for a handshake
            failure), or ``None``.
        peer_certificate: the client certificate (DER), or ``None``.
        version / alpn / tls_unique: what OpenSSL negotiated (``tls_unique``: the RFC 5929
            channel binding, meaningful in TLS 1.2).
        received: the line read; ``closed_cleanly``: the client's close_notify arrived.
    """

    def __init__(self, context: ssl.SSLContext, *, timeout: float = 5.0) -> None:
        self.context = context
        self.timeout = timeout
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(timeout)
        self.port: int = self._listener.getsockname()[1]
        self.error: BaseException | None = None
        self.peer_certificate: bytes | None = None
        self.version: str | None = None
        self.alpn: str | None = None
        self.tls_unique = b""
        self.received = b""
        self.closed_cleanly = False

    def serve_one(self) -> None:
        """Serve one connection (blocking; run it with ``anyio.to_thread.run_sync``)."""
        try:
            with self._listener:
                raw, _ = self._listener.accept()
            raw.settimeout(self.timeout)
            with (
                raw,
                self.context.wrap_socket(raw, server_side=True, suppress_ragged_eofs=False) as conn,
            ):
                self.peer_certificate = conn.getpeercert(binary_form=True)
                self.version = conn.version()
                self.alpn = conn.selected_alpn_protocol()
                self.tls_unique = conn.get_channel_binding("tls-unique") or b""
                while not self.received.endswith(b"\n"):
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    self.received += chunk
                conn.sendall(self.received.upper())
                self.closed_cleanly = conn.recv(4096) == b""
        except Exception as exc:  # recorded for the test; a thread must not raise
            self.error = exc

    def close(self) -> None:
        """Stop listening (when :meth:`serve_one` never ran)."""
        self._listener.close()
