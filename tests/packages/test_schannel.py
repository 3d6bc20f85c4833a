"""Schannel package (sans-IO, OpenSSL through memory BIOs): plain synchronous tests, no event loop.

Handshake sequences, messages, credentials and server-certificate validation (SPEC §4 C1–C3,
T6, T8, T10; §5 M1–M4; reference §8 cases 3, 4, 7, 38, 41, 47, 49).
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from sspi_async._flags import (
    ISC_REQ_MANUAL_CRED_VALIDATION,
    SECPKG_ATTR_REMOTE_CERT_CONTEXT,
    SECPKG_CRED_BOTH,
    SECPKG_CRED_INBOUND,
    SECPKG_CRED_OUTBOUND,
    SP_PROT_TLS1_0_CLIENT,
    SP_PROT_TLS1_0_SERVER,
    SP_PROT_TLS1_2_CLIENT,
    SP_PROT_TLS1_2_SERVER,
    SP_PROT_TLS1_3_CLIENT,
    SP_PROT_TLS1_3_SERVER,
    TLS1_ALERT_BAD_CERTIFICATE,
    TLS1_ALERT_CLOSE_NOTIFY,
    TLS1_ALERT_FATAL,
    TLS1_ALERT_WARNING,
    Role,
)
from sspi_async._status import SEC_SUCCESS
from sspi_async._status import SecurityStatus as S
from sspi_async._values import filetime_from_datetime
from sspi_async.packages import ContextRequest, DecryptResult, PackageError, StepResult
from sspi_async.packages._records import split_records
from sspi_async.packages.schannel import SchannelConfig
from sspi_async.packages.schannel._config import FAR_FUTURE_EXPIRY
from tests.facade.schannel_helpers import offered_versions
from tests.packages.schannel_support import (
    CONTINUE,
    OK,
    PKG,
    TARGET,
    absorb_tickets,
    certs,
    client,
    connected,
    drive,
    presenting,
    record_list,
    server,
    tls12_client,
)

# --------------------------------------------------------------------------- T8, T6, M2 tickets


def test_T8_tls13_sequence_with_session_tickets() -> None:
    """T8: TLS 1.3 — client CONTINUE, OK(Finished); server CONTINUE, OK(session tickets)."""
    c, _s, run = connected()
    assert run.shape == ([CONTINUE, OK], [CONTINUE, OK])
    assert run.client[-1].output, "the client's OK carries its Finished"
    assert run.leftover == run.server[-1].output
    assert run.leftover
    assert all(r[0] == 0x17 for r in record_list(run.leftover))
    assert c.query(0x64).dwProtocol == 0x0304  # CIPHER_INFO


def test_T8_tls12_sequence_server_ok_carries_a_token() -> None:
    """T8 [41]: TLS 1.2 — client CONTINUE, CONTINUE, OK(empty); server CONTINUE, OK(token)."""
    _c, s, run = connected(tls12_client())
    assert run.shape == ([CONTINUE, CONTINUE, OK], [CONTINUE, OK])
    assert run.server[-1].output
    assert run.client[-1].output == b""
    assert run.client[-1].consumed == len(run.server[-1].output)
    assert s.query(0x64).dwProtocol == 0x0303


def test_T8_tls13_without_session_tickets_server_ok_is_empty() -> None:
    """T8: session_tickets=False → the TLS 1.3 server's OK has no output."""
    _, _, run = connected(server_config=presenting(certs().server, session_tickets=False))
    assert run.shape == ([CONTINUE, OK], [CONTINUE, OK])
    assert run.server[-1].output == b""


def test_T6_bytes_after_the_completing_record_are_not_consumed() -> None:
    """T6: Finished + an application record → OK, consumed ends at the Finished; it decrypts."""
    c, s = client(), server()
    flight = s.step(c.step(b"").output).output
    finished = c.step(flight)
    assert finished.status == OK
    header, body, trailer = c.encrypt(b"early data")
    record = header + body + trailer
    result = s.step(finished.output + record)
    assert (result.status, result.consumed) == (OK, len(finished.output))
    assert s.decrypt(record) == DecryptResult(OK, b"early data")


def test_M2_each_ticket_decrypts_to_renegotiate_then_step_is_ok() -> None:
    """M2: every TLS 1.3 ticket record → SEC_I_RENEGOTIATE; step(b"") → OK, no output."""
    c, s, run = connected()
    tickets = list(record_list(run.leftover))
    assert len(tickets) >= 1
    for ticket in tickets:
        assert c.decrypt(ticket) == DecryptResult(S.SEC_I_RENEGOTIATE, b"")
        assert c.step(b"") == StepResult(OK, b"", 0)
    header, body, trailer = s.encrypt(b"after tickets")
    assert c.decrypt(header + body + trailer) == DecryptResult(OK, b"after tickets")


def test_M2_renegotiate_follow_up_leaves_application_data_unconsumed() -> None:
    """M2: the follow-up step after SEC_I_RENEGOTIATE consumes none of the EXTRA bytes."""
    c, s, run = connected()
    first = next(record_list(run.leftover))
    assert c.decrypt(first).status == S.SEC_I_RENEGOTIATE
    header, body, trailer = s.encrypt(b"data")
    assert c.step(header + body + trailer) == StepResult(OK, b"", 0)


# --------------------------------------------------------------------------- M1, M2, M3, M4


SHAPES = {
    "tls13": (None, (5, 17)),
    "tls12-aes-gcm": (tls12_client, (13, 16)),
    "tls12-chacha20": (
        lambda: tls12_client(cipher_suites=("TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",)),
        (5, 16),
    ),
}


@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("size", [1, 1000, 16384])
def test_M1_encrypt_splits_exactly_one_record(shape: str, size: int) -> None:
    """M1/M3: header/body/trailer have the STREAM_SIZES lengths; together one record."""
    make, (cb_header, cb_trailer) = SHAPES[shape]
    c, s, _ = connected(make() if make else None)
    sizes = c.stream_sizes()
    assert (sizes.cbHeader, sizes.cbTrailer, sizes.cbMaximumMessage, sizes.cBuffers) == (
        cb_header,
        cb_trailer,
        16384,
        4,
    )
    plaintext = os.urandom(size)
    header, body, trailer = c.encrypt(plaintext)
    assert (len(header), len(body), len(trailer)) == (cb_header, size, cb_trailer)
    record = header + body + trailer
    assert record[:3] == b"\x17\x03\x03"
    assert int.from_bytes(record[3:5], "big") == len(record) - 5
    assert s.decrypt(record) == DecryptResult(OK, plaintext)


def test_M1_encrypt_refusals() -> None:
    """M1: no DATA, oversize DATA, short header/trailer, fQOP and empty DATA are refused."""
    fresh = client()
    fresh.step(b"")
    with pytest.raises(PackageError) as early:
        fresh.encrypt(b"x")
    assert early.value.status == S.SEC_E_UNSUPPORTED_FUNCTION
    assert fresh.decrypt(b"\x17\x03\x03\x00\x01x").status == S.SEC_E_UNSUPPORTED_FUNCTION
    c, _, _ = connected()
    for data, status in (
        (b"", S.SEC_E_INVALID_PARAMETER),
        (bytes(16385), S.SEC_E_BUFFER_TOO_SMALL),
    ):
        with pytest.raises(PackageError) as refused:
            c.encrypt(data)
        assert refused.value.status == status
    c.alert(TLS1_ALERT_WARNING, TLS1_ALERT_CLOSE_NOTIFY)
    with pytest.raises(PackageError) as closed:
        c.encrypt(b"late")
    assert closed.value.status == S.SEC_E_CONTEXT_EXPIRED


@pytest.mark.parametrize("tls12", [False, True], ids=["tls13", "tls12"])
@pytest.mark.parametrize("where", [5, -1], ids=["body", "tag"])
def test_M2_tampered_record_is_message_altered_and_sticky(tls12: bool, where: int) -> None:
    """M2/T11: a flipped bit → MESSAGE_ALTERED; the failure sticks; the next step sends an alert."""
    c, s, _ = connected(tls12_client() if tls12 else None)
    record = bytearray(b"".join(c.encrypt(b"integrity")))
    record[where] ^= 0x01
    assert s.decrypt(bytes(record)).status == S.SEC_E_MESSAGE_ALTERED
    assert s.decrypt(b"".join(c.encrypt(b"valid"))).status == S.SEC_E_MESSAGE_ALTERED
    with pytest.raises(PackageError):
        s.encrypt(b"no")
    handed_out = s.step(b"")
    assert handed_out.status == S.SEC_E_MESSAGE_ALTERED
    assert handed_out.output
    assert split_records(handed_out.output)[0] == len(handed_out.output)
    assert s.step(b"") == StepResult(S.SEC_E_MESSAGE_ALTERED, b"")


@pytest.mark.parametrize("tls12", [False, True], ids=["tls13", "tls12"])
def test_M2_close_notify_is_context_expired(tls12: bool) -> None:
    """M2/M4: SHUTDOWN + ASC → one close_notify record → client SEC_I_CONTEXT_EXPIRED."""
    c, s, run = connected(tls12_client() if tls12 else None)
    absorb_tickets(c, run)
    record = s.alert(TLS1_ALERT_WARNING, TLS1_ALERT_CLOSE_NOTIFY)
    assert len(list(record_list(record))) == 1
    assert record[0] == (0x15 if tls12 else 0x17)
    assert s.alert(TLS1_ALERT_WARNING, TLS1_ALERT_CLOSE_NOTIFY) == b""
    assert c.decrypt(record).status == S.SEC_I_CONTEXT_EXPIRED
    assert c.decrypt(record).status == S.SEC_E_CONTEXT_EXPIRED


def test_M4_alerts_before_completion_are_plaintext_records() -> None:
    """M4 [47, 49]: before completion an alert is a plaintext record; a fatal one ends the context."""
    c = client()
    hello = c.step(b"")
    assert c.alert(TLS1_ALERT_WARNING, TLS1_ALERT_CLOSE_NOTIFY) == bytes.fromhex("1503030002 0100")
    fatal = c.alert(TLS1_ALERT_FATAL, TLS1_ALERT_BAD_CERTIFICATE)
    assert fatal == bytes.fromhex("15 03 03 00 02 02 2a")
    assert c.step(server().step(hello.output).output).status == S.SEC_E_CONTEXT_EXPIRED


def test_M4_only_close_notify_after_completion() -> None:
    """M4: after the handshake another alert is refused (OpenSSL cannot send it)."""
    c, _, _ = connected()
    with pytest.raises(PackageError) as refused:
        c.alert(TLS1_ALERT_FATAL, TLS1_ALERT_BAD_CERTIFICATE)
    assert refused.value.status == S.SEC_E_UNSUPPORTED_FUNCTION


# --------------------------------------------------------------------------- C1, C2, C3


def _other_key() -> bytes:
    return certs().stranger.key_pem


def _encrypted_key(password: bytes) -> bytes:
    key = load_pem_private_key(certs().server.key_pem, None)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(password),
    )


BAD_PEM = b"-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n"

REFUSALS: dict[str, tuple[int, Any, int]] = {
    "inbound-none": (SECPKG_CRED_INBOUND, lambda: None, S.SEC_E_NO_CREDENTIALS),
    "both-no-cert": (SECPKG_CRED_BOTH, lambda: SchannelConfig(), S.SEC_E_NO_CREDENTIALS),
    "cert-without-key": (
        SECPKG_CRED_INBOUND,
        lambda: SchannelConfig(certificate_chain=certs().server.chain_pem),
        S.SEC_E_NO_CREDENTIALS,
    ),
    "garbage-pem": (
        SECPKG_CRED_INBOUND,
        lambda: SchannelConfig(certificate_chain=BAD_PEM, private_key=certs().server.key_pem),
        S.SEC_E_UNKNOWN_CREDENTIALS,
    ),
    "not-pem": (
        SECPKG_CRED_OUTBOUND,
        lambda: SchannelConfig(certificate_chain=b"hello"),
        S.SEC_E_UNKNOWN_CREDENTIALS,
    ),
    "garbage-key": (
        SECPKG_CRED_INBOUND,
        lambda: dataclasses.replace(presenting(certs().server), private_key=b"-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n"),
        S.SEC_E_UNKNOWN_CREDENTIALS,
    ),
    "mismatched-key": (
        SECPKG_CRED_INBOUND,
        lambda: dataclasses.replace(presenting(certs().server), private_key=_other_key()),
        S.SEC_E_UNKNOWN_CREDENTIALS,
    ),
    "wrong-password": (
        SECPKG_CRED_INBOUND,
        lambda: dataclasses.replace(presenting(certs().server), private_key=_encrypted_key(b"right"), key_password=b"wrong"),
        S.SEC_E_UNKNOWN_CREDENTIALS,
    ),
    "missing-password": (
        SECPKG_CRED_INBOUND,
        lambda: dataclasses.replace(presenting(certs().server), private_key=_encrypted_key(b"right")),
        S.SEC_E_UNKNOWN_CREDENTIALS,
    ),
    "key-without-cert": (
        SECPKG_CRED_OUTBOUND,
        lambda: SchannelConfig(private_key=certs().server.key_pem),
        S.SEC_E_UNKNOWN_CREDENTIALS,
    ),
    "bad-roots": (
        SECPKG_CRED_OUTBOUND,
        lambda: SchannelConfig(trusted_roots=b"no certificates here"),
        S.SEC_E_UNKNOWN_CREDENTIALS,
    ),
    "unknown-suite": (
        SECPKG_CRED_OUTBOUND,
        lambda: SchannelConfig(cipher_suites=("TLS_RSA_WITH_RC4_128_MD5",)),
        S.SEC_E_UNKNOWN_CREDENTIALS,
    ),
    "not-a-config": (SECPKG_CRED_OUTBOUND, lambda: {"alpn": ["h2"]}, S.SEC_E_UNKNOWN_CREDENTIALS),
    "use-0": (0, lambda: None, S.SEC_E_NO_CREDENTIALS),
    "use-default": (4, lambda: None, S.SEC_E_NO_CREDENTIALS),
    "case4-server-bits-outbound": (
        SECPKG_CRED_OUTBOUND,
        lambda: SchannelConfig(protocols=SP_PROT_TLS1_2_SERVER | SP_PROT_TLS1_3_SERVER),
        S.SEC_E_ALGORITHM_MISMATCH,
    ),
    "case4-client-bits-inbound": (
        SECPKG_CRED_INBOUND,
        lambda: presenting(certs().server, protocols=SP_PROT_TLS1_2_CLIENT | SP_PROT_TLS1_3_CLIENT),
        S.SEC_E_ALGORITHM_MISMATCH,
    ),
    "tls10-only": (
        SECPKG_CRED_OUTBOUND,
        lambda: SchannelConfig(protocols=SP_PROT_TLS1_0_CLIENT | SP_PROT_TLS1_0_SERVER),
        S.SEC_E_ALGORITHM_MISMATCH,
    ),
    "tls13-suites-tls12-only": (
        SECPKG_CRED_OUTBOUND,
        lambda: SchannelConfig(protocols=SP_PROT_TLS1_2_CLIENT, cipher_suites=("TLS_AES_128_GCM_SHA256",)),
        S.SEC_E_ALGORITHM_MISMATCH,
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", list(REFUSALS))
def test_C2_refused_credentials(case: str) -> None:
    """C1/C2 [2–4, 7]: each bad credential is refused with its status, and no key in the message."""
    use, make, status = REFUSALS[case]
    with pytest.raises(PackageError) as refused:
        PKG.acquire_credentials(None, use, make())
    assert refused.value.status == status
    assert "PRIVATE KEY" not in str(refused.value)
    assert certs().server.key_pem.decode().splitlines()[1] not in str(refused.value)


@pytest.mark.parametrize(
    ("use", "config"),
    [
        (SECPKG_CRED_OUTBOUND, lambda: None),
        (SECPKG_CRED_OUTBOUND, lambda: SchannelConfig(protocols=SP_PROT_TLS1_2_CLIENT)),
        (SECPKG_CRED_INBOUND, lambda: presenting(certs().server, protocols=SP_PROT_TLS1_3_SERVER)),
        (SECPKG_CRED_INBOUND, lambda: dataclasses.replace(presenting(certs().server), private_key=_encrypted_key(b"pw"), key_password=b"pw")),
        (SECPKG_CRED_BOTH, lambda: presenting(certs().server)),
        (SECPKG_CRED_INBOUND, lambda: SchannelConfig(certificate_chain=certs().server.chain_pem + certs().server.key_pem)),
    ],
    ids=["anonymous-client", "case4-client-bits", "case4-server-bits", "encrypted-key", "both", "key-in-chain"],
)  # fmt: skip
def test_C2_accepted_credentials(use: int, config: Any) -> None:
    """C2 [3, 4]: anonymous clients, matching protocol bits, encrypted keys and BOTH are fine."""
    assert PKG.acquire_credentials(None, use, config()).use == use


def test_C3_expiry_is_the_certificates_not_after() -> None:
    """C3: a credential with a certificate expires at its notAfter; one without, far away."""
    cert = certs().server.certificate
    cred = PKG.acquire_credentials(None, SECPKG_CRED_INBOUND, presenting(certs().server))
    assert cred.expiry == filetime_from_datetime(cert.not_valid_after_utc)
    anonymous = PKG.acquire_credentials(None, SECPKG_CRED_OUTBOUND, None)
    assert anonymous.expiry == FAR_FUTURE_EXPIRY > cred.expiry


def test_C2_credential_of_another_package_is_invalid_handle() -> None:
    """C4: new_context with a credential that is not Schannel's → SEC_E_INVALID_HANDLE."""
    with pytest.raises(PackageError) as refused:
        PKG.new_context(object(), ContextRequest(Role.CLIENT, None, 0, None, os.urandom))  # type: ignore[arg-type]
    assert refused.value.status == S.SEC_E_INVALID_HANDLE


# --------------------------------------------------------------------------- T10


VERIFY_FAILURES = {
    "untrusted": (lambda: (SchannelConfig(trusted_roots=certs().other.cert_pem), certs().server), TARGET, S.SEC_E_UNTRUSTED_ROOT),
    "expired": (lambda: (None, certs().expired), TARGET, S.SEC_E_CERT_EXPIRED),
    "not-yet-valid": (lambda: (None, certs().not_yet_valid), TARGET, S.SEC_E_CERT_EXPIRED),
    "wrong-name": (lambda: (None, certs().server), "other.example", S.SEC_E_WRONG_PRINCIPAL),
    "untrusted-no-target": (lambda: (SchannelConfig(trusted_roots=certs().other.cert_pem), certs().server), None, S.SEC_E_UNTRUSTED_ROOT),
}  # fmt: skip


@pytest.mark.parametrize("case", list(VERIFY_FAILURES))
@pytest.mark.parametrize("tls12", [False, True], ids=["tls13", "tls12"])
def test_T10_server_certificate_validation(case: str, tls12: bool) -> None:
    """T10/T11: the client refuses a bad server certificate; its alert fails the server too."""
    make, target, status = VERIFY_FAILURES[case]
    config, cert = make()
    if tls12:
        config = dataclasses.replace(config or tls12_client(), protocols=SP_PROT_TLS1_2_CLIENT)
    c, s = client(config, target=target), server(presenting(cert))
    run = drive(c, s)
    assert run.client[-1].status == status
    assert run.client[-1].output, "the client sends an alert"
    assert not SEC_SUCCESS(run.server[-1].status)
    assert not c.complete


@pytest.mark.parametrize("case", list(VERIFY_FAILURES))
def test_T10_manual_cred_validation_skips_validation(case: str) -> None:
    """T10: ISC_REQ_MANUAL_CRED_VALIDATION → OK; the certificate is there to inspect."""
    make, target, _ = VERIFY_FAILURES[case]
    config, cert = make()
    c, s = (
        client(config, target=target, flags=ISC_REQ_MANUAL_CRED_VALIDATION),
        server(presenting(cert)),
    )
    drive(c, s)
    assert c.complete
    assert c.query(SECPKG_ATTR_REMOTE_CERT_CONTEXT).pbCertEncoded == cert.der


def test_T10_no_target_name_skips_only_the_name_check() -> None:
    """T10: without pszTargetName the chain is verified but any name is accepted."""
    c, s = client(target=None), server(presenting(certs().ca.issue("elsewhere.example")))
    drive(c, s)
    assert c.complete
    assert s.complete


@pytest.mark.parametrize("name", ["a..b", "nul\x00name", ".", "x" * 300])
def test_T10_unusable_target_name_is_target_unknown(name: str) -> None:
    """T10: a pszTargetName OpenSSL cannot use as a host name → SEC_E_TARGET_UNKNOWN."""
    with pytest.raises(PackageError) as refused:
        client(target=name)
    assert refused.value.status == S.SEC_E_TARGET_UNKNOWN


@pytest.mark.parametrize(
    ("protocols", "versions"),
    [
        (None, {0x0303, 0x0304}),
        (SP_PROT_TLS1_2_CLIENT, {0x0303}),
        (SP_PROT_TLS1_3_CLIENT, {0x0304}),
    ],
)
def test_T10_nothing_below_tls12_is_offered(protocols: int | None, versions: set[int]) -> None:
    """T10: the ClientHello offers TLS 1.2/1.3 only (legacy_version 0x0303)."""
    fields = {"protocols": protocols} if protocols else {}
    hello = client(SchannelConfig(trusted_roots=certs().ca.cert_pem, **fields)).step(b"").output
    legacy, supported = offered_versions(hello)
    assert legacy == 0x0303
    assert set(supported or [0x0303]) == versions
