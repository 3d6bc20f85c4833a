"""A TLS echo server whose handshakes and records go through the emulated async SSPI calls.

Each accepted TCP connection on 127.0.0.1 is wrapped in ``SspiTLSStream.wrap_server``: the
handshake is a loop of ``SspiAcceptSecurityContextAsync`` calls (Schannel package, real TLS 1.3 or
1.2 through OpenSSL), then every record is decrypted with ``DecryptMessage`` and echoed back with
``EncryptMessage``. The certificate is made at start-up by a throw-away CA whose certificate is
written to a file, so any TLS client can check it:

    python examples/tls_echo_server.py --port 8443
    openssl s_client -connect 127.0.0.1:8443 -CAfile <printed path> -servername localhost
    python examples/tls_client.py 127.0.0.1:8443 --cafile <printed path>

``--once`` serves a single connection and exits (the tests use it).
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
from pathlib import Path

import anyio
import anyio.abc
from anyio.streams.tls import TLSAttribute

from sspi_async import Emulator, SspiTLSAttribute, SspiTLSStream, acquire_credentials
from sspi_async.testing import CertificateAuthority


async def echo(tcp: anyio.abc.SocketStream, credentials: object) -> int:
    """Handshake as the server, echo until the client closes; return the bytes echoed."""
    stream = await SspiTLSStream.wrap_server(tcp, credentials)  # type: ignore[arg-type]
    print(
        f"client connected: {stream.extra(TLSAttribute.tls_version)} "
        f"{stream.extra(SspiTLSAttribute.cipher_suite)}",
        flush=True,
    )
    total = 0
    async with stream:
        try:
            while True:
                data = await stream.receive()
                total += len(data)
                await stream.send(data)
        except anyio.EndOfStream:  # the client's close_notify
            pass
    print(f"client closed after {total} bytes", flush=True)
    return total


async def main(port: int, once: bool) -> None:
    ca = CertificateAuthority()
    server_cred = ca.issue("localhost").schannel_cred()
    # The CA file is for clients while the server runs; the folder goes when it stops.
    with tempfile.TemporaryDirectory(prefix="sspi-echo-") as folder:
        ca_path = Path(folder) / "ca.pem"
        ca_path.write_bytes(ca.cert_pem)
        async with Emulator():
            credentials = await acquire_credentials("Schannel", "inbound", server_cred)
            listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=port)
            bound = listener.extra(anyio.abc.SocketAttribute.local_port)
            print(f"listening on 127.0.0.1:{bound}", flush=True)
            print(f"CA certificate: {ca_path}", flush=True)
            async with listener, anyio.create_task_group() as group:

                async def handle(tcp: anyio.abc.SocketStream) -> None:
                    await echo(tcp, credentials)
                    if once:
                        group.cancel_scope.cancel()

                await listener.serve(handle, group)
            await credentials.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="TCP port (default: any free one)")
    parser.add_argument("--once", action="store_true", help="exit after one connection")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C stops the server quietly
        anyio.run(main, args.port, args.once)
