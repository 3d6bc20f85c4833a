"""Ephemeral X.509 certificates for tests, examples and ``sspi-async demo`` (``cryptography``).

    ca = CertificateAuthority()
    server = ca.issue("localhost")
    server_cred = server.schannel_cred()                   # for AcceptSecurityContext
    client_cred = SchannelCred(trusted_roots=ca.cert_pem)  # for InitializeSecurityContext

Everything lives in memory; :meth:`IssuedCertificate.write` puts PEM files in a directory for
peers that need files (``openssl s_server``, ``curl --cacert``).
"""

from __future__ import annotations

import datetime as _dt
import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .._core._schannel_cred import SchannelCred
from ..packages.schannel._x509 import UPN_OID

__all__ = ("CertificateAuthority", "IssuedCertificate", "KeyType")

KeyType = Literal["ec", "rsa"]


def _new_key(key_type: KeyType) -> CertificateIssuerPrivateKeyTypes:
    if key_type == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def _pem_key(key: CertificateIssuerPrivateKeyTypes) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _utf8_string(text: str) -> bytes:
    raw = text.encode("utf-8")
    if len(raw) < 0x80:
        return bytes((0x0C, len(raw))) + raw
    size = len(raw).to_bytes((len(raw).bit_length() + 7) // 8, "big")
    return bytes((0x0C, 0x80 | len(size))) + size + raw


@dataclass(frozen=True)
class IssuedCertificate:
    """A certificate and its key, issued by a :class:`CertificateAuthority`.

    Attributes:
        certificate: the parsed certificate.
        cert_pem: the certificate (PEM).
        key_pem: its private key (PEM, unencrypted).
        chain_pem: the certificate followed by its issuer (what a server sends).
    """

    certificate: x509.Certificate
    cert_pem: bytes
    key_pem: bytes = field(repr=False)
    chain_pem: bytes

    @property
    def der(self) -> bytes:
        """The certificate in DER."""
        return self.certificate.public_bytes(serialization.Encoding.DER)

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the DER certificate, lowercase hex (the key of a one-to-one mapping)."""
        return self.certificate.fingerprint(hashes.SHA256()).hex()

    def schannel_cred(self, **options: Any) -> SchannelCred:
        """A :class:`~sspi_async.SchannelCred` presenting this certificate (plus ``options``)."""
        return SchannelCred(certificate_chain=self.chain_pem, private_key=self.key_pem, **options)

    def write(self, directory: Path, stem: str) -> tuple[Path, Path]:
        """Write ``<stem>.pem`` (chain) and ``<stem>.key`` (key, mode 0600); return both paths."""
        cert_path = directory / f"{stem}.pem"
        key_path = directory / f"{stem}.key"
        cert_path.write_bytes(self.chain_pem)
        key_path.touch(mode=0o600)
        key_path.write_bytes(self.key_pem)
        return cert_path, key_path


class CertificateAuthority:
    """A throw-away certificate authority.

    Args:
        key_type: ``"ec"`` (P-256, fast; default) or ``"rsa"`` (2048 bits) for the CA and, by
            default, the certificates it issues.
        name: the CA's common name.
    """

    def __init__(self, *, key_type: KeyType = "ec", name: str = "sspi-async test CA") -> None:
        self.key_type: KeyType = key_type
        self._key = _new_key(key_type)
        now = _dt.datetime.now(_dt.timezone.utc)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _dt.timedelta(hours=1))
            .not_valid_after(now + _dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(self._key.public_key()), critical=False
            )
            .sign(self._key, hashes.SHA256())
        )
        self.cert_pem = self.certificate.public_bytes(serialization.Encoding.PEM)

    def issue(
        self,
        common_name: str,
        *,
        dns_names: tuple[str, ...] | None = None,
        ip_addresses: tuple[str, ...] = ("127.0.0.1",),
        upn: str | None = None,
        not_before: _dt.datetime | None = None,
        not_after: _dt.datetime | None = None,
        key_type: KeyType | None = None,
    ) -> IssuedCertificate:
        """Issue a certificate usable for both TLS server and client authentication.

        Args:
            common_name: the subject CN.
            dns_names: DNS subjectAltNames (default: ``(common_name,)``).
            ip_addresses: IP subjectAltNames (default: 127.0.0.1, for loopback peers).
            upn: a UPN otherName (``alice@example.com``) for ``client_certificate_mapping="upn"``.
            not_before / not_after: validity (default: from an hour ago for 30 days). Pass a
                past ``not_after`` for an expired certificate.
            key_type: the certificate's key type (default: the CA's).
        """
        now = _dt.datetime.now(_dt.timezone.utc)
        key = _new_key(key_type or self.key_type)
        names: list[x509.GeneralName] = [x509.DNSName(n) for n in (dns_names or (common_name,))]
        names += [x509.IPAddress(ipaddress.ip_address(a)) for a in ip_addresses]
        if upn is not None:
            names.append(x509.OtherName(UPN_OID, _utf8_string(upn)))
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before or now - _dt.timedelta(hours=1))
            .not_valid_after(not_after or now + _dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()),
                critical=False,
            )
            .sign(self._key, hashes.SHA256())
        )
        cert_pem = cert.public_bytes(serialization.Encoding.PEM)
        return IssuedCertificate(cert, cert_pem, _pem_key(key), cert_pem + self.cert_pem)
