"""What the Schannel package reads from X.509 certificates (through ``cryptography``).

Names for ``SECPKG_ATTR_NAMES``, the account a client certificate maps to (SPEC §7, reference
§4.3), the ``tls-server-end-point`` channel binding (RFC 5929 §4.1) and the key type for
``SecPkgContext_CipherInfo.szCertificate``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.x509.oid import NameOID

from ._config import CertificateMapping

__all__ = (
    "UPN_OID",
    "end_point_hash",
    "fingerprint",
    "key_type",
    "mapped_account",
    "subject_name",
)

#: szOID_NT_PRINCIPAL_NAME: the UPN in a certificate's subjectAltName otherName.
UPN_OID: Final = x509.ObjectIdentifier("1.3.6.1.4.1.311.20.2.3")


def subject_name(cert: x509.Certificate) -> str:
    """The subject as an RFC 4514 string (``CN=alice,O=Example``)."""
    return cert.subject.rfc4514_string()


def _common_name(cert: x509.Certificate) -> str | None:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    value = names[0].value if names else None
    return value if isinstance(value, str) and value else None


def _upn(cert: x509.Certificate) -> str | None:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None
    for other in san.get_values_for_type(x509.OtherName):
        if other.type_id != UPN_OID:
            continue
        raw = other.value  # DER: UTF8String (tag 0x0C), short or long form length
        if len(raw) < 2 or raw[0] != 0x0C:
            continue
        length, start = raw[1], 2
        if length & 0x80:
            count = length & 0x7F
            length, start = int.from_bytes(raw[2 : 2 + count], "big"), 2 + count
        try:
            return raw[start : start + length].decode("utf-8") or None
        except UnicodeDecodeError:
            return None
    return None


def fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 of the DER certificate, lowercase hex without separators."""
    return cert.fingerprint(hashes.SHA256()).hex()


def mapped_account(cert: x509.Certificate, mapping: CertificateMapping) -> str | None:
    """The account ``cert`` maps to under ``mapping``, or ``None`` when it maps to none."""
    if mapping is None:
        return None
    if isinstance(mapping, Mapping):
        return mapping.get(fingerprint(cert))
    if mapping == "upn":
        return _upn(cert)
    if mapping == "common_name":
        return _common_name(cert)
    return None


def end_point_hash(cert: x509.Certificate) -> bytes:
    """RFC 5929 §4.1: hash the certificate with its signature's hash, SHA-256 for MD5, SHA-1
    and signatures without a separate hash (Ed25519)."""
    algorithm = cert.signature_hash_algorithm
    if algorithm is None or isinstance(algorithm, (hashes.MD5, hashes.SHA1)):
        algorithm = hashes.SHA256()
    return cert.fingerprint(algorithm)


def key_type(cert: x509.Certificate) -> str:
    """``szCertificate``: ``"RSA"``, ``"ECDSA"``, ``"Ed25519"``/``"Ed448"`` or ``""``."""
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "ECDSA"
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519"
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448"
    return ""
