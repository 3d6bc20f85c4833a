"""``TlsPki``: a throw-away CA with a server and a client certificate, and Schannel credentials
ready to acquire (the ``tls_pki`` fixture of the pytest plugin; usable without pytest).

    pki = TlsPki.create()
    server = await acquire_credentials("Schannel", "inbound", pki.server_cred)
    client = await acquire_credentials("Schannel", "outbound", pki.client_cred)
    ctx = client.client_context(pki.target)                # "localhost"
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .._core._schannel_cred import SchannelCred
from ._certs import CertificateAuthority, IssuedCertificate, KeyType

__all__ = ("TlsPki",)


@dataclass(frozen=True)
class TlsPki:
    """An ephemeral CA, a server certificate for :attr:`target` and a client certificate.

    Attributes:
        ca: the certificate authority (issue more certificates with ``ca.issue(...)``).
        server: the server certificate (CN and DNS name ``localhost``, IP 127.0.0.1).
        client: the client certificate (CN ``alice``, UPN ``alice@example.com``).
        server_cred: Schannel server credential data: presents :attr:`server`, trusts the CA for
            client certificates (asks for none unless ``require_client_certificate=True``).
        client_cred: an anonymous Schannel client that trusts the CA.
        client_cert_cred: a Schannel client presenting :attr:`client`, trusting the CA.
        target: the name to pass as ``pszTargetName`` (``"localhost"``).
    """

    ca: CertificateAuthority
    server: IssuedCertificate
    client: IssuedCertificate
    server_cred: SchannelCred
    client_cred: SchannelCred
    client_cert_cred: SchannelCred
    target: str = "localhost"

    @classmethod
    def create(cls, *, key_type: KeyType = "ec", target: str = "localhost") -> TlsPki:
        """A new CA and certificates (``key_type`` ``"ec"``, P-256 and fast, or ``"rsa"``)."""
        ca = CertificateAuthority(key_type=key_type)
        server = ca.issue(target)
        client = ca.issue("alice", upn="alice@example.com")
        return cls(
            ca=ca,
            server=server,
            client=client,
            server_cred=server.schannel_cred(trusted_roots=ca.cert_pem),
            client_cred=SchannelCred(trusted_roots=ca.cert_pem),
            client_cert_cred=client.schannel_cred(trusted_roots=ca.cert_pem),
            target=target,
        )

    def server_credential(self, **options: Any) -> SchannelCred:
        """:attr:`server_cred` with ``options`` changed (e.g. ``alpn=("h2",)``,
        ``require_client_certificate=True``)."""
        return _changed(self.server_cred, options)

    def client_credential(self, *, certificate: bool = False, **options: Any) -> SchannelCred:
        """:attr:`client_cred` (or :attr:`client_cert_cred` with ``certificate=True``) with
        ``options`` changed (e.g. ``enabled_protocols=("tls1.2",)``)."""
        base = self.client_cert_cred if certificate else self.client_cred
        return _changed(base, options)


def _changed(cred: SchannelCred, options: dict[str, Any]) -> SchannelCred:
    """A new, validated credential: ``cred``'s fields with ``options`` changed (a typo or a bad
    value raises :class:`~sspi_async.ConfigurationError` naming the field)."""
    return SchannelCred(**{**cred.model_dump(), **options})
