"""``curl`` against the emulated Schannel SERVER answering HTTP/1.1 (SPEC T8, T12, M1, M2, §6).

curl verifies the chain (``--cacert``) and the name (``localhost``, pinned to 127.0.0.1 with
``--resolve``), offers ALPN http/1.1 (``--http1.1``), sends one GET and exits once the response
is complete. The server is the raw flat-facade ASC loop or ``SspiTLSStream``.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import cast

import anyio
import pytest
from anyio.abc import SocketAttribute, SocketListener
from anyio.streams.tls import TLSAttribute

from sspi_async import Emulator, SchannelCred, SspiTLSStream, acquire_credentials
from sspi_async._attributes import SecPkgContext_ApplicationProtocol
from sspi_async.packages._alerts import status_for_received_alert
from sspi_async.sspi import (
    SECPKG_ATTR_APPLICATION_PROTOCOL,
    SECPKG_CRED_INBOUND,
    TLS1_ALERT_UNKNOWN_CA,
)
from tests.interop.conftest import LIMIT, Pki, Spawn
from tests.interop.endpoint import FlatBackend, StatusError, TLSEndpoint, acquire_handle

pytestmark = pytest.mark.interop

BODY = b"hello from the emulated Schannel server\n"
RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
    b"Connection: close\r\n\r\n%s" % (len(BODY), BODY)
)


@asynccontextmanager
async def listening() -> AsyncIterator[tuple[SocketListener, int]]:
    """A TCP listener on 127.0.0.1 with an ephemeral port: (listener, port)."""
    multi = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    async with multi:
        listener = cast(SocketListener, multi.listeners[0])
        yield listener, listener.extra(SocketAttribute.local_port)


def curl_argv(curl: str, pki: Pki, port: int, *extra: str, path: str = "/hello") -> list[str]:
    """One verified HTTPS request to localhost:port (GET unless ``extra`` says otherwise),
    bounded by --max-time."""
    return [
        curl, "-sS", "--http1.1", "--max-time", "10", "--cacert", str(pki.ca_file),
        "--resolve", f"localhost:{port}:127.0.0.1", "-H", "X-Interop: sspi_async",
        *extra, f"https://localhost:{port}{path}",
    ]  # fmt: skip


async def read_request(receive: Callable[[], Awaitable[bytes]]) -> bytes:
    """The request head (through the blank line)."""
    request = b""
    while b"\r\n\r\n" not in request:
        chunk = await receive()
        assert chunk, f"curl closed after {request!r}"
        request += chunk
    return request


def server_cred(pki: Pki, version: str) -> SchannelCred:
    """The localhost certificate, one protocol version, ALPN preferences h2 then http/1.1."""
    return pki.server.schannel_cred(enabled_protocols=(version,), alpn=("h2", "http/1.1"))


@pytest.mark.parametrize("version", ["tls1.2", "tls1.3"])
async def test_curl_get_from_flat_server(curl: str, start: Spawn, pki: Pki, version: str) -> None:
    """T8/T12: curl's verified GET answered by the flat ASC loop; exit 0, exact body, http/1.1."""
    with anyio.fail_after(LIMIT):
        async with (
            Emulator(),
            listening() as (listener, port),
            start(curl_argv(curl, pki, port)) as peer,
        ):
            handle = await acquire_handle(SECPKG_CRED_INBOUND, server_cred(pki, version))
            server = TLSEndpoint(await listener.accept(), FlatBackend(handle, client=False))
            try:
                await server.handshake()
                request = await read_request(server.receive)
                alpn = cast(
                    SecPkgContext_ApplicationProtocol,
                    server.query(SECPKG_ATTR_APPLICATION_PROTOCOL),
                )
                await server.send(RESPONSE)
            finally:
                await server.close()
            code = await peer.wait(seconds=LIMIT)
    assert code == 0, peer.text
    assert bytes(peer.output) == BODY
    assert request.startswith(b"GET /hello HTTP/1.1\r\n")
    assert f"\r\nHost: localhost:{port}\r\n".encode() in request
    assert b"\r\nX-Interop: sspi_async\r\n" in request
    assert bytes(alpn.ProtocolId) == b"http/1.1"


@pytest.mark.parametrize("version", ["tls1.2", "tls1.3"])
async def test_curl_get_from_stream_server(curl: str, start: Spawn, pki: Pki, version: str) -> None:
    """§6: curl's verified GET answered through SspiTLSStream.wrap_server; exit 0, exact body."""
    with anyio.fail_after(LIMIT):
        async with (
            Emulator(),
            listening() as (listener, port),
            start(curl_argv(curl, pki, port)) as peer,
        ):
            credentials = await acquire_credentials(
                "Schannel", "inbound", server_cred(pki, version)
            )
            tls = await SspiTLSStream.wrap_server(await listener.accept(), credentials)
            try:
                request = await read_request(tls.receive)
                await tls.send(RESPONSE)
            finally:
                await tls.aclose()
                await credentials.aclose()
            code = await peer.wait(seconds=LIMIT)
    assert code == 0, peer.text
    assert bytes(peer.output) == BODY
    assert request.startswith(b"GET /hello HTTP/1.1\r\n")
    assert (
        tls.extra(TLSAttribute.tls_version) == {"tls1.2": "TLSv1.2", "tls1.3": "TLSv1.3"}[version]
    )
    assert tls.extra(TLSAttribute.alpn_protocol) == "http/1.1"


async def test_curl_rejects_server_from_untrusted_ca(curl: str, start: Spawn, pki: Pki) -> None:
    """T11: curl refuses an untrusted chain (exit 60); its unknown_ca alert fails the ASC."""
    cred = pki.stranger.schannel_cred()
    with anyio.fail_after(LIMIT):
        async with (
            Emulator(),
            listening() as (listener, port),
            start(curl_argv(curl, pki, port)) as peer,
        ):
            handle = await acquire_handle(SECPKG_CRED_INBOUND, cred)
            server = TLSEndpoint(await listener.accept(), FlatBackend(handle, client=False))
            try:
                with pytest.raises(StatusError) as failure:
                    await server.handshake()
            finally:
                await server.close()
            code = await peer.wait(seconds=LIMIT)
    assert code == 60, peer.text  # CURLE_PEER_FAILED_VERIFICATION
    assert "certificate" in peer.text
    assert failure.value.status == status_for_received_alert(TLS1_ALERT_UNKNOWN_CA)


def pattern(size: int) -> bytes:
    """``size`` bytes that are not one repeated record's worth (so reordering would show)."""
    return hashlib.shake_128(b"sspi_async interop").digest(size)


async def read_body(receive: Callable[[], Awaitable[bytes]], head: bytes) -> tuple[bytes, bytes]:
    """Split a request into its head and a Content-Length body, reading the rest of the body."""
    head, _, body = head.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        chunk = await receive()
        assert chunk, f"curl closed after {len(body)} of {length} body bytes"
        body += chunk
    return head, body


async def test_curl_upload_and_download_through_flat_server(
    curl: str, start: Spawn, pki: Pki, tmp_path: Path
) -> None:
    """M1/M2: 300 KB up and 1 MiB down through the flat server arrive intact."""
    upload, download = pattern(300_000), pattern(1 << 20)[::-1]
    (tmp_path / "upload.bin").write_bytes(upload)
    files = (
        "--data-binary", f"@{tmp_path / 'upload.bin'}", "-o", str(tmp_path / "download.bin"),
        "-H", "Expect:",  # no 100-continue round (older curl waits a second for it)
    )  # fmt: skip
    with anyio.fail_after(LIMIT):
        async with Emulator(), listening() as (listener, port):
            argv = curl_argv(curl, pki, port, *files, path="/upload")
            async with start(argv) as peer:
                handle = await acquire_handle(SECPKG_CRED_INBOUND, server_cred(pki, "tls1.3"))
                server = TLSEndpoint(await listener.accept(), FlatBackend(handle, client=False))
                try:
                    await server.handshake()
                    head, body = await read_body(server.receive, await read_request(server.receive))
                    await server.send(
                        b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
                        % len(download)
                        + download
                    )
                finally:
                    await server.close()
                code = await peer.wait(seconds=LIMIT)
    assert code == 0, peer.text
    assert head.startswith(b"POST /upload HTTP/1.1\r\n")
    assert body == upload
    assert (tmp_path / "download.bin").read_bytes() == download
