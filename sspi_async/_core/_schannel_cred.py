"""``SchannelCred``: the pydantic edge of Schannel credential data (SPEC §4, C1–C3).

Validated once where it crosses the user boundary: certificate, key and root files are read here,
so the sans-IO package only ever sees bytes. Key material is kept out of ``repr``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretBytes, ValidationInfo, field_validator

from .._flags import SP_PROT_TLS1_2, SP_PROT_TLS1_3
from ..packages.schannel import SUITES_BY_IANA, SchannelConfig
from ._model import _Model

__all__ = ("SchannelCred",)

_PROTOCOL_BITS = {"tls1.2": SP_PROT_TLS1_2, "tls1.3": SP_PROT_TLS1_3}


def _pem_source(value: object, what: str) -> object:
    """PEM bytes stay bytes; PEM text is encoded; a path (``str`` or ``Path``) is read."""
    if value is None or isinstance(value, (bytes, bytearray)):
        return bytes(value) if value is not None else None
    if isinstance(value, str) and "-----BEGIN" in value:
        return value.encode("ascii", "replace")
    if isinstance(value, (str, Path)):
        try:
            return Path(value).read_bytes()
        except OSError as exc:
            raise ValueError(f"cannot read {what} from {str(value)!r}: {exc.strerror}") from exc
    return value


class SchannelCred(_Model):
    """Credential data for the Schannel package (``pAuthData``), SPEC §4.

    Attributes:
        certificate_chain: PEM bytes, PEM text or a path: the leaf certificate, then any
            intermediates (may also hold the private key). Required for a server.
        private_key: PEM bytes, text or a path (``None``: found in ``certificate_chain``).
        key_password: the password of an encrypted key (bytes or text).
        enabled_protocols: ``"tls1.2"``/``"tls1.3"`` (default both), or an int of ``SP_PROT_*``
            bits as in ``SCHANNEL_CRED.grbitEnabledProtocols``. Nothing older is ever offered.
        cipher_suites: IANA names to allow (default: every AEAD suite the package knows). TLS 1.3
            suites are all-or-nothing: Python's ``ssl`` module cannot pick among them, so
            listing any enables OpenSSL's three and listing none disables TLS 1.3.
        trusted_roots: PEM bytes, text or a path of the roots that verify the peer (``None``:
            the system store).
        alpn: client: protocols offered; server: preferences, best first (T12).
        alpn_required: server: no common protocol → ``SEC_E_APPLICATION_PROTOCOL_MISMATCH``.
        require_client_certificate: server: a client without a certificate fails (T14).
        session_tickets: server: send TLS session tickets (the client's DecryptMessage then
            returns ``SEC_I_RENEGOTIATE`` for each, M2).
        client_certificate_mapping: server: how a verified client certificate maps to an account
            for impersonation (§7): ``"common_name"``, ``"upn"`` (subjectAltName UPN, as
            Windows' UPN mapping), or a one-to-one ``{sha256 fingerprint (hex): account}``
            table. ``None`` (default): no mapping, so no client token.
    """

    certificate_chain: bytes | None = Field(default=None, repr=False)
    private_key: bytes | None = Field(default=None, repr=False)
    key_password: SecretBytes | None = None
    enabled_protocols: tuple[Literal["tls1.2", "tls1.3"], ...] | int = ("tls1.2", "tls1.3")
    cipher_suites: tuple[str, ...] | None = None
    trusted_roots: bytes | None = Field(default=None, repr=False)
    alpn: tuple[str, ...] = ()
    alpn_required: bool = False
    require_client_certificate: bool = False
    session_tickets: bool = True
    client_certificate_mapping: Literal["common_name", "upn"] | dict[str, str] | None = None

    @field_validator("certificate_chain", "private_key", "trusted_roots", mode="before")
    @classmethod
    def _read_pem(cls, value: object, info: ValidationInfo) -> object:
        return _pem_source(value, info.field_name or "PEM data")

    @field_validator("key_password", mode="before")
    @classmethod
    def _text_password(cls, value: object) -> object:
        return value.encode() if isinstance(value, str) else value

    @field_validator("cipher_suites")
    @classmethod
    def _known_suites(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        for name in value or ():
            if name not in SUITES_BY_IANA:
                raise ValueError(
                    f"unknown cipher suite {name!r}; choose from {', '.join(SUITES_BY_IANA)}"
                )
        return value

    @field_validator("alpn")
    @classmethod
    def _alpn_ids(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for ident in value:
            if not ident.isascii() or not 0 < len(ident) < 256:
                raise ValueError(f"ALPN id {ident!r} must be 1 to 255 ASCII characters")
        return value

    @field_validator("client_certificate_mapping")
    @classmethod
    def _fingerprints(cls, value: object) -> object:
        if not isinstance(value, Mapping):
            return value
        table = {}
        for fingerprint, account in value.items():
            key = fingerprint.replace(":", "").lower()
            if len(key) != 64 or any(c not in "0123456789abcdef" for c in key):
                raise ValueError(f"{fingerprint!r} is not a SHA-256 fingerprint in hex")
            table[key] = account
        return table

    def to_package(self) -> SchannelConfig:
        """The plain data the sans-IO package reads."""
        protocols = self.enabled_protocols
        if not isinstance(protocols, int):
            bits = 0
            for name in protocols:
                bits |= _PROTOCOL_BITS[name]
            protocols = bits
        return SchannelConfig(
            certificate_chain=self.certificate_chain,
            private_key=self.private_key,
            key_password=self.key_password.get_secret_value() if self.key_password else None,
            protocols=protocols,
            cipher_suites=self.cipher_suites,
            trusted_roots=self.trusted_roots,
            alpn=self.alpn,
            alpn_required=self.alpn_required,
            require_client_certificate=self.require_client_certificate,
            session_tickets=self.session_tickets,
            client_certificate_mapping=self.client_certificate_mapping,
        )
