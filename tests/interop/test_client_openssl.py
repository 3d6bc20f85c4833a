"""The emulated Schannel CLIENT against ``openssl s_server`` (SPEC T1, T4, T6, T8, T10–T12, M1, M2).

Each test starts ``openssl s_server -naccept 1`` on 127.0.0.1 (it exits by itself after the one
connection) and connects with ``anyio.connect_tcp``. ``-rev`` answers each line reversed and
closes with close_notify on a ``CLOSE`` line; ``-www`` answers ``GET /`` with a status page.
"""

from __future__ import annotations

from typing import cast

import anyio
import pytest
from anyio.abc import ByteStream

from sspi_async import Emulator, SchannelCred, acquire_credentials
from sspi_async._attributes import SecPkgContext_ApplicationProtocol, SecPkgContext_CipherInfo
from sspi_async.sspi import (
    SEC_E_APPLICATION_PROTOCOL_MISMATCH,
    SEC_E_OK,
    SEC_E_UNTRUSTED_ROOT,
    SEC_I_CONTINUE_NEEDED,
    SECPKG_ATTR_APPLICATION_PROTOCOL,
    SECPKG_ATTR_CIPHER_INFO,
    SECPKG_CRED_OUTBOUND,
    SecApplicationProtocolNegotiationExt_ALPN,
    SecApplicationProtocolNegotiationStatus_Success,
)
from tests.interop.conftest import LIMIT, OpensslServer, Pki
from tests.interop.endpoint import (
    FlatBackend,
    ObjectBackend,
    StatusError,
    TLSEndpoint,
    TrickleStream,
    acquire_handle,
)

pytestmark = pytest.mark.interop

VERSIONS = {"tls1.2": ("-tls1_2", 0x0303), "tls1.3": ("-tls1_3", 0x0304)}


def server_files(pki: Pki) -> tuple[str, ...]:
    """``s_server`` arguments for the localhost certificate."""
    return ("-cert", str(pki.server_cert), "-key", str(pki.server_key))


@pytest.mark.parametrize("trickle", [None, 7], ids=["as-read", "7-byte-pieces"])
@pytest.mark.parametrize("version", VERSIONS)
async def test_client_exchanges_data_with_s_server(
    openssl_server: OpensslServer, pki: Pki, version: str, trickle: int | None
) -> None:
    """T4/T8/M2: async ISC vs s_server; data both ways, tickets as RENEGOTIATE, peer close_notify."""
    flag, wire = VERSIONS[version]
    args = (*server_files(pki), flag, "-rev", "-num_tickets", "2")
    with anyio.fail_after(LIMIT):
        async with Emulator(), openssl_server(*args) as (peer, port):
            cred = await acquire_handle(
                SECPKG_CRED_OUTBOUND, SchannelCred(trusted_roots=pki.ca.cert_pem)
            )
            backend = FlatBackend(cred, client=True, target="localhost")
            stream: ByteStream = await anyio.connect_tcp("127.0.0.1", port)
            if trickle is not None:
                stream = TrickleStream(stream, trickle)
            client = TLSEndpoint(stream, backend)
            try:
                await client.handshake()
                await client.send(b"hello from sspi\n")
                echoed = await client.receive_until(lambda got: got.endswith(b"\n"))
                cipher = cast(SecPkgContext_CipherInfo, client.query(SECPKG_ATTR_CIPHER_INFO))
                await client.send(b"CLOSE\n")
                assert await client.receive() == b""  # s_server's close_notify
            finally:
                await client.close()
            assert await peer.wait() == 0, peer.text
        assert echoed == b"ipss morf olleh\n"
        assert cipher.dwProtocol == wire
        # T8: which steps produced a token, and the final SEC_E_OK.
        sent = [status for status, size in client.steps if size]
        if version == "tls1.3":
            assert sent == [SEC_I_CONTINUE_NEEDED, SEC_E_OK]  # ClientHello, then Finished
            assert client.renegotiations == 2  # -num_tickets 2, each one SEC_I_RENEGOTIATE
        else:
            assert sent == [SEC_I_CONTINUE_NEEDED, SEC_I_CONTINUE_NEEDED]
            assert client.renegotiations == 0  # TLS 1.2 tickets are inside the handshake
        assert client.steps[-1][0] == SEC_E_OK
        assert client.peer_closed
        if trickle is not None:  # T4/M2 really ran: records arrived in pieces on both paths
            assert client.incomplete_steps > 0
            assert client.incomplete_records > 0
        # One notify callback per queued ISC: the handshake steps (INCOMPLETE ones too), each
        # post-handshake follow-up, and the shutdown.
        calls = len(client.steps) + client.incomplete_steps + client.renegotiations + 1
        assert backend.callbacks == calls


@pytest.mark.parametrize(
    ("source", "offered", "selected"),
    [
        pytest.param("context", ["http/1.1", "h2"], b"h2", id="server-preference"),
        pytest.param("credential", ["spdy/3", "http/1.1"], b"http/1.1", id="credential-alpn"),
    ],
)
@pytest.mark.parametrize("version", VERSIONS)
async def test_client_alpn_with_s_server(
    openssl_server: OpensslServer,
    pki: Pki,
    version: str,
    source: str,
    offered: list[str],
    selected: bytes,
) -> None:
    """T12: ALPN offered by buffer or credential; s_server's pick is in APPLICATION_PROTOCOL."""
    args = (*server_files(pki), VERSIONS[version][0], "-alpn", "h2,http/1.1", "-www")
    with anyio.fail_after(LIMIT):
        async with Emulator(), openssl_server(*args) as (peer, port):
            cred = SchannelCred(
                trusted_roots=pki.ca.cert_pem, alpn=offered if source == "credential" else ()
            )
            credentials = await acquire_credentials("Schannel", "outbound", cred)
            context = credentials.client_context(
                "localhost", alpn=offered if source == "context" else None
            )
            client = TLSEndpoint(await anyio.connect_tcp("127.0.0.1", port), ObjectBackend(context))
            try:
                await client.handshake()
                alpn = cast(
                    SecPkgContext_ApplicationProtocol,
                    client.query(SECPKG_ATTR_APPLICATION_PROTOCOL),
                )
                await client.send(b"GET / HTTP/1.0\r\n\r\n")
                page = await client.receive_until(lambda got: False)  # until close_notify
            finally:
                await client.close()
                await credentials.aclose()
            assert await peer.wait() == 0, peer.text
    assert alpn.ProtoNegoStatus == SecApplicationProtocolNegotiationStatus_Success
    assert alpn.ProtoNegoExt == SecApplicationProtocolNegotiationExt_ALPN
    assert bytes(alpn.ProtocolId) == selected
    assert page.startswith(b"HTTP/1.0 200 ok\r\n"), page[:200]
    assert client.peer_closed


@pytest.mark.parametrize("version", VERSIONS)
async def test_client_alpn_no_overlap_refused_by_s_server(
    openssl_server: OpensslServer, pki: Pki, version: str
) -> None:
    """T11/T12: s_server's no_application_protocol alert fails ISC with APPLICATION_PROTOCOL_MISMATCH."""
    args = (*server_files(pki), VERSIONS[version][0], "-alpn", "h2,http/1.1", "-www")
    with anyio.fail_after(LIMIT):
        async with Emulator(), openssl_server(*args) as (peer, port):
            cred = await acquire_handle(
                SECPKG_CRED_OUTBOUND, SchannelCred(trusted_roots=pki.ca.cert_pem)
            )
            client = TLSEndpoint(
                await anyio.connect_tcp("127.0.0.1", port),
                FlatBackend(cred, client=True, target="localhost", alpn=["spdy/3"]),
            )
            try:
                with pytest.raises(StatusError) as failure:
                    await client.handshake()
            finally:
                await client.close()
            await peer.wait()
    assert failure.value.status == SEC_E_APPLICATION_PROTOCOL_MISMATCH
    assert client.steps == [(SEC_I_CONTINUE_NEEDED, client.steps[0][1])]  # only the ClientHello
    assert "no application protocol" in peer.text


async def test_client_rejects_s_server_from_untrusted_ca(
    openssl_server: OpensslServer, pki: Pki
) -> None:
    """T10/T11: an untrusted server chain is SEC_E_UNTRUSTED_ROOT and s_server gets the alert."""
    args = ("-cert", str(pki.stranger_cert), "-key", str(pki.stranger_key), "-rev")
    with anyio.fail_after(LIMIT):
        async with Emulator(), openssl_server(*args) as (peer, port):
            cred = await acquire_handle(
                SECPKG_CRED_OUTBOUND, SchannelCred(trusted_roots=pki.ca.cert_pem)
            )
            client = TLSEndpoint(
                await anyio.connect_tcp("127.0.0.1", port),
                FlatBackend(cred, client=True, target="localhost"),
            )
            try:
                with pytest.raises(StatusError) as failure:
                    await client.handshake()
            finally:
                await client.close()
            await peer.wait()
    assert failure.value.status == SEC_E_UNTRUSTED_ROOT
    assert failure.value.token, "no alert was produced for the peer"
    assert "unknown ca" in peer.text


@pytest.mark.parametrize(
    "letter",
    [
        pytest.param(b"k", id="update-not-requested"),
        pytest.param(b"K", id="update-requested"),
    ],
)
async def test_client_key_update_from_s_server(
    openssl_server: OpensslServer, pki: Pki, letter: bytes
) -> None:
    """M2: a KeyUpdate from s_server is a RENEGOTIATE; data then flows both ways on new keys."""
    args = (*server_files(pki), "-tls1_3", "-num_tickets", "0")
    with anyio.fail_after(LIMIT):
        async with Emulator(), openssl_server(*args) as (peer, port):
            cred = await acquire_handle(
                SECPKG_CRED_OUTBOUND, SchannelCred(trusted_roots=pki.ca.cert_pem)
            )
            backend = FlatBackend(cred, client=True, target="localhost")
            client = TLSEndpoint(await anyio.connect_tcp("127.0.0.1", port), backend)
            try:
                await client.handshake()
                await client.send(b"before the key update\n")
                await peer.expect(b"before the key update\n")  # s_server is in its data loop
                await peer.write(letter + b"\n")
                await client.pump_until(lambda: client.renegotiations == 1)
                await peer.write(b"s_server under new keys\n")  # one stdin read per command
                reply = await client.receive_until(lambda got: got.endswith(b"\n"))
                await client.send(b"the client after the key update\n")
                await peer.expect(b"the client after the key update\n")
            finally:
                await client.close()
            assert await peer.wait() == 0, peer.text
    assert reply == b"s_server under new keys\n"
