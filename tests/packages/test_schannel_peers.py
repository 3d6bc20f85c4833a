"""Schannel package, plain synchronous tests: ALPN, client certificates and mapping, the OpenSSL
error table, the conformance checker and fuzzing (SPEC §4 T11, T12, T14; §7 I1, I3; §8;
reference §8 cases 39–42).
"""

from __future__ import annotations

import dataclasses
import ssl
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sspi_async._flags import (
    ASC_REQ_DELEGATE,
    ASC_REQ_MUTUAL_AUTH,
    ASC_RET_MUTUAL_AUTH,
    SECPKG_ATTR_APPLICATION_PROTOCOL,
    SECPKG_ATTR_REMOTE_CERT_CONTEXT,
)
from sspi_async._status import SEC_SUCCESS
from sspi_async._status import SecurityStatus as S
from sspi_async.packages import ContextRequest, DecryptResult, PackageError, StepResult
from sspi_async.packages.schannel import SchannelConfig, SchannelContext, SchannelPackage
from sspi_async.packages.schannel._translate import (
    ALERT_REASONS,
    reason_name,
    status_for_ssl_error,
)
from sspi_async.testing import IssuedCertificate, check_package
from tests.packages.schannel_support import (
    CONTINUE,
    OK,
    TARGET,
    Run,
    certs,
    client,
    drive,
    presenting,
    server,
    tls12_client,
)

# --------------------------------------------------------------------------- T12 ALPN


def _selected(ctx: SchannelContext) -> bytes | None:
    value = ctx.query(SECPKG_ATTR_APPLICATION_PROTOCOL)
    if value.ProtoNegoStatus == 0:
        assert (value.ProtoNegoExt, value.ProtocolIdSize, value.ProtocolId) == (0, 0, b"")
        return None
    assert (value.ProtoNegoStatus, value.ProtoNegoExt) == (1, 2)
    assert value.ProtocolIdSize == len(value.ProtocolId)
    return bytes(value.ProtocolId)


@pytest.mark.parametrize("via", ["credential", "input-buffer"])
def test_T12_server_picks_its_first_preference(via: str) -> None:
    """T12 [39, 42]: the server selects its first preference the client offers."""
    offer = ("h2", "http/1.1")
    if via == "credential":
        c = client(SchannelConfig(trusted_roots=certs().ca.cert_pem, alpn=offer))
    else:
        c = client(alpn=tuple(p.encode() for p in offer))
    s = server(presenting(certs().server, alpn=("spdy/3", "http/1.1", "h2")))
    drive(c, s)
    assert _selected(c) == _selected(s) == b"http/1.1"


def test_T12_server_preferences_from_its_first_input() -> None:
    """T12 [40]: an APPLICATION_PROTOCOLS input of the first ASC sets the server's preferences."""
    c = client(alpn=(b"h2", b"http/1.1"))
    s = server(presenting(certs().server, alpn=("h2",)), alpn=(b"http/1.1",))
    drive(c, s)
    assert _selected(c) == _selected(s) == b"http/1.1"


def test_T12_no_overlap_means_no_protocol() -> None:
    """T12: no common protocol, ALPN not required → the handshake completes without one."""
    c = client(alpn=(b"h2",))
    s = server(presenting(certs().server, alpn=("http/1.1",)))
    drive(c, s)
    assert c.complete
    assert s.complete
    assert _selected(c) is _selected(s) is None


@pytest.mark.parametrize("offer", [(b"h2",), None], ids=["no-overlap", "no-offer"])
def test_T12_required_alpn_without_overlap_is_a_mismatch(offer: tuple[bytes, ...] | None) -> None:
    """T12: alpn_required, no overlap → APPLICATION_PROTOCOL_MISMATCH both sides, alert 120."""
    c = client(alpn=offer)
    s = server(presenting(certs().server, alpn=("http/1.1",), alpn_required=True))
    run = drive(c, s)
    assert run.server[-1] == StepResult(
        S.SEC_E_APPLICATION_PROTOCOL_MISMATCH,
        bytes.fromhex("15 03 03 00 02 02 78"),
        run.server[-1].consumed,
    )
    assert run.client[-1].status == S.SEC_E_APPLICATION_PROTOCOL_MISMATCH
    assert s.step(b"").status == S.SEC_E_APPLICATION_PROTOCOL_MISMATCH


def test_T12_non_ascii_protocol_id_is_invalid_token() -> None:
    """T12: an ALPN id OpenSSL cannot take (not ASCII) → SEC_E_INVALID_TOKEN."""
    with pytest.raises(PackageError) as refused:
        client(alpn=("caf\u00e9".encode(),))
    assert refused.value.status == S.SEC_E_INVALID_TOKEN


# --------------------------------------------------------------------------- T14, I1, I3


def _mutual(
    mapping: Any = None, cert: IssuedCertificate | None = None
) -> tuple[SchannelContext, SchannelContext, Run]:
    c = client(presenting(cert or certs().client))
    s = server(
        presenting(certs().server, client_certificate_mapping=mapping), flags=ASC_REQ_MUTUAL_AUTH
    )
    return c, s, drive(c, s)


@pytest.mark.parametrize(
    ("mapping", "account"),
    [
        (None, None),
        ("common_name", "alice"),
        ("upn", "alice@example.com"),
        ("fingerprint", "EXAMPLE\\alice"),
        ({"00" * 32: "nobody"}, None),
    ],
    ids=["none", "common_name", "upn", "fingerprint", "fingerprint-miss"],
)
def test_T14_mutual_auth_gives_the_server_the_client_certificate(
    mapping: Any, account: str | None
) -> None:
    """T14: MUTUAL_AUTH + client certificate → ASC_RET_MUTUAL_AUTH, NAMES, REMOTE_CERT_CONTEXT."""
    if mapping == "fingerprint":
        mapping = {certs().client.fingerprint: account}
    c, s, run = _mutual(mapping)
    assert run.shape == ([CONTINUE, OK], [CONTINUE, OK])
    assert run.server[-1].attributes & ASC_RET_MUTUAL_AUTH
    peer = s.peer()
    assert peer is not None
    assert (peer.principal, peer.name, peer.certificate) == (
        account,
        "CN=alice",
        certs().client.der,
    )
    assert not peer.identify_only
    assert not peer.anonymous_token
    chain = s.query(SECPKG_ATTR_REMOTE_CERT_CONTEXT).chain
    assert chain[0] == certs().client.der
    assert len(chain) == 2
    client_view = c.peer()
    assert client_view is not None
    assert client_view.name == "CN=localhost"


def test_T14_upn_mapping_without_a_upn_maps_to_no_account() -> None:
    """I1: "upn" mapping and a certificate without a UPN → no account (no impersonation)."""
    _, s, _ = _mutual("upn", certs().ca.issue("bob"))
    peer = s.peer()
    assert peer is not None
    assert peer.principal is None
    assert peer.name == "CN=bob"


def test_T14_mutual_auth_without_a_client_certificate_completes_anonymously() -> None:
    """T14: MUTUAL_AUTH only asks; a client without a certificate still completes."""
    c, s = client(), server(flags=ASC_REQ_MUTUAL_AUTH)
    run = drive(c, s)
    assert run.shape == ([CONTINUE, OK], [CONTINUE, OK])
    assert not run.server[-1].attributes & ASC_RET_MUTUAL_AUTH
    assert s.peer() == dataclasses.replace(s.peer(), principal=None, certificate=None)  # type: ignore[arg-type]
    with pytest.raises(PackageError) as none:
        s.query(SECPKG_ATTR_REMOTE_CERT_CONTEXT)
    assert none.value.status == S.SEC_E_NO_CREDENTIALS


def test_T14_without_mutual_auth_the_server_does_not_ask() -> None:
    """T14: without ASC_REQ_MUTUAL_AUTH a client certificate is never requested."""
    c, s = client(presenting(certs().client)), server()
    drive(c, s)
    peer = s.peer()
    assert peer is not None
    assert peer.certificate is None


def test_T14_untrusted_client_certificate_fails_the_server() -> None:
    """T14/T11: a client certificate from an untrusted CA → the server fails UNTRUSTED_ROOT."""
    _, s, run = _mutual(cert=certs().stranger)
    assert run.server[-1].status == S.SEC_E_UNTRUSTED_ROOT
    assert not s.complete


def test_T14_required_client_certificate_missing_tls13() -> None:
    """T14: TLS 1.3, no client certificate → server LOGON_DENIED; the client fails on its alert."""
    c = client()
    s = server(presenting(certs().server, require_client_certificate=True))
    run = drive(c, s)
    assert run.shape == ([CONTINUE, OK], [CONTINUE, S.SEC_E_LOGON_DENIED])
    alert = run.server[-1].output
    assert alert
    assert c.decrypt(alert).status == S.SEC_E_LOGON_DENIED


def test_T14_required_client_certificate_missing_tls12() -> None:
    """T14: TLS 1.2, no client certificate → both sides fail the handshake."""
    c = client(tls12_client())
    s = server(presenting(certs().server, require_client_certificate=True))
    run = drive(c, s)
    assert run.server[-1].status == S.SEC_E_LOGON_DENIED
    assert not SEC_SUCCESS(run.client[-1].status)
    assert not c.complete
    assert not s.complete


def test_I3_delegate_is_unsupported() -> None:
    """I3: ASC_REQ_DELEGATE → SEC_E_UNSUPPORTED_FUNCTION (Schannel never delegates)."""
    with pytest.raises(PackageError) as refused:
        server(flags=ASC_REQ_DELEGATE)
    assert refused.value.status == S.SEC_E_UNSUPPORTED_FUNCTION


# --------------------------------------------------------------------------- _translate


def _ssl_error(
    cls: type[ssl.SSLError] = ssl.SSLError, text: str = "x", **attrs: Any
) -> ssl.SSLError:
    exc = cls(1, text)
    for name, value in attrs.items():
        setattr(exc, name, value)
    return exc


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (_ssl_error(ssl.SSLCertVerificationError, verify_code=10), S.SEC_E_CERT_EXPIRED),
        (_ssl_error(ssl.SSLCertVerificationError, verify_code=9), S.SEC_E_CERT_EXPIRED),
        (_ssl_error(ssl.SSLCertVerificationError, verify_code=62), S.SEC_E_WRONG_PRINCIPAL),
        (_ssl_error(ssl.SSLCertVerificationError, verify_code=64), S.SEC_E_WRONG_PRINCIPAL),
        (_ssl_error(ssl.SSLCertVerificationError, verify_code=26), S.SEC_E_CERT_WRONG_USAGE),
        (_ssl_error(ssl.SSLCertVerificationError, verify_code=20), S.SEC_E_UNTRUSTED_ROOT),
        (_ssl_error(ssl.SSLCertVerificationError), S.SEC_E_UNTRUSTED_ROOT),
        (_ssl_error(ssl.SSLZeroReturnError), S.SEC_E_CONTEXT_EXPIRED),
        (_ssl_error(reason="TLSV1_ALERT_UNKNOWN_CA"), S.SEC_E_UNTRUSTED_ROOT),
        (_ssl_error(reason="SSLV3_ALERT_BAD_RECORD_MAC"), S.SEC_E_MESSAGE_ALTERED),
        (_ssl_error(reason="SSLV3_ALERT_HANDSHAKE_FAILURE"), S.SEC_E_ALGORITHM_MISMATCH),
        (_ssl_error(reason="TLSV13_ALERT_CERTIFICATE_REQUIRED"), S.SEC_E_LOGON_DENIED),
        (_ssl_error(reason="TLSV1_ALERT_PROTOCOL_VERSION"), S.SEC_E_UNSUPPORTED_FUNCTION),
        (_ssl_error(reason="NO_SHARED_CIPHER"), S.SEC_E_ALGORITHM_MISMATCH),
        (_ssl_error(reason="WRONG_VERSION_NUMBER"), S.SEC_E_UNSUPPORTED_FUNCTION),
        (_ssl_error(reason="PEER_DID_NOT_RETURN_A_CERTIFICATE"), S.SEC_E_LOGON_DENIED),
        (_ssl_error(reason="DECRYPTION_FAILED_OR_BAD_RECORD_MAC"), S.SEC_E_MESSAGE_ALTERED),
        (_ssl_error(reason="BAD_SIGNATURE"), S.SEC_E_DECRYPT_FAILURE),
        (_ssl_error(reason="CERTIFICATE_VERIFY_FAILED"), S.SEC_E_UNTRUSTED_ROOT),
        (_ssl_error(reason="SOMETHING_NEW"), S.SEC_E_ILLEGAL_MESSAGE),
        (_ssl_error(reason=None), S.SEC_E_ILLEGAL_MESSAGE),
        (_ssl_error(), S.SEC_E_ILLEGAL_MESSAGE),
        (_ssl_error(text="[SSL] tlsv1 alert no application protocol (_ssl.c:1006)", reason=None), S.SEC_E_APPLICATION_PROTOCOL_MISMATCH),
        (_ssl_error(text="[SSL] tlsv1 alert unknown psk identity (_ssl.c:1006)"), S.SEC_E_LOGON_DENIED),
    ],
)  # fmt: skip
def test_translate_status_for_ssl_error(exc: ssl.SSLError, status: int) -> None:
    """T10/T11: the one OpenSSL → SECURITY_STATUS table, including reasons CPython cannot name."""
    assert status_for_ssl_error(exc) == status


def test_translate_every_alert_reason_is_an_error_status() -> None:
    """T11: every received-alert reason maps to an error status, never a success code."""
    for reason in ALERT_REASONS:
        exc = _ssl_error(reason=reason)
        assert reason_name(exc) == reason
        assert not SEC_SUCCESS(status_for_ssl_error(exc)), reason


# --------------------------------------------------------------------------- conformance, fuzzing


def _conformance_args() -> dict[str, Any]:
    return {
        "client_auth_data": SchannelConfig(trusted_roots=certs().ca.cert_pem),
        "server_auth_data": presenting(certs().server),
        "target_name": TARGET,
    }


def test_check_package_passes() -> None:
    """SPEC §8: check_package(SchannelPackage) passes: TLS 1.3 session tickets go through
    decrypt (SEC_I_RENEGOTIATE, then step → SEC_E_OK) and the empty payload is refused."""
    check_package(SchannelPackage, **_conformance_args())


class _EmptyRecordContext:
    """Delegates to a real context, except that an empty payload is a zero-length "record"."""

    def __init__(self, inner: SchannelContext) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    @property
    def complete(self) -> bool:
        return self._inner.complete

    def encrypt(self, plaintext: bytes) -> tuple[bytes, bytes, bytes]:
        return (b"", b"", b"") if not plaintext else self._inner.encrypt(plaintext)

    def decrypt(self, record: bytes) -> DecryptResult:
        return DecryptResult(OK) if not record else self._inner.decrypt(record)


class _SchannelWithoutEmptyRecords(SchannelPackage):
    def new_context(self, credential: Any, request: ContextRequest) -> Any:
        return _EmptyRecordContext(super().new_context(credential, request))


@pytest.mark.parametrize("shape", ["tls13-no-tickets", "tls12"])
def test_check_package_passes_apart_from_empty_records(shape: str) -> None:
    """SPEC §8: with empty payloads stubbed and no TLS 1.3 tickets, Schannel passes check_package."""
    args = _conformance_args()
    if shape == "tls12":
        args["client_auth_data"] = tls12_client()
    else:
        args["server_auth_data"] = presenting(certs().server, session_tickets=False)
    check_package(_SchannelWithoutEmptyRecords, **args)


FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.binary(min_size=1, max_size=600))
def test_fuzz_random_bytes_never_complete_a_server(data: bytes) -> None:
    """T5/T11: random bytes to a server: never raises, never OK, and a failure is sticky."""
    s = server()
    first = s.step(data)
    assert first.status != OK
    assert 0 <= first.consumed <= len(data)
    if not SEC_SUCCESS(first.status):
        assert s.step(data).status == first.status


@FUZZ
@given(st.integers(0, 255), st.binary(max_size=300))
def test_fuzz_whole_random_handshake_messages_fail_a_server(kind: int, body: bytes) -> None:
    """T5/T11: a whole handshake record holding one random message → always an error status."""
    message = bytes((kind,)) + len(body).to_bytes(3, "big") + body
    record = b"\x16\x03\x03" + len(message).to_bytes(2, "big") + message
    assert not SEC_SUCCESS(server().step(record).status)


@FUZZ
@given(st.data())
def test_fuzz_mutated_server_flight_never_raises(data: st.DataObject) -> None:
    """T11: a server flight with one byte changed never raises; an OK really works."""
    c, s = client(), server()
    flight = bytearray(s.step(c.step(b"").output).output)
    index = data.draw(st.integers(0, 1 << 16)) % len(flight)  # lengths vary run to run
    flight[index] ^= data.draw(st.integers(1, 255))
    result = c.step(bytes(flight))
    assert result.status in (OK, CONTINUE) or not SEC_SUCCESS(result.status)
    if result.status == OK:
        assert s.step(result.output).status == OK
        assert s.decrypt(b"".join(c.encrypt(b"ping"))) == DecryptResult(OK, b"ping")
