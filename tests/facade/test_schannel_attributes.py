"""QueryContextAttributes (M3) on the real Schannel package through the flat facade (SPEC §5;
reference cases 28–34), on TLS 1.3 and TLS 1.2, with the classic functions.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from sspi_async.sspi import (
    ASC_REQ_MUTUAL_AUTH,
    SEC_E_INVALID_HANDLE,
    SEC_E_NO_CREDENTIALS,
    SEC_E_OK,
    SEC_E_UNSUPPORTED_FUNCTION,
    SECPKG_ATTR_CIPHER_INFO,
    SECPKG_ATTR_CONNECTION_INFO,
    SECPKG_ATTR_ENDPOINT_BINDINGS,
    SECPKG_ATTR_NAMES,
    SECPKG_ATTR_NEGOTIATION_INFO,
    SECPKG_ATTR_PACKAGE_INFO,
    SECPKG_ATTR_REMOTE_CERT_CONTEXT,
    SECPKG_ATTR_SIZES,
    SECPKG_ATTR_STREAM_SIZES,
    SECPKG_ATTR_UNIQUE_BINDINGS,
    SP_PROT_TLS1_2_CLIENT,
    SP_PROT_TLS1_2_SERVER,
    SP_PROT_TLS1_3_CLIENT,
    SP_PROT_TLS1_3_SERVER,
    DeleteSecurityContext,
    FreeContextBuffer,
    QueryContextAttributes,
    QuerySecurityPackageInfo,
)
from tests.facade.helpers import ASC_FLAGS, Connection
from tests.facade.schannel_helpers import (
    TLS12,
    client_after_hello,
    client_cert_cred,
    client_cred,
    connect,
    make_connection,
    pki,
    server_cred,
)

HEADER_TRAILER = {"tls13": (5, 17), "tls12": (13, 16)}


@pytest.fixture(params=["tls13", "tls12"])
def tls(request: pytest.FixtureRequest) -> str:
    """Run the test on TLS 1.3 and on TLS 1.2."""
    return str(request.param)


@pytest.fixture
def conn(tls: str) -> Iterator[Connection]:
    """A complete Schannel connection (both contexts deleted afterwards)."""
    connection = make_connection(tls)
    yield connection
    DeleteSecurityContext(connection.cctx)
    DeleteSecurityContext(connection.sctx)


# --------------------------------------------------------------------------- M3


def test_M3_case28_remote_cert_context_holds_the_peer_chain(conn: Connection) -> None:
    """M3 [28]: REMOTE_CERT_CONTEXT holds the server chain; no client cert → NO_CREDENTIALS."""
    status, remote = QueryContextAttributes(conn.cctx, SECPKG_ATTR_REMOTE_CERT_CONTEXT)
    assert status == SEC_E_OK
    assert remote.pbCertEncoded == pki().server.der
    assert remote.chain == [pki().server.der, pki().ca.certificate.public_bytes(Encoding.DER)]
    assert QueryContextAttributes(conn.sctx, SECPKG_ATTR_REMOTE_CERT_CONTEXT) == (
        SEC_E_NO_CREDENTIALS,
        None,
    )


def test_M3_case29_endpoint_bindings_layout(conn: Connection) -> None:
    """M3 [29]: ENDPOINT_BINDINGS = 32-byte header + tls-server-end-point: + SHA-256(cert)."""
    digest = hashlib.sha256(pki().server.der).digest()
    expected = struct.pack("<8I", 0, 0, 0, 0, 0, 0, 21 + 32, 32) + b"tls-server-end-point:" + digest
    for ctx in (conn.cctx, conn.sctx):
        status, bindings = QueryContextAttributes(ctx, SECPKG_ATTR_ENDPOINT_BINDINGS)
        assert status == SEC_E_OK
        assert bindings.BindingsLength == 32 + 21 + 32 == len(bindings.Bindings)
        assert bytes(bindings.Bindings) == expected


def test_M5_case29_endpoint_bindings_are_freed_with_free_context_buffer(conn: Connection) -> None:
    """M5 [29]: the caller frees the ENDPOINT_BINDINGS value with FreeContextBuffer."""
    _, bindings = QueryContextAttributes(conn.cctx, SECPKG_ATTR_ENDPOINT_BINDINGS)
    assert FreeContextBuffer(bindings.Bindings) == SEC_E_OK


def test_M3_case30_unique_bindings_on_tls12_only(conn: Connection, tls: str) -> None:
    """M3 [30]: UNIQUE_BINDINGS on TLS 1.2 is tls-unique: + Finished; TLS 1.3 → UNSUPPORTED."""
    results = [QueryContextAttributes(ctx, SECPKG_ATTR_UNIQUE_BINDINGS) for ctx in (conn.cctx, conn.sctx)]  # fmt: skip
    if tls == "tls13":
        assert results == [(SEC_E_UNSUPPORTED_FUNCTION, None)] * 2
        return
    (s1, client), (s2, server) = results
    assert s1 == s2 == SEC_E_OK
    assert client.Bindings == server.Bindings
    header, data = client.Bindings[:32], client.Bindings[32:]
    assert header == struct.pack("<8I", 0, 0, 0, 0, 0, 0, len(data), 32)
    assert data.startswith(b"tls-unique:")
    assert len(data) == len(b"tls-unique:") + 12


def test_M3_case31_connection_info(conn: Connection, tls: str) -> None:
    """M3 [31]: CONNECTION_INFO: the SP_PROT_* of each side, dwCipherStrength ≥ 128, no MAC."""
    expected = {
        "tls13": (SP_PROT_TLS1_3_CLIENT, SP_PROT_TLS1_3_SERVER),
        "tls12": (SP_PROT_TLS1_2_CLIENT, SP_PROT_TLS1_2_SERVER),
    }[tls]
    for ctx, protocol in zip((conn.cctx, conn.sctx), expected, strict=True):
        status, info = QueryContextAttributes(ctx, SECPKG_ATTR_CONNECTION_INFO)
        assert status == SEC_E_OK
        assert info.dwProtocol == protocol
        assert info.dwCipherStrength >= 128
        assert (info.aiHash, info.dwHashStrength) == (0, 0)


def test_M3_case32_cipher_info_of_an_rsa_tls12_server() -> None:
    """M3 [32]: TLS 1.2 with an RSA certificate → 0x0303, 0xC030, ECDHE_RSA_WITH_AES_256_GCM."""
    conn = connect(client_cred(enabled_protocols=TLS12), server_cred(pki().server_rsa))
    for ctx in (conn.cctx, conn.sctx):
        status, info = QueryContextAttributes(ctx, SECPKG_ATTR_CIPHER_INFO)
        assert status == SEC_E_OK
        assert (info.dwVersion, info.dwProtocol, info.dwCipherSuite) == (1, 0x0303, 0xC030)
        assert info.szCipherSuite == "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"
        assert (info.szCipher, info.dwCipherLen, info.dwCipherBlockLen) == ("AES", 256, 16)
        assert (info.szHash, info.dwHashLen) == ("", 0)
        assert (info.szExchange, info.szCertificate) == ("ECDH", "RSA")


def test_M3_cipher_info_tls13(conn: Connection, tls: str) -> None:
    """M3: CIPHER_INFO dwProtocol is the wire version; TLS 1.3 names an IANA TLS_AES suite."""
    status, info = QueryContextAttributes(conn.cctx, SECPKG_ATTR_CIPHER_INFO)
    assert status == SEC_E_OK
    assert info.dwProtocol == (0x0304 if tls == "tls13" else 0x0303)
    if tls == "tls13":
        assert (info.dwCipherSuite, info.szCipherSuite) == (0x1302, "TLS_AES_256_GCM_SHA384")


def test_M3_case33_sizes_names_package_info_and_unsupported(conn: Connection, tls: str) -> None:
    """M3 [33]: STREAM_SIZES, SIZES, NAMES, PACKAGE_INFO answer; NEGOTIATION_INFO unsupported."""
    header, trailer = HEADER_TRAILER[tls]
    _, stream = QueryContextAttributes(conn.cctx, SECPKG_ATTR_STREAM_SIZES)
    assert (stream.cbHeader, stream.cbTrailer, stream.cbMaximumMessage, stream.cBuffers) == (header, trailer, 16384, 4)  # fmt: skip
    _, info = QuerySecurityPackageInfo("Schannel")
    status, sizes = QueryContextAttributes(conn.sctx, SECPKG_ATTR_SIZES)
    assert (status, sizes.cbMaxToken, sizes.cbSecurityTrailer) == (SEC_E_OK, info.cbMaxToken, header + trailer)  # fmt: skip
    assert info.cbMaxToken == 0x6000
    assert QueryContextAttributes(conn.cctx, SECPKG_ATTR_NAMES)[1].sUserName == "CN=localhost"
    status, package = QueryContextAttributes(conn.sctx, SECPKG_ATTR_PACKAGE_INFO)
    assert (status, package.PackageInfo.Name) == (SEC_E_OK, "Schannel")
    assert QueryContextAttributes(conn.cctx, SECPKG_ATTR_NEGOTIATION_INFO) == (SEC_E_UNSUPPORTED_FUNCTION, None)  # fmt: skip


def test_M3_names_on_the_server_is_the_client_certificate_subject() -> None:
    """M3/T14: with a client certificate the server's NAMES is its subject."""
    conn = connect(client_cert_cred(), asc_flags=ASC_FLAGS | ASC_REQ_MUTUAL_AUTH)
    assert QueryContextAttributes(conn.sctx, SECPKG_ATTR_NAMES)[1].sUserName == "CN=alice"


def test_M3_before_completion_and_case34_after_delete() -> None:
    """M3 [34]: before completion only PACKAGE_INFO answers; after delete → INVALID_HANDLE."""
    _, ctx = client_after_hello()
    assert QueryContextAttributes(ctx, SECPKG_ATTR_PACKAGE_INFO)[0] == SEC_E_OK
    assert QueryContextAttributes(ctx, SECPKG_ATTR_STREAM_SIZES) == (SEC_E_INVALID_HANDLE, None)
    assert DeleteSecurityContext(ctx) == SEC_E_OK
    for attribute in (SECPKG_ATTR_REMOTE_CERT_CONTEXT, SECPKG_ATTR_PACKAGE_INFO):
        assert QueryContextAttributes(ctx, attribute) == (SEC_E_INVALID_HANDLE, None)
