"""SimTLS credential data (L2): the plain config a credential is built from, and its validation.

The emulator turns the user's pydantic model (or dict) into a :class:`SimTLSConfig` before it
calls the package; :func:`acquire` checks what that model cannot (SPEC C1, C2, C3) and freezes the
result into a :class:`SimTLSCredential`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final

from ..._flags import SECPKG_CRED_BOTH, SECPKG_CRED_INBOUND, SECPKG_CRED_OUTBOUND
from ..._status import SecurityStatus as S
from .._protocol import PackageError

__all__ = (
    "FAR_FUTURE_EXPIRY",
    "MAX_ALPN_LIST",
    "MAX_PRINCIPAL",
    "MAX_ROUNDS",
    "SimTLSConfig",
    "SimTLSCredential",
    "acquire",
    "alpn_wire_ids",
)

#: 9999-12-31T23:59:59Z in FILETIME ticks (100 ns since 1601-01-01 UTC): the far-future expiry
#: SimTLS reports (C3). Computed once as ``(datetime(9999, 12, 31, 23, 59, 59, tzinfo=utc) -
#: datetime(1601, 1, 1, tzinfo=utc)) // timedelta(microseconds=1) * 10``; the tests re-check it.
FAR_FUTURE_EXPIRY: Final = 2_650_467_743_990_000_000

#: Longest principal, in UTF-8 bytes; keeps every flight inside one 16 KiB record.
MAX_PRINCIPAL: Final = 1024
#: Longest ALPN ProtocolNameList (all ids with their length bytes); same reason.
MAX_ALPN_LIST: Final = 8192
MAX_ROUNDS: Final = 8

_USES: Final = frozenset((SECPKG_CRED_INBOUND, SECPKG_CRED_OUTBOUND, SECPKG_CRED_BOTH))


@dataclass(frozen=True, slots=True)
class SimTLSConfig:
    """The auth data of a SimTLS credential.

    Attributes:
        principal: who this side is (``None``: an anonymous client).
        secret: the shared secret both sides must hold; the handshake proves it with HMAC-SHA256.
        rounds: handshake shape, chosen by the client: 1 = TLS 1.3 (client CONTINUE, OK), 2 = TLS
            1.2 (client CONTINUE, CONTINUE, OK), 3..8 = TLS 1.2 plus ``rounds - 2`` extra round
            trips. A server follows the client's value and ignores its own.
        tls_version_bytes: the highest version this side reports (0x0304 = TLS 1.3); the
            negotiated version is the lower of the two sides' values.
        alpn: client: the protocol ids offered; server: its preferences, best first.
        alpn_required: server: fail with ``SEC_E_APPLICATION_PROTOCOL_MISMATCH`` (alert
            no_app_protocol) when no protocol can be selected, including when the client offers
            none.
        session_tickets: server: send one NewSessionTicket record after the handshake.
        allow_anonymous: server: accept a client that sends no principal.
    """

    principal: str | None = None
    secret: bytes = b""
    rounds: int = 1
    tls_version_bytes: int = 0x0304
    alpn: tuple[str, ...] = ()
    alpn_required: bool = False
    session_tickets: bool = False
    allow_anonymous: bool = False


@dataclass(frozen=True, slots=True)
class SimTLSCredential:
    """A validated SimTLS credential (what a CredHandle stands for).

    Attributes:
        use: SECPKG_CRED_INBOUND, OUTBOUND or BOTH.
        expiry: FILETIME ticks; always :data:`FAR_FUTURE_EXPIRY` (C3).
        config: the auth data, with ``principal`` filled from ``pszPrincipal`` when the config had
            none.
        alpn: ``config.alpn`` as wire ids.
    """

    use: int
    expiry: int
    config: SimTLSConfig
    alpn: tuple[bytes, ...]

    @property
    def principal(self) -> str | None:
        """The identity this credential presents (``None`` for an anonymous client)."""
        return self.config.principal


def alpn_wire_ids(ids: tuple[str | bytes, ...] | tuple[bytes, ...]) -> tuple[bytes, ...] | None:
    """Encode ALPN ids as bytes; ``None`` when one is empty, longer than 255 bytes, not text or
    bytes, or the list exceeds :data:`MAX_ALPN_LIST` on the wire."""
    out: list[bytes] = []
    total = 0
    for item in ids:
        if isinstance(item, str):
            try:
                raw = item.encode("utf-8")
            except UnicodeEncodeError:
                return None
        elif isinstance(item, (bytes, bytearray, memoryview)):
            raw = bytes(item)
        else:
            return None
        if not 1 <= len(raw) <= 255:
            return None
        total += 1 + len(raw)
        out.append(raw)
    if total > MAX_ALPN_LIST:
        return None
    return tuple(out)


def _principal_ok(principal: object) -> bool:
    if principal is None:
        return True
    if not isinstance(principal, str) or not principal:
        return False
    try:
        return len(principal.encode("utf-8")) <= MAX_PRINCIPAL
    except UnicodeEncodeError:
        return False


def acquire(principal: str | None, use: int, auth_data: object | None) -> SimTLSCredential:
    """Validate AcquireCredentialsHandle arguments and build a credential.

    Raises:
        PackageError: ``SEC_E_NO_CREDENTIALS`` when ``use`` is not INBOUND/OUTBOUND/BOTH (C1) or
            a server credential has no auth data or no principal (a server needs an identity,
            as Schannel needs a certificate, C2); ``SEC_E_UNKNOWN_CREDENTIALS`` when
            ``auth_data`` is not a :class:`SimTLSConfig` or holds a bad value (``rounds``
            outside 1..8, a version outside 0..0xFFFF, an empty or over-long principal or ALPN
            id).
    """
    if use not in _USES:
        raise PackageError(
            S.SEC_E_NO_CREDENTIALS,
            f"SimTLS: fCredentialUse {use:#x} is not INBOUND, OUTBOUND or BOTH",
        )
    if auth_data is not None and not isinstance(auth_data, SimTLSConfig):
        raise PackageError(
            S.SEC_E_UNKNOWN_CREDENTIALS,
            f"SimTLS: auth data must be a SimTLSConfig or None, not {type(auth_data).__name__}",
        )
    config = auth_data if auth_data is not None else SimTLSConfig()
    _check_config(config)
    if principal and config.principal is None:
        if not _principal_ok(principal):
            raise PackageError(
                S.SEC_E_UNKNOWN_CREDENTIALS, "SimTLS: pszPrincipal is longer than 1024 UTF-8 bytes"
            )
        config = replace(config, principal=principal)
    if use & SECPKG_CRED_INBOUND and (auth_data is None or config.principal is None):
        raise PackageError(
            S.SEC_E_NO_CREDENTIALS,
            "SimTLS: a server (INBOUND) credential needs auth data with a principal",
        )
    alpn = alpn_wire_ids(config.alpn)
    assert alpn is not None  # _check_config has validated the ids
    return SimTLSCredential(use=use, expiry=FAR_FUTURE_EXPIRY, config=config, alpn=alpn)


def _check_config(config: SimTLSConfig) -> None:
    def bad(what: str) -> PackageError:
        return PackageError(S.SEC_E_UNKNOWN_CREDENTIALS, f"SimTLS: {what}")

    if not _principal_ok(config.principal):
        raise bad("principal must be a non-empty str of at most 1024 UTF-8 bytes, or None")
    if not isinstance(config.secret, bytes):
        raise bad("secret must be bytes")
    rounds = config.rounds
    if isinstance(rounds, bool) or not isinstance(rounds, int) or not 1 <= rounds <= MAX_ROUNDS:
        raise bad(f"rounds must be an int from 1 to {MAX_ROUNDS}, not {rounds!r}")
    version = config.tls_version_bytes
    if isinstance(version, bool) or not isinstance(version, int) or not 0 <= version <= 0xFFFF:
        raise bad(f"tls_version_bytes must fit in 16 bits, not {version!r}")
    if not isinstance(config.alpn, tuple) or alpn_wire_ids(config.alpn) is None:
        raise bad("alpn ids must be 1..255 bytes each and 8192 bytes in all")
