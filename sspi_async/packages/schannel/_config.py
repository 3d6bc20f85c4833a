"""Schannel credential data (L2): the plain config a credential is built from, and its checks.

The emulator turns the user's :class:`~sspi_async.SchannelCred` (pydantic, or a dict) into a
:class:`SchannelConfig` — paths already read into bytes — before it calls the package.
:func:`acquire` applies the C-rules (SPEC §4) with ``cryptography`` for X.509 and returns a
:class:`~._credential.SchannelCredential`:

* no certificate on an INBOUND credential, or a certificate without its private key →
  ``SEC_E_NO_CREDENTIALS`` (C2; Wine returns UNKNOWN for the second, Windows NO, reference §8
  case 7);
* unparsable certificate or key, a wrong key password, a key that does not match the
  certificate, unknown cipher-suite names → ``SEC_E_UNKNOWN_CREDENTIALS``;
* enabled protocols or cipher suites that leave nothing usable in the credential's direction →
  ``SEC_E_ALGORITHM_MISMATCH`` (case 4: server-only protocol bits on an OUTBOUND credential).

Key material is never put in an exception message.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from ..._flags import (
    SECPKG_CRED_BOTH,
    SECPKG_CRED_INBOUND,
    SECPKG_CRED_OUTBOUND,
    SP_PROT_TLS1_2_CLIENT,
    SP_PROT_TLS1_2_SERVER,
    SP_PROT_TLS1_3_CLIENT,
    SP_PROT_TLS1_3_SERVER,
)
from ..._status import SecurityStatus as S
from ..._values import filetime_from_datetime
from .._protocol import PackageError
from ._suites import SUITES_BY_IANA, Suite

__all__ = (
    "DEFAULT_PROTOCOLS",
    "FAR_FUTURE_EXPIRY",
    "CertificateMapping",
    "Identity",
    "SchannelConfig",
    "Validated",
    "validate",
)

#: Every protocol bit the package implements: TLS 1.2 and 1.3, both directions (T10: nothing
#: older is ever offered).
DEFAULT_PROTOCOLS: Final = (
    SP_PROT_TLS1_2_CLIENT | SP_PROT_TLS1_2_SERVER | SP_PROT_TLS1_3_CLIENT | SP_PROT_TLS1_3_SERVER
)
#: C3: a credential without a certificate never expires; 9999-12-31T23:59:59Z in FILETIME ticks.
FAR_FUTURE_EXPIRY: Final = filetime_from_datetime(
    datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone.utc)
)
_USES: Final = frozenset((SECPKG_CRED_INBOUND, SECPKG_CRED_OUTBOUND, SECPKG_CRED_BOTH))

#: How a verified client certificate maps to an account (SPEC §7, reference §4.3):
#: ``"common_name"`` (the subject CN), ``"upn"`` (the SAN UPN otherName, as Windows' UPN mapping)
#: or a one-to-one table from the certificate's SHA-256 fingerprint (lowercase hex) to an account.
CertificateMapping = str | Mapping[str, str] | None


@dataclass(frozen=True, slots=True)
class SchannelConfig:
    """The auth data of a Schannel credential, as plain values.

    Attributes:
        certificate_chain: PEM: the leaf certificate first, then intermediates (may also hold
            the private key).
        private_key: PEM private key (``None``: look for it in ``certificate_chain``).
        key_password: the password of an encrypted key.
        protocols: ``SP_PROT_*`` bits (``grbitEnabledProtocols``); bits of protocols older than
            TLS 1.2 are ignored.
        cipher_suites: IANA names to allow (``None``: every suite of :mod:`._suites`).
        trusted_roots: PEM roots to verify the peer against (``None``: the system store).
        alpn: client: the protocols offered; server: its preferences, best first.
        alpn_required: server: a client that shares no protocol fails the handshake (T12).
        require_client_certificate: server: a client without a certificate fails (T14).
        session_tickets: server: send TLS session tickets.
        client_certificate_mapping: server: see :data:`CertificateMapping`.
    """

    certificate_chain: bytes | None = None
    private_key: bytes | None = None
    key_password: bytes | None = None
    protocols: int = DEFAULT_PROTOCOLS
    cipher_suites: tuple[str, ...] | None = None
    trusted_roots: bytes | None = None
    alpn: tuple[str, ...] = ()
    alpn_required: bool = False
    require_client_certificate: bool = False
    session_tickets: bool = True
    client_certificate_mapping: CertificateMapping = None


@dataclass(frozen=True, slots=True)
class Identity:
    """This side's certificate chain and key, parsed.

    Attributes:
        chain: the certificates, leaf first.
        pem: the chain as PEM, for OpenSSL.
        key: the private key.
    """

    chain: tuple[x509.Certificate, ...]
    pem: bytes
    key: PrivateKeyTypes = field(repr=False)

    @property
    def leaf(self) -> x509.Certificate:
        """The end-entity certificate."""
        return self.chain[0]


@dataclass(frozen=True, slots=True)
class Validated:
    """What :func:`validate` found usable in a config."""

    identity: Identity | None
    tls12: bool
    tls13: bool
    suites: tuple[Suite, ...]
    expiry: int


def _unknown(message: str) -> PackageError:
    return PackageError(S.SEC_E_UNKNOWN_CREDENTIALS, f"Schannel: {message}")


def _load_chain(pem: bytes) -> tuple[x509.Certificate, ...]:
    if b"-----BEGIN CERTIFICATE-----" not in pem:
        return ()
    try:
        return tuple(x509.load_pem_x509_certificates(pem))
    except ValueError as exc:
        raise _unknown("the certificate chain is not valid PEM X.509") from exc


def _load_key(config: SchannelConfig) -> PrivateKeyTypes | None:
    source = config.private_key
    if source is None:
        assert config.certificate_chain is not None
        source = config.certificate_chain
        if b"PRIVATE KEY-----" not in source:
            return None
    try:
        return serialization.load_pem_private_key(source, password=config.key_password)
    except (ValueError, TypeError) as exc:
        # TypeError: a password for an unencrypted key or none for an encrypted one.
        raise _unknown(
            "the private key cannot be read (not PEM, unsupported, or the wrong password)"
        ) from exc


def _spki(key: object) -> bytes:
    public = key.public_key()  # type: ignore[attr-defined]
    raw: bytes = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return raw


def _identity(config: SchannelConfig, use: int) -> Identity | None:
    chain = _load_chain(config.certificate_chain) if config.certificate_chain else ()
    if not chain:
        if config.certificate_chain and b"PRIVATE KEY-----" not in config.certificate_chain:
            raise _unknown("certificate_chain holds no PEM certificate")
        if use & SECPKG_CRED_INBOUND:
            raise PackageError(
                S.SEC_E_NO_CREDENTIALS,
                "Schannel: a server (INBOUND) credential needs a certificate and its private key",
            )
        if config.private_key is not None:
            raise _unknown("a private key was given without a certificate")
        return None
    key = _load_key(config)
    if key is None:
        raise PackageError(
            S.SEC_E_NO_CREDENTIALS,
            "Schannel: the certificate has no private key (pass private_key, or a PEM holding both)",
        )
    if _spki(key) != _spki(chain[0]):
        raise _unknown("the private key does not belong to the first certificate of the chain")
    pem = b"".join(cert.public_bytes(serialization.Encoding.PEM) for cert in chain)
    return Identity(chain, pem, key)


def _suites(config: SchannelConfig) -> tuple[Suite, ...]:
    if config.cipher_suites is None:
        return tuple(SUITES_BY_IANA.values())
    chosen = []
    for name in config.cipher_suites:
        suite = SUITES_BY_IANA.get(name)
        if suite is None:
            raise _unknown(
                f"cipher suite {name!r} is not one the package offers "
                f"(choose from {', '.join(SUITES_BY_IANA)})"
            )
        chosen.append(suite)
    return tuple(chosen)


def _check_roots(pem: bytes | None) -> None:
    if pem is None:
        return
    if not _load_chain(pem):
        raise _unknown("trusted_roots holds no PEM certificate")


def validate(use: int, config: SchannelConfig) -> Validated:
    """Apply C1–C3 to ``config`` for a credential used as ``use``.

    Raises:
        PackageError: ``SEC_E_NO_CREDENTIALS``, ``SEC_E_UNKNOWN_CREDENTIALS`` or
            ``SEC_E_ALGORITHM_MISMATCH`` as the module docstring lists.
    """
    if use not in _USES:
        raise PackageError(
            S.SEC_E_NO_CREDENTIALS,
            f"Schannel: fCredentialUse {use:#x} is not INBOUND, OUTBOUND or BOTH",
        )
    identity = _identity(config, use)
    _check_roots(config.trusted_roots)
    suites = _suites(config)
    client_bits = (SP_PROT_TLS1_2_CLIENT, SP_PROT_TLS1_3_CLIENT)
    server_bits = (SP_PROT_TLS1_2_SERVER, SP_PROT_TLS1_3_SERVER)
    wanted: list[tuple[int, int]] = []
    if use & SECPKG_CRED_OUTBOUND:
        wanted.append(client_bits)
    if use & SECPKG_CRED_INBOUND:
        wanted.append(server_bits)
    tls12 = any(config.protocols & bits[0] for bits in wanted) and any(not s.tls13 for s in suites)
    tls13 = any(config.protocols & bits[1] for bits in wanted) and any(s.tls13 for s in suites)
    if not (tls12 or tls13):
        raise PackageError(
            S.SEC_E_ALGORITHM_MISMATCH,
            "Schannel: the enabled protocols and cipher suites leave no TLS 1.2 or TLS 1.3 "
            "for this direction (grbitEnabledProtocols has CLIENT and SERVER bits)",
        )
    expiry = (
        filetime_from_datetime(identity.leaf.not_valid_after_utc)
        if identity is not None
        else FAR_FUTURE_EXPIRY
    )
    return Validated(identity, tls12, tls13, suites, expiry)
