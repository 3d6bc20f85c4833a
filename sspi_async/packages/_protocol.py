"""The security package seam (L2, SPEC §8).

Theory of operation
-------------------
A security package is a **sans-IO state machine**: bytes in, bytes and verdicts out. It never
imports asyncio, anyio, structlog or pydantic, never reads a clock and never logs; randomness is
handed in through :class:`ContextRequest`. The emulator (L3) owns everything else: handle tables,
threads, time, logging, and — for TLS-framed packages — the Schannel buffer mapping (T1–T7):

* The emulator cuts the caller's input into whole TLS records. When not even one record is
  complete it answers ``SEC_E_INCOMPLETE_MESSAGE`` with a MISSING count itself; the package only
  ever sees whole records (``tls_framed = True``). Packages with ``tls_framed = False`` receive the
  TOKEN bytes as they are and report incompleteness through :class:`StepResult`.
* Optionally, a TLS-framed package may declare ``judges_headers = True``: then, on a complete
  context, ``decrypt`` is also handed a record's 5-byte header alone while its body has not
  arrived, and answers ``SEC_E_INCOMPLETE_MESSAGE`` (wait for the body; the whole record comes
  next) or refuses the record at once with a failure status (E4: the alert goes out now, as a
  TLS stack reading from a socket would send it). Without the attribute nothing changes.
* :meth:`PackageContext.step` consumes a prefix of what it is given (``StepResult.consumed``); the
  emulator turns an unconsumed tail into ``SECBUFFER_EXTRA`` (T6).
* The emulator writes ``StepResult.output`` into the caller's TOKEN (or ALERT) buffer, applying
  ALLOCATE_MEMORY, BUFFER_TOO_SMALL and INSUFFICIENT_MEMORY (T2).
* Failures are returned, not raised, from ``step`` (``StepResult(status=SEC_E_..., output=alert)``)
  so that an alert record can travel with the error status (T11). Other methods raise
  :class:`PackageError`.

A context that has failed stays failed: every later ``step`` returns the same error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from .._attributes import SecPkgContext_StreamSizes, SecPkgInfo
from .._flags import Role

__all__ = (
    "ContextRequest",
    "DecryptResult",
    "PackageContext",
    "PackageCredential",
    "PackageError",
    "PeerIdentity",
    "SecurityPackage",
    "StepResult",
)


class PackageError(Exception):
    """Raised by a package to refuse an operation with a SECURITY_STATUS."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class ContextRequest:
    """What the caller asked for when the context was created (first ISC/ASC call).

    Attributes:
        role: CLIENT for InitializeSecurityContext, SERVER for AcceptSecurityContext.
        target_name: ``pszTargetName`` (client only; ``None`` when not given).
        flags: ``fContextReq`` of the first call (ISC_REQ_* or ASC_REQ_* bits).
        alpn: protocol ids from a SECBUFFER_APPLICATION_PROTOCOLS input buffer, if any (T12).
        random: returns n random bytes; the only source of randomness a package may use.
    """

    role: Role
    target_name: str | None
    flags: int
    alpn: tuple[bytes, ...] | None
    random: Callable[[int], bytes]


@dataclass(slots=True)
class StepResult:
    """The verdict of one handshake step.

    Attributes:
        status: ``SEC_I_CONTINUE_NEEDED``, ``SEC_E_OK``, ``SEC_E_INCOMPLETE_MESSAGE`` (only from
            packages that are not TLS-framed) or an error status.
        output: bytes the caller must send: the next handshake flight, or with an error status
            the alert record to send (may be empty).
        consumed: how many input bytes the step used; for TLS-framed packages a record boundary.
        attributes: ISC_RET_/ASC_RET_ bits the package grants beyond the emulator's own (T9).
        missing: with ``SEC_E_INCOMPLETE_MESSAGE``, how many more bytes are needed.
    """

    status: int
    output: bytes = b""
    consumed: int = 0
    attributes: int = 0
    missing: int = 0


@dataclass(slots=True)
class DecryptResult:
    """The verdict of decrypting exactly one record.

    ``status`` is ``SEC_E_OK`` (``plaintext`` holds the data), ``SEC_I_CONTEXT_EXPIRED`` (the peer
    sent close_notify), ``SEC_I_RENEGOTIATE`` (a post-handshake handshake message; the caller then
    calls ISC/ASC, which the package answers with ``SEC_E_OK`` and no output) or an error.
    """

    status: int
    plaintext: bytes = b""


@dataclass(frozen=True, slots=True)
class PeerIdentity:
    """Who the peer proved to be.

    Attributes:
        principal: the peer's name, or ``None`` for an anonymous client.
        identify_only: the client asked to be identified, not impersonated (ISC_REQ_IDENTIFY).
        certificate: the peer's certificate (DER), when the package has one.
        name: what ``SECPKG_ATTR_NAMES`` shows (``None``: ``principal``). Schannel shows the
            certificate subject even when it maps to no account.
        anonymous_token: an unauthenticated client (``principal`` ``None``) still has an
            anonymous token (SimTLS); ``False`` where a token exists only for a mapped identity
            (Schannel, reference §4.3).
    """

    principal: str | None
    identify_only: bool = False
    certificate: bytes | None = None
    name: str | None = None
    anonymous_token: bool = True


@runtime_checkable
class PackageCredential(Protocol):
    """A credential acquired from a package (what a CredHandle stands for)."""

    @property
    def use(self) -> int:
        """SECPKG_CRED_INBOUND, OUTBOUND or BOTH."""

    @property
    def expiry(self) -> int:
        """When the credential expires, in FILETIME ticks (C3)."""


@runtime_checkable
class PackageContext(Protocol):
    """One side of one security context."""

    @property
    def complete(self) -> bool:
        """True once the handshake finished with ``SEC_E_OK``."""

    def step(self, data: bytes) -> StepResult:
        """Run one handshake step over ``data`` (whole records; ``b""`` on the client's first call
        and on the follow-up call after ``SEC_I_RENEGOTIATE``)."""

    def encrypt(self, plaintext: bytes | memoryview) -> tuple[bytes, bytes | memoryview, bytes]:
        """Protect ``plaintext`` as exactly one record: ``(header, body, trailer)``.

        ``plaintext`` is usually a view of the caller's DATA buffer, valid only during the call
        (copy it, e.g. ``bytes(plaintext)``, to keep it). ``body`` may be a read-only view of
        the new record, which saves a copy: the emulator copies it into the caller's buffer.

        Raises :class:`PackageError` before the handshake completed or after a failure.
        """

    def decrypt(self, record: bytes | memoryview) -> DecryptResult:
        """Unprotect exactly one whole record; ``record`` is usually a view of the caller's buffer,
        valid only during the call (``DecryptResult.plaintext`` must not be a view of it)."""

    def alert(self, level: int, description: int) -> bytes:
        """Return the record that carries this alert now (close_notify is ``(1, 0)``)."""

    def stream_sizes(self) -> SecPkgContext_StreamSizes:
        """Header, trailer and maximum message sizes for EncryptMessage (M1)."""

    def peer(self) -> PeerIdentity | None:
        """The authenticated peer once complete; ``None`` before."""

    def query(self, attribute: int) -> object:
        """Package-specific QueryContextAttributes values.

        Raises :class:`PackageError` with ``SEC_E_UNSUPPORTED_FUNCTION`` for an attribute the
        package does not know.
        """


@runtime_checkable
class SecurityPackage(Protocol):
    """A security package: a factory of credentials and contexts.

    Attributes:
        info: what EnumerateSecurityPackages shows.
        tls_framed: the emulator applies the Schannel record mapping (T1–T7) to this package.
        offload: handshake steps do public-key cryptography and run in worker threads (A14).
    """

    @property
    def info(self) -> SecPkgInfo:
        """Name, comment, capabilities and maximum token size."""

    @property
    def tls_framed(self) -> bool:
        """True when the package speaks TLS records."""

    @property
    def offload(self) -> bool:
        """True when steps should run in crypto worker threads."""

    def acquire_credentials(
        self, principal: str | None, use: int, auth_data: object | None
    ) -> PackageCredential:
        """Validate ``auth_data`` (already shaped by the package's model) and return a credential.

        Raises :class:`PackageError` (``SEC_E_NO_CREDENTIALS``, ``SEC_E_UNKNOWN_CREDENTIALS``, …).
        """

    def new_context(self, credential: PackageCredential, request: ContextRequest) -> PackageContext:
        """Start one side of a security context on ``credential``.

        Raises :class:`PackageError` (e.g. ``SEC_E_UNSUPPORTED_FUNCTION`` for a flag the package
        refuses).
        """


# Re-exported for annotations in packages.
PackageFactory = Callable[[], SecurityPackage]
