"""A Schannel credential (what a CredHandle stands for) and the OpenSSL contexts it builds.

An :class:`ssl.SSLContext` fixes the verification mode and the ALPN list for every connection made
from it, while SSPI chooses them per security context (``ISC_REQ_MANUAL_CRED_VALIDATION``,
``ASC_REQ_MUTUAL_AUTH``, a ``SECBUFFER_APPLICATION_PROTOCOLS`` input). So a credential keeps one
``SSLContext`` per combination actually used, built on first use and cached. Building one loads
the certificate and trust store; it is the expensive part of AcquireCredentialsHandle, done once.

``SSLContext.load_cert_chain`` reads only files, so the chain and key go through a temporary file
readable by this user alone, with the key encrypted under a one-time random password and the
file deleted before the call returns: key material never rests on disk in the clear.
"""

from __future__ import annotations

import os
import secrets
import ssl
import tempfile
from dataclasses import dataclass, field
from typing import Final

from cryptography.hazmat.primitives import serialization

from ..._status import SecurityStatus as S
from .._protocol import PackageError
from ._config import Identity, SchannelConfig, Validated

__all__ = ("ClientKey", "SchannelCredential", "ServerKey")

#: How many differently-configured SSLContexts one credential caches (ALPN lists from input
#: buffers are the only unbounded part of the key); beyond it contexts are built per connection.
_CACHE_LIMIT: Final = 32


@dataclass(frozen=True, slots=True)
class ClientKey:
    """What a client SSLContext is specialised for."""

    verify: bool
    check_hostname: bool
    alpn: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ServerKey:
    """What a server SSLContext is specialised for.

    ``alpn``: the server's preferences, best first: a SECBUFFER_APPLICATION_PROTOCOLS input of
    the first AcceptSecurityContext call (case 40), else the credential's ``alpn``.
    """

    verify_mode: ssl.VerifyMode
    alpn: tuple[str, ...] = ()


@dataclass(slots=True)
class SchannelCredential:
    """A validated Schannel credential.

    Attributes:
        use: SECPKG_CRED_INBOUND, OUTBOUND or BOTH.
        expiry: FILETIME ticks: the certificate's notAfter, or far in the future (C3).
        config: the auth data.
        validated: what :func:`~._config.validate` found usable.
    """

    use: int
    expiry: int
    config: SchannelConfig
    validated: Validated
    _contexts: dict[ClientKey | ServerKey, ssl.SSLContext] = field(default_factory=dict)

    @property
    def identity(self) -> Identity | None:
        """This side's certificate chain and key (``None`` for an anonymous client)."""
        return self.validated.identity

    def ssl_context(self, key: ClientKey | ServerKey) -> ssl.SSLContext:
        """The OpenSSL context for ``key``, built on first use.

        Raises:
            PackageError: ``SEC_E_UNKNOWN_CREDENTIALS`` when OpenSSL refuses the data (e.g. a key
                type it cannot use), ``SEC_E_ALGORITHM_MISMATCH`` when it can select no cipher.
        """
        context = self._contexts.get(key)
        if context is None:
            context = self._build(key)
            if len(self._contexts) < _CACHE_LIMIT:
                # setdefault is atomic: two threads racing here both end with one context.
                context = self._contexts.setdefault(key, context)
        return context

    def _build(self, key: ClientKey | ServerKey) -> ssl.SSLContext:
        server = isinstance(key, ServerKey)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if server else ssl.PROTOCOL_TLS_CLIENT)
        valid = self.validated
        context.minimum_version = ssl.TLSVersion.TLSv1_2 if valid.tls12 else ssl.TLSVersion.TLSv1_3
        context.maximum_version = ssl.TLSVersion.TLSv1_3 if valid.tls13 else ssl.TLSVersion.TLSv1_2
        # OP_NO_RENEGOTIATION: Schannel's TLS 1.2 renegotiation is not emulated; OpenSSL answers a
        # HelloRequest with a no_renegotiation warning instead.
        context.options |= ssl.OP_NO_RENEGOTIATION | ssl.OP_NO_COMPRESSION
        tls12 = [s.openssl for s in valid.suites if not s.tls13]
        try:
            if tls12:
                context.set_ciphers(":".join(tls12))
            if self.config.trusted_roots is not None:
                context.load_verify_locations(cadata=self.config.trusted_roots.decode("ascii"))
            elif not isinstance(key, ServerKey) or key.verify_mode != ssl.CERT_NONE:
                # The system store takes ~40 ms to load, on the event loop (first context of a
                # credential): only when a peer certificate will be verified.
                context.load_default_certs(
                    ssl.Purpose.CLIENT_AUTH if server else ssl.Purpose.SERVER_AUTH
                )
            if self.identity is not None:
                _load_identity(context, self.identity)
        except ssl.SSLError as exc:
            raise PackageError(
                S.SEC_E_UNKNOWN_CREDENTIALS,
                f"Schannel: OpenSSL refused the credential: {exc.reason}",
            ) from exc
        if isinstance(key, ServerKey):
            context.verify_mode = key.verify_mode
            if not self.config.session_tickets:
                context.num_tickets = 0
                context.options |= ssl.OP_NO_TICKET
            if key.alpn:
                context.set_alpn_protocols(list(key.alpn))
        else:
            context.check_hostname = key.check_hostname
            context.verify_mode = ssl.CERT_REQUIRED if key.verify else ssl.CERT_NONE
            if key.alpn:
                context.set_alpn_protocols(list(key.alpn))
        return context


def _load_identity(context: ssl.SSLContext, identity: Identity) -> None:
    password = secrets.token_bytes(24).hex().encode()
    key_pem = identity.key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(password),
    )
    fd, path = tempfile.mkstemp(prefix="sspi-async-", suffix=".pem")  # mode 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(identity.pem + key_pem)
        context.load_cert_chain(path, password=password)
    finally:
        os.unlink(path)
