"""Records from a real TLS stack that arrive glued together (SPEC T6, M2).

A real peer often puts its last handshake flight and its first application record (or TLS 1.3
session tickets and data) into one transport write. The peer here is the standard library's
OpenSSL over memory BIOs (:class:`~tests.interop.python_peers.MemoryBioPeer`), stepped by the test so
the grouping is exact, and the transport is an in-memory stream pair that delivers each write as
one read — so which bytes arrive together is deterministic, not up to the TCP stack.
"""

from __future__ import annotations

import math
import ssl
from typing import cast

import anyio
import pytest
from anyio.abc import ByteSendStream, ByteStream
from anyio.streams.buffered import BufferedByteReceiveStream
from anyio.streams.stapled import StapledByteStream

from sspi_async import Emulator, SchannelCred, acquire_credentials
from sspi_async.sspi import (
    SEC_E_OK,
    SECPKG_CRED_INBOUND,
    SECPKG_CRED_OUTBOUND,
)
from tests.interop.conftest import LIMIT, Pki
from tests.interop.endpoint import (
    Backend,
    FlatBackend,
    ObjectBackend,
    TLSEndpoint,
    acquire_handle,
)
from tests.interop.python_peers import MemoryBioPeer

pytestmark = pytest.mark.interop

VERSIONS = {"tls1.2": ssl.TLSVersion.TLSv1_2, "tls1.3": ssl.TLSVersion.TLSv1_3}


def memory_pair() -> tuple[ByteStream, ByteStream]:
    """Two connected byte streams; each send arrives as exactly one receive."""
    a_send, a_receive = anyio.create_memory_object_stream[bytes](math.inf)
    b_send, b_receive = anyio.create_memory_object_stream[bytes](math.inf)
    left = StapledByteStream(cast(ByteSendStream, a_send), BufferedByteReceiveStream(b_receive))
    right = StapledByteStream(cast(ByteSendStream, b_send), BufferedByteReceiveStream(a_receive))
    return left, right


async def backend_for(kind: str, use: str, cred: SchannelCred) -> Backend:
    """A flat-facade or Pythonic backend for ``use`` ("inbound"/"outbound")."""
    client = use == "outbound"
    if kind == "flat":
        code = SECPKG_CRED_OUTBOUND if client else SECPKG_CRED_INBOUND
        target = "localhost" if client else None
        return FlatBackend(await acquire_handle(code, cred), client=client, target=target)
    credentials = await acquire_credentials("Schannel", use, cred)
    context = credentials.client_context("localhost") if client else credentials.server_context()
    return ObjectBackend(context, owns_credentials=True)


@pytest.mark.parametrize("kind", ["flat", "objects"])
@pytest.mark.parametrize("version", VERSIONS)
async def test_client_gets_last_flight_and_data_in_one_read(
    pki: Pki, version: str, kind: str
) -> None:
    """T6/M2: the server's last flight, tickets and first record in one read all decrypt."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = context.maximum_version = VERSIONS[version]
    context.load_cert_chain(pki.server_cert, pki.server_key)
    peer = MemoryBioPeer(context, server_side=True)
    near, far = memory_pair()
    with anyio.fail_after(LIMIT):
        async with Emulator():
            backend = await backend_for(
                kind, "outbound", SchannelCred(trusted_roots=pki.ca.cert_pem)
            )
            client = TLSEndpoint(near, backend)
            seen: dict[str, object] = {}

            async def run_client() -> None:
                await client.handshake()
                seen["after_handshake"] = client.pending_ciphertext
                seen["data"] = await client.receive()
                seen["renegotiations"] = client.renegotiations

            try:
                async with anyio.create_task_group() as tg:
                    tg.start_soon(run_client)
                    done = False
                    while not done:
                        peer.feed(await far.receive())
                        done = peer.handshake()
                        if done:
                            peer.write(b"right behind the handshake")
                        await far.send(peer.take())  # one write: flight (+ tickets) + record
            finally:
                await client.close(notify=False)
                await far.aclose()
    assert seen["data"] == b"right behind the handshake"
    if version == "tls1.2":
        assert seen["after_handshake"] > 0  # T6: the record came back as EXTRA
        assert seen["renegotiations"] == 0
        assert client.steps[-1] == (SEC_E_OK, 0)
    else:
        assert seen["after_handshake"] == 0  # TLS 1.3: the client finished on the server flight
        assert seen["renegotiations"] == 2


@pytest.mark.parametrize("kind", ["flat", "objects"])
async def test_server_gets_finished_and_data_in_one_read(pki: Pki, kind: str) -> None:
    """T6: a client's Finished and first record in one read: OK, then the EXTRA decrypts."""
    context = ssl.create_default_context(cafile=str(pki.ca_file))
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    peer = MemoryBioPeer(context, server_side=False, server_hostname="localhost")
    near, far = memory_pair()
    with anyio.fail_after(LIMIT):
        async with Emulator():
            server = TLSEndpoint(
                near, await backend_for(kind, "inbound", pki.server.schannel_cred())
            )
            seen: dict[str, object] = {}

            async def run_server() -> None:
                await server.handshake()
                seen["after_handshake"] = server.pending_ciphertext
                data = await server.receive()
                seen["data"] = data
                await server.send(b"echo: " + data)

            try:
                async with anyio.create_task_group() as tg:
                    tg.start_soon(run_server)
                    peer.handshake()
                    await far.send(peer.take())  # ClientHello
                    peer.feed(await far.receive())  # the server's flight
                    assert peer.handshake()
                    peer.write(b"right behind Finished")
                    await far.send(peer.take())  # Finished + the record, one write
                    reply = b""
                    while not reply:
                        peer.feed(await far.receive())  # tickets, then the echo
                        reply = peer.read()
            finally:
                await server.close(notify=False)
                await far.aclose()
    assert seen["after_handshake"] > 0
    assert seen["data"] == b"right behind Finished"
    assert reply == b"echo: right behind Finished"
    assert [status for status, _ in server.steps][-1] == SEC_E_OK
