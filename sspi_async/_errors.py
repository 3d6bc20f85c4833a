"""Exceptions (L0).

One base, :class:`SspiError`, carries the SECURITY_STATUS that describes the failure; subclasses
are named by meaning. :class:`SspiMisuseError` is for what is undefined behaviour on Windows
(use-after-free of an async context, freeing a context buffer twice): the emulator exists to
catch these bugs, so it raises instead of reproducing the crash (SPEC §2).
"""

from __future__ import annotations

from typing import ClassVar

from ._status import SecurityStatus, status_name

__all__ = (
    "AuthenticationError",
    "BrokenContextError",
    "BufferTooSmallError",
    "IncompleteMessageError",
    "InvalidHandleError",
    "InvalidTokenError",
    "MessageAlteredError",
    "SspiError",
    "SspiMisuseError",
    "error_for_status",
)


class SspiError(Exception):
    """An SSPI operation failed; ``.status`` is the SECURITY_STATUS it failed with."""

    default_status: ClassVar[int] = SecurityStatus.SEC_E_INTERNAL_ERROR

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status: int = self.default_status if status is None else status

    def __str__(self) -> str:
        return f"{self.args[0]} ({status_name(self.status)})"


class SspiMisuseError(SspiError, RuntimeError):
    """The program did something that is undefined behaviour on Windows (SPEC §2)."""

    default_status = SecurityStatus.SEC_E_INVALID_PARAMETER


class InvalidHandleError(SspiError):
    """A credential or context handle is unknown, freed or deleted (SEC_E_INVALID_HANDLE)."""

    default_status = SecurityStatus.SEC_E_INVALID_HANDLE


class InvalidTokenError(SspiError):
    """The token or buffer layout given to the package is malformed (SEC_E_INVALID_TOKEN)."""

    default_status = SecurityStatus.SEC_E_INVALID_TOKEN


class IncompleteMessageError(SspiError):
    """More bytes are needed before the package can go on (SEC_E_INCOMPLETE_MESSAGE)."""

    default_status = SecurityStatus.SEC_E_INCOMPLETE_MESSAGE


class MessageAlteredError(SspiError):
    """A protected message failed its integrity check (SEC_E_MESSAGE_ALTERED)."""

    default_status = SecurityStatus.SEC_E_MESSAGE_ALTERED


class BufferTooSmallError(SspiError):
    """A caller-supplied buffer cannot hold the output (SEC_E_BUFFER_TOO_SMALL)."""

    default_status = SecurityStatus.SEC_E_BUFFER_TOO_SMALL


class AuthenticationError(SspiError):
    """The handshake failed: the peer could not be authenticated or refused us."""

    default_status = SecurityStatus.SEC_E_LOGON_DENIED


class BrokenContextError(SspiError):
    """A step of this security context was cancelled, so the context is unusable (E2).

    The handshake's bytes are in an unknown state (the cancelled call still completed, A6): like
    a trio or anyio stream after a cancelled operation, the context is *broken*. Close it with
    ``aclose()`` (which frees everything, E1) and start a new one.
    """

    default_status = SecurityStatus.SEC_E_CONTEXT_EXPIRED


_BY_STATUS: dict[int, type[SspiError]] = {
    SecurityStatus.SEC_E_INVALID_HANDLE: InvalidHandleError,
    SecurityStatus.SEC_E_INVALID_TOKEN: InvalidTokenError,
    SecurityStatus.SEC_E_INCOMPLETE_MESSAGE: IncompleteMessageError,
    SecurityStatus.SEC_E_MESSAGE_ALTERED: MessageAlteredError,
    SecurityStatus.SEC_E_DECRYPT_FAILURE: MessageAlteredError,
    SecurityStatus.SEC_E_BUFFER_TOO_SMALL: BufferTooSmallError,
    SecurityStatus.SEC_E_LOGON_DENIED: AuthenticationError,
    SecurityStatus.SEC_E_WRONG_PRINCIPAL: AuthenticationError,
    SecurityStatus.SEC_E_UNTRUSTED_ROOT: AuthenticationError,
    SecurityStatus.SEC_E_CERT_EXPIRED: AuthenticationError,
    SecurityStatus.SEC_E_MUTUAL_AUTH_FAILED: AuthenticationError,
    SecurityStatus.SEC_E_ALGORITHM_MISMATCH: AuthenticationError,
    SecurityStatus.SEC_E_ILLEGAL_MESSAGE: AuthenticationError,
}


def error_for_status(status: int, message: str) -> SspiError:
    """Build the :class:`SspiError` subclass that names the meaning of ``status``."""
    return _BY_STATUS.get(status, SspiError)(message, status)
