"""The Schannel security package object (L2): what the registry hands to the emulator."""

from __future__ import annotations

from typing import Final

from ..._attributes import SecPkgInfo
from ..._flags import (
    SECPKG_FLAG_ACCEPT_WIN32_NAME,
    SECPKG_FLAG_CONNECTION,
    SECPKG_FLAG_EXTENDED_ERROR,
    SECPKG_FLAG_IMPERSONATION,
    SECPKG_FLAG_INTEGRITY,
    SECPKG_FLAG_MULTI_REQUIRED,
    SECPKG_FLAG_MUTUAL_AUTH,
    SECPKG_FLAG_PRIVACY,
    SECPKG_FLAG_STREAM,
)
from ..._status import SecurityStatus as S
from .._protocol import ContextRequest, PackageCredential, PackageError
from ._config import SchannelConfig, validate
from ._context import SchannelContext
from ._credential import SchannelCredential

__all__ = ("SCHANNEL_MAX_TOKEN", "SCHANNEL_PACKAGE_NAME", "SchannelPackage")

SCHANNEL_PACKAGE_NAME: Final = "Schannel"
#: cbMaxToken Windows reports for Schannel (and the Unified provider): 0x6000 (24576).
SCHANNEL_MAX_TOKEN: Final = 0x6000
#: UNISP_RPC_ID (sspi.h/schannel.h): Schannel's DCE RPC authentication service id.
_UNISP_RPC_ID: Final = 14

_CAPABILITIES: Final = (
    SECPKG_FLAG_INTEGRITY
    | SECPKG_FLAG_PRIVACY
    | SECPKG_FLAG_CONNECTION
    | SECPKG_FLAG_MULTI_REQUIRED
    | SECPKG_FLAG_EXTENDED_ERROR
    | SECPKG_FLAG_IMPERSONATION
    | SECPKG_FLAG_ACCEPT_WIN32_NAME
    | SECPKG_FLAG_STREAM
    | SECPKG_FLAG_MUTUAL_AUTH
)


class SchannelPackage:
    """Schannel: real TLS 1.2/1.3 through OpenSSL (``ssl.MemoryBIO``) with Schannel's token and
    buffer rules (implements ``SecurityPackage``). One instance serves every credential."""

    __slots__ = ()

    @property
    def info(self) -> SecPkgInfo:
        """Name ``"Schannel"``, Schannel's capability bits and maximum token size."""
        return SecPkgInfo(
            fCapabilities=_CAPABILITIES,
            wVersion=1,
            wRPCID=_UNISP_RPC_ID,
            cbMaxToken=SCHANNEL_MAX_TOKEN,
            Name=SCHANNEL_PACKAGE_NAME,
            Comment="Schannel Security Package (TLS 1.2/1.3 through OpenSSL)",
        )

    @property
    def tls_framed(self) -> bool:
        """True: the Schannel buffer rules (T1–T7) apply."""
        return True

    @property
    def judges_headers(self) -> bool:
        """True: OpenSSL reads a record's header before its body and may refuse it then (E4)."""
        return True

    @property
    def offload(self) -> bool:
        """True: handshake steps do public-key cryptography; they run in worker threads (A14)."""
        return True

    def acquire_credentials(
        self, principal: str | None, use: int, auth_data: object | None
    ) -> SchannelCredential:
        """Validate ``auth_data`` (a :class:`SchannelConfig` or ``None``) into a credential.

        ``principal`` is ignored, as Schannel ignores ``pszPrincipal``.

        Raises:
            PackageError: the C-rule statuses of :func:`~._config.validate`.
        """
        del principal
        if auth_data is not None and not isinstance(auth_data, SchannelConfig):
            raise PackageError(
                S.SEC_E_UNKNOWN_CREDENTIALS,
                f"Schannel: auth data must be a SchannelConfig or None, not {type(auth_data).__name__}",
            )
        config = auth_data if auth_data is not None else SchannelConfig()
        validated = validate(use, config)
        return SchannelCredential(use, validated.expiry, config, validated)

    def new_context(
        self, credential: PackageCredential, request: ContextRequest
    ) -> SchannelContext:
        """Start one side of a connection on ``credential``.

        Raises:
            PackageError: ``SEC_E_INVALID_HANDLE`` for a credential of another package, and the
                errors of :class:`SchannelContext`.
        """
        if not isinstance(credential, SchannelCredential):
            raise PackageError(
                S.SEC_E_INVALID_HANDLE, "Schannel: the credential does not belong to Schannel"
            )
        return SchannelContext(credential, request)
