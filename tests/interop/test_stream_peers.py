"""``SspiTLSStream`` against real peers (SPEC §6, T8, T12, T14, M2, I1).

The stream runs the handshake through the queued async SSPI calls over a TCP connection on
127.0.0.1, then carries data with Encrypt/DecryptMessage. Peers: ``openssl s_client`` and
``openssl s_server`` (subprocesses that exit by themselves), and anyio's own ``TLSStream`` (the
standard library's :mod:`ssl`) in the same event loop.
"""

from __future__ import annotations

import hashlib
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import cast

import anyio
import pytest
from anyio.abc import SocketAttribute, SocketListener
from anyio.streams.tls import TLSAttribute, TLSStream

from sspi_async import (
    Emulator,
    SchannelCred,
    SspiError,
    SspiTLSAttribute,
    SspiTLSStream,
    acquire_credentials,
    current_token,
)
from sspi_async.sspi import ASC_REQ_MUTUAL_AUTH, SEC_E_NO_IMPERSONATION
from tests.interop.conftest import LIMIT, OpensslServer, Pki, Spawn
from tests.interop.endpoint import ASC_FLAGS

pytestmark = pytest.mark.interop

VERSIONS = {"tls1.2": ("-tls1_2", "TLSv1.2"), "tls1.3": ("-tls1_3", "TLSv1.3")}
PAYLOAD = b"over SspiTLSStream, line one\nand line two\n"


@asynccontextmanager
async def listening() -> AsyncIterator[tuple[SocketListener, int]]:
    """A TCP listener on 127.0.0.1 with an ephemeral port: (listener, port)."""
    multi = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    async with multi:
        listener = cast(SocketListener, multi.listeners[0])
        yield listener, listener.extra(SocketAttribute.local_port)


async def echo(stream: SspiTLSStream | TLSStream, size: int) -> bytes:
    """Echo what arrives until ``size`` bytes came in; return them."""
    received = b""
    while len(received) < size:
        chunk = await stream.receive()
        received += chunk
        await stream.send(chunk)
    return received


@pytest.mark.parametrize("certificate", [True, False], ids=["client-cert", "no-client-cert"])
@pytest.mark.parametrize("version", VERSIONS)
async def test_stream_server_echoes_s_client(
    openssl: str, start: Spawn, pki: Pki, version: str, certificate: bool
) -> None:
    """§6/T14/I1: SspiTLSStream server vs s_client, with and without a client certificate."""
    cred = pki.server.schannel_cred(
        trusted_roots=pki.ca.cert_pem, client_certificate_mapping="common_name", alpn=("h2",)
    )
    flag, name = VERSIONS[version]
    argv = [
        openssl, "s_client", "-connect", "127.0.0.1:0", "-servername", "localhost",
        "-CAfile", str(pki.ca_file), "-verify_return_error", "-verify_hostname", "localhost",
        "-ign_eof", flag, "-alpn", "http/1.1,h2",
    ]  # fmt: skip
    if certificate:
        argv += ["-cert", str(pki.client_cert), "-key", str(pki.client_key)]
    with anyio.fail_after(LIMIT):
        async with Emulator(), listening() as (listener, port):
            argv[3] = f"127.0.0.1:{port}"
            async with start(argv) as peer:
                await peer.write(PAYLOAD)
                await peer.close_stdin()
                credentials = await acquire_credentials("Schannel", "inbound", cred)
                tls = await SspiTLSStream.wrap_server(
                    await listener.accept(), credentials, flags=ASC_FLAGS | ASC_REQ_MUTUAL_AUTH
                )
                try:
                    echoed = await echo(tls, len(PAYLOAD))
                    context = tls.extra(SspiTLSAttribute.security_context)
                    if certificate:
                        with context.impersonate() as token:
                            assert current_token() == token
                    else:
                        with pytest.raises(SspiError) as refused, context.impersonate():
                            pass  # I1: no client certificate, so nobody to impersonate
                finally:
                    await tls.aclose()
                    await credentials.aclose()
                code = await peer.wait()
    assert code == 0, peer.text
    assert echoed == PAYLOAD
    assert PAYLOAD in peer.output
    assert "ALPN protocol: h2" in peer.text
    assert tls.extra(TLSAttribute.server_side) is True
    assert tls.extra(TLSAttribute.tls_version) == name
    assert tls.extra(TLSAttribute.alpn_protocol) == "h2"
    if certificate:
        assert tls.extra(TLSAttribute.peer_certificate_binary) == pki.client.der
        assert tls.extra(SspiTLSAttribute.peer_name) == "CN=alice"
        assert token.user == "alice"
    else:
        assert tls.extra(TLSAttribute.peer_certificate_binary) is None
        assert tls.extra(SspiTLSAttribute.peer_name) is None
        assert refused.value.status == SEC_E_NO_IMPERSONATION


@pytest.mark.parametrize("version", VERSIONS)
async def test_stream_client_with_s_server(
    openssl_server: OpensslServer, pki: Pki, version: str
) -> None:
    """§6/M2/T12: SspiTLSStream client vs s_server -rev: tickets, extra(), EndOfStream."""
    flag, name = VERSIONS[version]
    args = ("-cert", str(pki.server_cert), "-key", str(pki.server_key), flag, "-rev")
    with anyio.fail_after(LIMIT):
        async with Emulator(), openssl_server(*args, "-alpn", "h2,http/1.1") as (peer, port):
            credentials = await acquire_credentials(
                "Schannel", "outbound", SchannelCred(trusted_roots=pki.ca.cert_pem)
            )
            tls = await SspiTLSStream.wrap_client(
                await anyio.connect_tcp("127.0.0.1", port),
                credentials,
                "localhost",
                alpn=["http/1.1"],
            )
            try:
                await tls.send(b"stream to s_server\n")
                reply = b""
                while not reply.endswith(b"\n"):
                    reply += await tls.receive()
                await tls.send(b"CLOSE\n")
                with pytest.raises(anyio.EndOfStream):
                    await tls.receive()
            finally:
                await tls.aclose()
                await credentials.aclose()
            assert await peer.wait() == 0, peer.text
    assert reply == b"revres_s ot maerts\n"
    assert tls.extra(TLSAttribute.server_side) is False
    assert tls.extra(TLSAttribute.tls_version) == name
    assert tls.extra(TLSAttribute.alpn_protocol) == "http/1.1"
    assert tls.extra(TLSAttribute.peer_certificate_binary) == pki.server.der
    binding = tls.extra(SspiTLSAttribute.channel_binding_tls_server_end_point)
    assert binding == hashlib.sha256(pki.server.der).digest()


@pytest.mark.parametrize("version", VERSIONS)
async def test_stream_server_with_python_ssl_client(pki: Pki, version: str) -> None:
    """§6/T14: anyio TLSStream (ssl) client with a certificate vs SspiTLSStream server."""
    client_context = ssl.create_default_context(cafile=str(pki.ca_file))
    client_context.minimum_version = client_context.maximum_version = getattr(
        ssl.TLSVersion, VERSIONS[version][1].replace(".", "_")
    )
    client_context.load_cert_chain(str(pki.client_cert), str(pki.client_key))
    client_context.set_alpn_protocols(["h2"])
    cred = pki.server.schannel_cred(
        trusted_roots=pki.ca.cert_pem, client_certificate_mapping="upn", alpn=("h2",)
    )
    with anyio.fail_after(LIMIT):
        async with Emulator(), listening() as (listener, port):
            credentials = await acquire_credentials("Schannel", "inbound", cred)
            results: dict[str, object] = {}

            async def serve() -> None:
                tls = await SspiTLSStream.wrap_server(
                    await listener.accept(), credentials, flags=ASC_FLAGS | ASC_REQ_MUTUAL_AUTH
                )
                try:
                    results["echoed"] = await echo(tls, len(PAYLOAD))
                    with pytest.raises(anyio.EndOfStream):
                        await tls.receive()  # the client's close_notify
                    results["peer"] = tls.extra(SspiTLSAttribute.peer_name)
                    with tls.extra(SspiTLSAttribute.security_context).impersonate() as token:
                        results["user"] = token.user
                finally:
                    await tls.aclose()

            async with anyio.create_task_group() as tg:
                tg.start_soon(serve)
                client = await TLSStream.wrap(
                    await anyio.connect_tcp("127.0.0.1", port),
                    hostname="localhost",
                    ssl_context=client_context,
                )
                try:
                    await client.send(PAYLOAD)
                    reply = b""
                    while len(reply) < len(PAYLOAD):
                        reply += await client.receive()
                    version_seen = client.extra(TLSAttribute.tls_version)
                    alpn = client.extra(TLSAttribute.alpn_protocol)
                finally:
                    await client.aclose()
            await credentials.aclose()
    assert reply == PAYLOAD == results["echoed"]
    assert version_seen == VERSIONS[version][1]
    assert alpn == "h2"
    assert results["peer"] == "CN=alice"
    assert results["user"] == "alice@example.com"  # the UPN mapping


@pytest.mark.parametrize(
    "letter",
    [
        pytest.param(b"k", id="update-not-requested"),
        pytest.param(b"K", id="update-requested"),
    ],
)
async def test_stream_server_key_update_from_s_client(
    openssl: str, start: Spawn, pki: Pki, letter: bytes
) -> None:
    """§6/M2: SspiTLSStream absorbs a KeyUpdate from s_client in receive() and echoes on new keys."""
    argv = [
        openssl, "s_client", "-connect", "127.0.0.1:0", "-servername", "localhost",
        "-CAfile", str(pki.ca_file), "-verify_return_error", "-tls1_3",
    ]  # fmt: skip
    # No -ign_eof: s_client takes its k/K commands only without it.
    with anyio.fail_after(LIMIT):
        async with Emulator(), listening() as (listener, port):
            argv[3] = f"127.0.0.1:{port}"
            credentials = await acquire_credentials(
                "Schannel", "inbound", pki.server.schannel_cred()
            )
            async with start(argv) as peer:
                tls = await SspiTLSStream.wrap_server(await listener.accept(), credentials)
                try:
                    await peer.write(b"before the key update\n")
                    await echo(tls, len(b"before the key update\n"))
                    await peer.write(letter + b"\n")
                    await peer.expect(b"KEYUPDATE")  # s_client took the command
                    await peer.write(b"s_client under new keys\n")  # KeyUpdate, then this
                    await echo(tls, len(b"s_client under new keys\n"))
                    await peer.expect(b"s_client under new keys\n")
                    await peer.close_stdin()  # s_client sends close_notify and exits
                    with pytest.raises(anyio.EndOfStream):
                        await tls.receive()
                finally:
                    await tls.aclose()
                    await credentials.aclose()
                assert await peer.wait() == 0, peer.text
