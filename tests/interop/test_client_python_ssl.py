"""The emulated Schannel CLIENT against a Python :mod:`ssl` server (SPEC T10, T11, T14, M2, M3).

The server (:class:`~tests.interop.python_peers.PythonTLSServer`) is OpenSSL driven by the standard
library in a worker thread on 127.0.0.1:0: it accepts one connection, answers one line
upper-cased and records what it saw (client certificate, protocol, channel binding, handshake
error), so each test can check both ends.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import cast

import anyio
import pytest

from sspi_async import Emulator, SchannelCred, acquire_credentials
from sspi_async._attributes import SecPkgContext_Bindings, SecPkgContext_RemoteCertContext
from sspi_async.packages._alerts import status_for_received_alert
from sspi_async.sspi import (
    ISC_REQ_MANUAL_CRED_VALIDATION,
    SEC_E_CERT_EXPIRED,
    SEC_E_OK,
    SEC_E_UNTRUSTED_ROOT,
    SEC_E_WRONG_PRINCIPAL,
    SECPKG_ATTR_ENDPOINT_BINDINGS,
    SECPKG_ATTR_REMOTE_CERT_CONTEXT,
    SECPKG_ATTR_UNIQUE_BINDINGS,
    TLS1_ALERT_CERTIFICATE_REQUIRED,
    TLS1_ALERT_HANDSHAKE_FAILURE,
)
from sspi_async.testing import IssuedCertificate
from tests.interop.conftest import LIMIT, Pki
from tests.interop.endpoint import (
    ISC_FLAGS,
    ObjectBackend,
    StatusError,
    TLSEndpoint,
)
from tests.interop.python_peers import PythonTLSServer

pytestmark = pytest.mark.interop

VERSIONS = {"tls1.2": ssl.TLSVersion.TLSv1_2, "tls1.3": ssl.TLSVersion.TLSv1_3}


def server_context(
    certificate: IssuedCertificate,
    version: str,
    directory: Path,
    *,
    client_ca: bytes | None = None,
) -> ssl.SSLContext:
    """A server context presenting ``certificate`` (written to ``directory``, as
    ``load_cert_chain`` wants files); with ``client_ca`` it requires a client certificate issued
    by that CA."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = context.maximum_version = VERSIONS[version]
    cert_file, key_file = certificate.write(
        directory, f"python-server-{certificate.fingerprint[:12]}"
    )
    context.load_cert_chain(cert_file, key_file)
    if client_ca is not None:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(cadata=client_ca.decode("ascii"))
    return context


@asynccontextmanager
async def serving(context: ssl.SSLContext) -> AsyncIterator[PythonTLSServer]:
    """Run a :class:`PythonTLSServer` for one connection while the block runs; on exit, wait for
    its thread (every socket call in it has a timeout, so this is bounded)."""
    server = PythonTLSServer(context)
    async with anyio.create_task_group() as tg:
        tg.start_soon(anyio.to_thread.run_sync, server.serve_one)
        yield server


async def connect(
    server: PythonTLSServer, cred: SchannelCred, target: str, flags: int = ISC_FLAGS
) -> TLSEndpoint:
    """A client endpoint (the Pythonic API) connected to ``server``, handshake not yet run."""
    credentials = await acquire_credentials("Schannel", "outbound", cred)
    context = credentials.client_context(target, flags=flags)
    backend = ObjectBackend(context, owns_credentials=True)
    return TLSEndpoint(await anyio.connect_tcp("127.0.0.1", server.port), backend)


@pytest.mark.parametrize("version", VERSIONS)
async def test_client_certificate_seen_by_python_server(
    pki: Pki, tmp_path: Path, version: str
) -> None:
    """T14/M3: the ssl server receives the client certificate; bindings and close_notify agree."""
    context = server_context(pki.server, version, tmp_path, client_ca=pki.ca.cert_pem)
    cred = pki.client.schannel_cred(trusted_roots=pki.ca.cert_pem)
    with anyio.fail_after(LIMIT):
        async with Emulator(), serving(context) as server:
            client = await connect(server, cred, "localhost")
            try:
                await client.handshake()
                await cast(ObjectBackend, client.backend).context.credentials.aclose()  # C4
                await client.send(b"sspi says hi\n")
                reply = await client.receive_until(lambda got: got.endswith(b"\n"))
                remote = cast(
                    SecPkgContext_RemoteCertContext, client.query(SECPKG_ATTR_REMOTE_CERT_CONTEXT)
                )
                end_point = cast(
                    SecPkgContext_Bindings, client.query(SECPKG_ATTR_ENDPOINT_BINDINGS)
                )
                status, unique = client.backend.query(SECPKG_ATTR_UNIQUE_BINDINGS)
            finally:
                await client.close()
    assert server.error is None, repr(server.error)
    assert reply == b"SSPI SAYS HI\n"
    assert server.peer_certificate == pki.client.der
    assert server.version == {"tls1.2": "TLSv1.2", "tls1.3": "TLSv1.3"}[version]
    assert server.closed_cleanly
    assert remote.pbCertEncoded == pki.server.der
    expected = b"tls-server-end-point:" + hashlib.sha256(pki.server.der).digest()
    assert bytes(end_point.Bindings).endswith(expected)
    if version == "tls1.2":
        assert status == SEC_E_OK
        binding = bytes(cast(SecPkgContext_Bindings, unique).Bindings)
        assert binding.endswith(b"tls-unique:" + server.tls_unique)
        assert client.renegotiations == 0
    else:
        assert client.renegotiations == 2  # Python's default: two TLS 1.3 session tickets


async def handshake_and_read(client: TLSEndpoint) -> bytes:
    """Handshake, then read one record (where a TLS 1.3 server's late refusal arrives)."""
    await client.handshake()
    return await client.receive()


@pytest.mark.parametrize("version", VERSIONS)
async def test_client_without_certificate_refused_by_python_server(
    pki: Pki, tmp_path: Path, version: str
) -> None:
    """T14/T11: no client certificate for an ssl server that requires one: the alert-mapped error."""
    context = server_context(pki.server, version, tmp_path, client_ca=pki.ca.cert_pem)
    cred = SchannelCred(trusted_roots=pki.ca.cert_pem)
    with anyio.fail_after(LIMIT):
        async with Emulator(), serving(context) as server:
            client = await connect(server, cred, "localhost")
            try:
                with pytest.raises(StatusError) as failure:
                    await handshake_and_read(client)
            finally:
                await client.close(notify=False)
    assert isinstance(server.error, ssl.SSLError), repr(server.error)
    assert server.error.reason == "PEER_DID_NOT_RETURN_A_CERTIFICATE", server.error
    # TLS 1.2: handshake_failure during ISC; TLS 1.3: certificate_required after completion.
    alert = TLS1_ALERT_CERTIFICATE_REQUIRED if version == "tls1.3" else TLS1_ALERT_HANDSHAKE_FAILURE
    assert failure.value.status == status_for_received_alert(alert)
    assert client.complete == (version == "tls1.3")


def _expired(pki: Pki) -> IssuedCertificate:
    """A ``localhost`` certificate from the trusted CA that expired yesterday."""
    now = dt.datetime.now(dt.timezone.utc)
    return pki.ca.issue(
        "localhost", not_before=now - dt.timedelta(days=2), not_after=now - dt.timedelta(days=1)
    )


@pytest.mark.parametrize(
    ("case", "expected", "alert"),
    [
        ("untrusted-root", SEC_E_UNTRUSTED_ROOT, "UNKNOWN_CA"),
        ("wrong-principal", SEC_E_WRONG_PRINCIPAL, "BAD_CERTIFICATE"),
        ("expired", SEC_E_CERT_EXPIRED, "CERTIFICATE_EXPIRED"),
    ],
)
@pytest.mark.parametrize("version", VERSIONS)
async def test_client_validation_failures_against_python_server(
    pki: Pki, tmp_path: Path, version: str, case: str, expected: int, alert: str
) -> None:
    """T10/T11: untrusted, misnamed or expired server certificate: its status, alert to the server."""
    certificate, target = pki.server, "localhost"
    if case == "untrusted-root":
        certificate = pki.stranger
    elif case == "wrong-principal":
        target = "www.example.com"
    else:
        certificate = _expired(pki)
    with anyio.fail_after(LIMIT):
        async with Emulator(), serving(server_context(certificate, version, tmp_path)) as server:
            client = await connect(server, SchannelCred(trusted_roots=pki.ca.cert_pem), target)
            try:
                with pytest.raises(StatusError) as failure:
                    await client.handshake()
            finally:
                await client.close()
    assert failure.value.status == expected
    assert failure.value.token, "the failed step produced no alert for the server"
    assert isinstance(server.error, ssl.SSLError), repr(server.error)
    assert alert in (server.error.reason or ""), server.error


@pytest.mark.parametrize("case", ["untrusted-root", "wrong-principal"])
async def test_client_manual_validation_against_python_server(
    pki: Pki, tmp_path: Path, case: str
) -> None:
    """T10: ISC_REQ_MANUAL_CRED_VALIDATION accepts them; REMOTE_CERT_CONTEXT holds the cert."""
    certificate = pki.stranger if case == "untrusted-root" else pki.server
    target = "localhost" if case == "untrusted-root" else "www.example.com"
    flags = ISC_FLAGS | ISC_REQ_MANUAL_CRED_VALIDATION
    with anyio.fail_after(LIMIT):
        async with Emulator(), serving(server_context(certificate, "tls1.3", tmp_path)) as server:
            client = await connect(
                server, SchannelCred(trusted_roots=pki.ca.cert_pem), target, flags
            )
            try:
                await client.handshake()
                remote = cast(
                    SecPkgContext_RemoteCertContext, client.query(SECPKG_ATTR_REMOTE_CERT_CONTEXT)
                )
                await client.send(b"manual\n")
                reply = await client.receive_until(lambda got: got.endswith(b"\n"))
            finally:
                await client.close()
    assert server.error is None, repr(server.error)
    assert remote.pbCertEncoded == certificate.der
    assert reply == b"MANUAL\n"
