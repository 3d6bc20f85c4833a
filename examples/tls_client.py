"""A TLS client whose handshake and records go through the emulated async SSPI calls.

``SspiTLSStream.wrap_client`` runs ``SspiInitializeSecurityContextAsync`` calls (Schannel package)
over a TCP connection, validating the server certificate against ``--cafile`` and the name
``localhost`` (T10); then one line is sent with ``EncryptMessage`` and the echo read back with
``DecryptMessage``. TLS 1.3 session tickets that arrive first are handled inside the stream
(``SEC_I_RENEGOTIATE`` then a follow-up ISC, M2).

    python examples/tls_echo_server.py            # prints its port and CA file
    python examples/tls_client.py 127.0.0.1:PORT --cafile CA_FILE
"""

from __future__ import annotations

import argparse
from pathlib import Path

import anyio
from anyio.streams.tls import TLSAttribute

from sspi_async import Emulator, SchannelCred, SspiTLSStream, acquire_credentials


async def main(host: str, port: int, roots: bytes, message: bytes) -> None:
    with anyio.fail_after(30):
        await talk(host, port, roots, message)


async def talk(host: str, port: int, roots: bytes, message: bytes) -> None:
    """Connect, check the server against ``roots`` (PEM), send ``message`` and read its echo."""
    async with Emulator():
        cred = SchannelCred(trusted_roots=roots, alpn=("http/1.1",))
        async with await acquire_credentials("Schannel", "outbound", cred) as credentials:
            tcp = await anyio.connect_tcp(host, port)
            async with await SspiTLSStream.wrap_client(tcp, credentials, "localhost") as stream:
                print(
                    f"connected: {stream.extra(TLSAttribute.tls_version)}, "
                    f"server certificate {len(stream.extra(TLSAttribute.peer_certificate_binary) or b'')} bytes"
                )
                await stream.send(message)
                echoed = b""
                while len(echoed) < len(message):
                    echoed += await stream.receive()
                print(f"sent {message!r}, received {echoed!r}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("address", help="HOST:PORT of the server")
    parser.add_argument("--cafile", type=Path, required=True, help="CA certificate (PEM)")
    parser.add_argument("--message", default="hello over SSPI\n")
    args = parser.parse_args()
    host, _, port = args.address.rpartition(":")
    anyio.run(main, host, int(port), args.cafile.read_bytes(), args.message.encode())
