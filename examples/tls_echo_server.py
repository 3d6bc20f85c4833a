"""A TLS echo server whose handshakes and records go through the emulated async SSPI calls.

``SspiTLSListener`` wraps a TCP listener on 127.0.0.1: every accepted connection runs its
handshake as a loop of ``SspiAcceptSecurityContextAsync`` calls (Schannel package, real TLS 1.3
or 1.2 through OpenSSL) in a task of its own, then the handler echoes each record, decrypted with
``DecryptMessage`` and sent back with ``EncryptMessage``. The certificate is made at start-up by
a throw-away CA whose certificate is written to a file, so any TLS client can check it:

    python examples/tls_echo_server.py --port 8443
    openssl s_client -connect 127.0.0.1:8443 -CAfile <printed path> -servername localhost
    python examples/tls_client.py 127.0.0.1:8443 --cafile <printed path>

One client never stops the server (SPEC E5): a reset, garbage, a failed handshake, a client that
leaves without close_notify (a killed ``openssl s_client``) or one that sends nothing for
``--handshake-timeout`` seconds ends its own connection, and the listener logs one
``sspi.listener.*`` event saying why. structlog is configured here to print warnings as JSON
lines, which is how an application sees them. ``--once`` serves a single connection and exits;
SIGTERM or Ctrl-C stops the server cleanly. When its output pipe closes (``... | head -2``) it
exits quietly with 141 at its next line of output, as a Unix tool does (SPEC E11).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
import tempfile
from pathlib import Path

import anyio
import anyio.abc
import structlog
from anyio.streams.tls import TLSAttribute

from sspi_async import (
    Emulator,
    SspiTLSAttribute,
    SspiTLSListener,
    SspiTLSStream,
    acquire_credentials,
)
from sspi_async.testing import CertificateAuthority


def configure_logging() -> None:
    """Warnings and errors as one JSON object a line on stdout; the rest is dropped cheaply."""
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso"),
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        logger_factory=structlog.PrintLoggerFactory(),
    )


async def echo(stream: SspiTLSStream) -> None:
    """Echo until the client's close_notify. A reset or an EOF without close_notify propagates
    to the listener, which logs it; the listener closes the stream when this returns."""
    print(
        f"client connected: {stream.extra(TLSAttribute.tls_version)} "
        f"{stream.extra(SspiTLSAttribute.cipher_suite)}",
        flush=True,
    )
    total = 0
    async for data in stream:
        total += len(data)
        await stream.send(data)
    print(f"client closed after {total} bytes", flush=True)


async def stop_on_sigterm(scope: anyio.CancelScope) -> None:
    with anyio.open_signal_receiver(signal.SIGTERM) as signals:
        async for _ in signals:
            print("terminated (SIGTERM)", flush=True)
            scope.cancel()
            return


async def main(port: int, once: bool, handshake_timeout: float) -> None:
    ca = CertificateAuthority()
    server_cred = ca.issue("localhost").schannel_cred()
    # The CA file is for clients while the server runs; the folder goes when it stops.
    with tempfile.TemporaryDirectory(prefix="sspi-echo-") as folder:
        ca_path = Path(folder) / "ca.pem"
        ca_path.write_bytes(ca.cert_pem)
        async with (
            Emulator(),
            await acquire_credentials("Schannel", "inbound", server_cred) as credentials,
        ):
            tcp = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=port)
            listener = SspiTLSListener(tcp, credentials, handshake_timeout=handshake_timeout)
            async with listener, anyio.create_task_group() as group:
                bound = listener.extra(anyio.abc.SocketAttribute.local_port)
                print(f"listening on 127.0.0.1:{bound}", flush=True)
                print(f"CA certificate: {ca_path}", flush=True)
                group.start_soon(stop_on_sigterm, group.cancel_scope)

                async def handle(stream: SspiTLSStream) -> None:
                    try:
                        await echo(stream)
                    finally:
                        if once:
                            group.cancel_scope.cancel()

                await listener.serve(handle, group)


def is_broken_pipe(exc: BaseException) -> bool:
    """Our stdout went away: a BrokenPipeError, or a task group's exception group holding one
    (a peer's reset is anyio's BrokenResourceError, never this)."""
    if isinstance(exc, BrokenPipeError):
        return True
    return any(is_broken_pipe(inner) for inner in getattr(exc, "exceptions", ()))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="TCP port (default: any free one)")
    parser.add_argument("--once", action="store_true", help="exit after one connection")
    parser.add_argument(
        "--handshake-timeout",
        type=float,
        default=60.0,
        metavar="S",
        help="drop a client whose handshake is not done within S seconds (default 60)",
    )
    args = parser.parse_args()
    configure_logging()
    try:
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C stops the server quietly
            anyio.run(main, args.port, args.once, args.handshake_timeout)
    except BaseException as exc:
        if not is_broken_pipe(exc):
            raise
        # E11: exit as a Unix tool killed by SIGPIPE would, with stdout pointed at /dev/null so
        # that the interpreter's last flush cannot fail again (Python docs, "Note on SIGPIPE").
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(141)
