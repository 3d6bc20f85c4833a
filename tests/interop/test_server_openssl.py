"""The emulated Schannel SERVER against ``openssl s_client`` (SPEC T6, T8, T9, T12, T14, M2, M3, I1).

The server listens with ``anyio.create_tcp_listener`` on 127.0.0.1:0 and accepts one connection
from ``openssl s_client`` (which verifies the chain against the test CA and the host name, and
gives up on a verification error). s_client's stdin carries a few lines and then ends; with
``-ign_eof`` it keeps reading, so the server echoes every byte, closes with close_notify, and
s_client exits by itself.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import cast

import anyio
import pytest
from anyio.abc import SocketAttribute, SocketListener

from sspi_async import Emulator, SchannelCred, acquire_credentials, current_token
from sspi_async._attributes import (
    SecPkgContext_ApplicationProtocol,
    SecPkgContext_CipherInfo,
    SecPkgContext_Names,
    SecPkgContext_RemoteCertContext,
)
from sspi_async.sspi import (
    ASC_REQ_MUTUAL_AUTH,
    ASC_RET_MUTUAL_AUTH,
    SEC_E_LOGON_DENIED,
    SEC_E_NO_CREDENTIALS,
    SEC_E_NO_IMPERSONATION,
    SEC_E_OK,
    SEC_I_CONTINUE_NEEDED,
    SECPKG_ATTR_APPLICATION_PROTOCOL,
    SECPKG_ATTR_CIPHER_INFO,
    SECPKG_ATTR_NAMES,
    SECPKG_ATTR_REMOTE_CERT_CONTEXT,
    SECPKG_CRED_INBOUND,
    ImpersonateSecurityContext,
    QuerySecurityContextToken,
    RevertSecurityContext,
)
from tests.interop.conftest import LIMIT, Pki, Spawn
from tests.interop.endpoint import (
    ASC_FLAGS,
    Backend,
    FlatBackend,
    ObjectBackend,
    StatusError,
    TLSEndpoint,
    acquire_handle,
)

pytestmark = pytest.mark.interop

VERSIONS = {"tls1.2": ("-tls1_2", 0x0303), "tls1.3": ("-tls1_3", 0x0304)}
PAYLOAD = b"first line through s_client\nsecond line, a little longer than the first\n"


@asynccontextmanager
async def listening() -> AsyncIterator[tuple[SocketListener, int]]:
    """A TCP listener on 127.0.0.1 with an ephemeral port: (listener, port)."""
    multi = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    async with multi:
        listener = cast(SocketListener, multi.listeners[0])
        yield listener, listener.extra(SocketAttribute.local_port)


def s_client(openssl: str, pki: Pki, port: int, version: str, *extra: str) -> list[str]:
    """``openssl s_client`` that verifies the server strictly and ignores stdin EOF."""
    return [
        openssl, "s_client", "-connect", f"127.0.0.1:{port}", "-servername", "localhost",
        "-CAfile", str(pki.ca_file), "-verify_return_error", "-verify_hostname", "localhost",
        "-ign_eof", VERSIONS[version][0], *extra,
    ]  # fmt: skip


async def echo(server: TLSEndpoint, size: int) -> bytes:
    """Echo every record back until ``size`` bytes came in; return them."""
    received = b""
    while len(received) < size:
        chunk = await server.receive()
        assert chunk, f"the client closed after {received!r}"
        received += chunk
        await server.send(chunk)
    return received


async def server_backend(kind: str, cred: SchannelCred, flags: int) -> Backend:
    """A server-side backend: the flat facade (with a handle from the async Acquire) or the
    Pythonic objects (owning their credentials)."""
    if kind == "flat":
        return FlatBackend(
            await acquire_handle(SECPKG_CRED_INBOUND, cred), client=False, flags=flags
        )
    credentials = await acquire_credentials("Schannel", "inbound", cred)
    return ObjectBackend(credentials.server_context(flags=flags), owns_credentials=True)


@pytest.mark.parametrize("kind", ["flat", "objects"])
@pytest.mark.parametrize("version", VERSIONS)
async def test_server_echoes_s_client(
    openssl: str, start: Spawn, pki: Pki, version: str, kind: str
) -> None:
    """T8/T12/M3: ASC vs s_client; server ALPN wins, echo, clean exit; no client identity."""
    cred = pki.server.schannel_cred(alpn=("http/1.1", "h2"))
    with anyio.fail_after(LIMIT):
        async with Emulator(), listening() as (listener, port):
            argv = s_client(openssl, pki, port, version, "-alpn", "h2,http/1.1")
            async with start(argv) as peer:
                await peer.write(PAYLOAD)
                await peer.close_stdin()
                stream = await listener.accept()
                server = TLSEndpoint(stream, await server_backend(kind, cred, ASC_FLAGS))
                try:
                    await server.handshake()
                    echoed = await echo(server, len(PAYLOAD))
                    cipher = cast(SecPkgContext_CipherInfo, server.query(SECPKG_ATTR_CIPHER_INFO))
                    alpn = cast(
                        SecPkgContext_ApplicationProtocol,
                        server.query(SECPKG_ATTR_APPLICATION_PROTOCOL),
                    )
                    names = cast(SecPkgContext_Names, server.query(SECPKG_ATTR_NAMES))
                    remote = server.backend.query(SECPKG_ATTR_REMOTE_CERT_CONTEXT)
                    impersonated = ImpersonateSecurityContext(server.backend.handle)
                finally:
                    await server.close()
                code = await peer.wait()
    assert code == 0, peer.text
    assert echoed == PAYLOAD
    assert PAYLOAD in peer.output
    assert "Verify return code: 0 (ok)" in peer.text
    assert "ALPN protocol: http/1.1" in peer.text
    assert bytes(alpn.ProtocolId) == b"http/1.1"
    assert cipher.dwProtocol == VERSIONS[version][1]
    # T8: the server's steps that produce a token — CONTINUE with its flight, then OK with a
    # token (TLS 1.2: its ChangeCipherSpec/Finished; TLS 1.3: the session tickets).
    assert [status for status, size in server.steps if size] == [SEC_I_CONTINUE_NEEDED, SEC_E_OK]
    assert server.steps[-1][0] == SEC_E_OK
    assert names.sUserName == ""
    assert remote == (SEC_E_NO_CREDENTIALS, None)
    assert impersonated == SEC_E_NO_IMPERSONATION


@pytest.mark.parametrize("kind", ["flat", "objects"])
@pytest.mark.parametrize("version", VERSIONS)
async def test_server_mutual_auth_with_s_client_certificate(
    openssl: str, start: Spawn, pki: Pki, version: str, kind: str
) -> None:
    """T9/T14/I1: MUTUAL_AUTH gets s_client's certificate; NAMES, cert, impersonation of alice."""
    cred = pki.server.schannel_cred(
        trusted_roots=pki.ca.cert_pem, client_certificate_mapping="common_name"
    )
    client_files = ("-cert", str(pki.client_cert), "-key", str(pki.client_key))
    with anyio.fail_after(LIMIT):
        async with (
            Emulator(),
            listening() as (listener, port),
            start(s_client(openssl, pki, port, version, *client_files)) as peer,
        ):
            await peer.write(PAYLOAD)
            await peer.close_stdin()
            backend = await server_backend(kind, cred, ASC_FLAGS | ASC_REQ_MUTUAL_AUTH)
            server = TLSEndpoint(await listener.accept(), backend)
            try:
                await server.handshake()
                echoed = await echo(server, len(PAYLOAD))
                remote = cast(
                    SecPkgContext_RemoteCertContext,
                    server.query(SECPKG_ATTR_REMOTE_CERT_CONTEXT),
                )
                names = cast(SecPkgContext_Names, server.query(SECPKG_ATTR_NAMES))
                before = current_token()
                assert ImpersonateSecurityContext(backend.handle) == SEC_E_OK
                during = current_token()
                assert RevertSecurityContext(backend.handle) == SEC_E_OK
                after = current_token()
                status, token = QuerySecurityContextToken(backend.handle)
            finally:
                await server.close()
            code = await peer.wait()
    assert code == 0, peer.text
    assert echoed == PAYLOAD
    assert PAYLOAD in peer.output
    assert remote.pbCertEncoded == pki.client.der
    assert names.sUserName == "CN=alice"
    assert backend.attributes & ASC_RET_MUTUAL_AUTH
    assert before.is_process
    assert after == before
    assert during.user == "alice"
    assert during.source == "Schannel"
    assert status == SEC_E_OK
    assert token is not None
    assert token.user == "alice"


@pytest.mark.parametrize("version", VERSIONS)
async def test_server_requires_certificate_s_client_has_none(
    openssl: str, start: Spawn, pki: Pki, version: str
) -> None:
    """T14/T11: require_client_certificate without one: SEC_E_LOGON_DENIED, alert to s_client."""
    cred = pki.server.schannel_cred(trusted_roots=pki.ca.cert_pem, require_client_certificate=True)
    with anyio.fail_after(LIMIT):
        async with (
            Emulator(),
            listening() as (listener, port),
            start(s_client(openssl, pki, port, version)) as peer,
        ):
            await peer.write(PAYLOAD)
            await peer.close_stdin()
            backend = await server_backend("flat", cred, ASC_FLAGS)
            server = TLSEndpoint(await listener.accept(), backend)
            try:
                with pytest.raises(StatusError) as failure:
                    await server.handshake()
            finally:
                await server.close()
            await peer.wait()
    assert failure.value.status == SEC_E_LOGON_DENIED
    assert failure.value.token, "no alert was produced for s_client"
    expected = "certificate required" if version == "tls1.3" else "handshake failure"
    assert expected in peer.text
    assert PAYLOAD not in peer.output


@pytest.mark.parametrize(
    "letter",
    [
        pytest.param(b"k", id="update-not-requested"),
        pytest.param(b"K", id="update-requested"),
    ],
)
@pytest.mark.parametrize("kind", ["flat", "objects"])
async def test_server_key_update_from_s_client(
    openssl: str, start: Spawn, pki: Pki, kind: str, letter: bytes
) -> None:
    """M2: a KeyUpdate from s_client is a RENEGOTIATE on the server; echo on new keys, close."""
    argv = s_client(openssl, pki, port=0, version="tls1.3")
    argv.remove("-ign_eof")  # s_client takes its k/K commands only without -ign_eof
    cred = pki.server.schannel_cred()
    with anyio.fail_after(LIMIT):
        async with Emulator(), listening() as (listener, port):
            argv[argv.index("127.0.0.1:0")] = f"127.0.0.1:{port}"
            async with start(argv) as peer:
                server = TLSEndpoint(
                    await listener.accept(), await server_backend(kind, cred, ASC_FLAGS)
                )
                try:
                    await server.handshake()
                    await peer.write(b"before the key update\n")
                    before = await server.receive_until(lambda got: got.endswith(b"\n"))
                    await peer.write(letter + b"\n")
                    await peer.expect(b"KEYUPDATE")  # s_client took the command
                    await peer.write(b"s_client under new keys\n")  # KeyUpdate, then this
                    after = await server.receive_until(lambda got: got.endswith(b"\n"))
                    await server.send(b"echo: " + after)
                    await peer.expect(b"echo: s_client under new keys\n")
                    await peer.close_stdin()  # s_client sends close_notify and exits
                    assert await server.receive() == b""
                finally:
                    await server.close()
                code = await peer.wait()
    assert code == 0, peer.text
    assert before == b"before the key update\n"
    assert after == b"s_client under new keys\n"
    assert server.renegotiations == 1
    assert server.peer_closed
