"""The SimTLS security package object (L2): what the registry hands to the emulator."""

from __future__ import annotations

from typing import Final

from ..._attributes import SecPkgInfo
from ..._flags import (
    SECPKG_FLAG_CONNECTION,
    SECPKG_FLAG_EXTENDED_ERROR,
    SECPKG_FLAG_IMPERSONATION,
    SECPKG_FLAG_INTEGRITY,
    SECPKG_FLAG_MUTUAL_AUTH,
    SECPKG_FLAG_PRIVACY,
    SECPKG_FLAG_STREAM,
)
from ..._status import SecurityStatus as S
from .._protocol import ContextRequest, PackageCredential, PackageError
from .._records import HEADER_SIZE, MAX_FRAGMENT
from ._config import SimTLSCredential, acquire
from ._context import SimTLSContext

__all__ = ("SIMTLS_MAX_TOKEN", "SIMTLS_PACKAGE_NAME", "SimTLSPackage")

SIMTLS_PACKAGE_NAME: Final = "SimTLS"
#: The largest output of one step: a flight record and a NewSessionTicket record, each at most
#: one full record (the credential limits keep every SimTLS flight inside one record).
SIMTLS_MAX_TOKEN: Final = 2 * (HEADER_SIZE + MAX_FRAGMENT)
#: SECPKG_ID_NONE: SimTLS has no DCE RPC authentication service id.
_RPCID_NONE: Final = 0xFFFF

_CAPABILITIES: Final = (
    SECPKG_FLAG_INTEGRITY
    | SECPKG_FLAG_PRIVACY
    | SECPKG_FLAG_CONNECTION
    | SECPKG_FLAG_MUTUAL_AUTH
    | SECPKG_FLAG_STREAM
    | SECPKG_FLAG_EXTENDED_ERROR
    | SECPKG_FLAG_IMPERSONATION
)


class SimTLSPackage:
    """SimTLS: a deterministic TLS-shaped handshake for tests and load runs (implements
    ``SecurityPackage``). Stateless; one instance can serve any number of credentials."""

    __slots__ = ()

    @property
    def info(self) -> SecPkgInfo:
        """Name ``"SimTLS"``, its capabilities and the largest token a step produces."""
        return SecPkgInfo(
            fCapabilities=_CAPABILITIES,
            wVersion=1,
            wRPCID=_RPCID_NONE,
            cbMaxToken=SIMTLS_MAX_TOKEN,
            Name=SIMTLS_PACKAGE_NAME,
            Comment="Simulated TLS: real TLS record framing, HMAC-SHA256 proofs, no public-key crypto",
        )

    @property
    def tls_framed(self) -> bool:
        """True: SimTLS speaks TLS records, so the Schannel buffer rules (T1-T7) apply."""
        return True

    @property
    def offload(self) -> bool:
        """False: a step costs a few HMACs, cheaper than a hop to a worker thread."""
        return False

    def acquire_credentials(
        self, principal: str | None, use: int, auth_data: object | None
    ) -> SimTLSCredential:
        """Validate ``auth_data`` (a :class:`SimTLSConfig` or ``None``) into a credential.

        ``principal`` (``pszPrincipal``) names this side when the config has no principal.

        Raises:
            PackageError: ``SEC_E_NO_CREDENTIALS`` or ``SEC_E_UNKNOWN_CREDENTIALS`` (see
                :func:`~._config.acquire`).
        """
        return acquire(principal, use, auth_data)

    def new_context(self, credential: PackageCredential, request: ContextRequest) -> SimTLSContext:
        """Start one side of a connection on ``credential``.

        Raises:
            PackageError: ``SEC_E_INVALID_HANDLE`` (a credential of another package or the wrong
                direction), ``SEC_E_UNSUPPORTED_FUNCTION`` (delegation requested), and the other
                errors of :class:`SimTLSContext`.
        """
        if not isinstance(credential, SimTLSCredential):
            raise PackageError(
                S.SEC_E_INVALID_HANDLE, "SimTLS: the credential does not belong to SimTLS"
            )
        return SimTLSContext(credential, request)
