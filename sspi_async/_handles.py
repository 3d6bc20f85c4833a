"""Handles (L1): SecHandle, CredHandle, CtxtHandle, as in sspi.h.

The caller allocates a handle object; the emulator writes its fields. A default-constructed handle
is invalid (both fields ``2**64 - 1``, the value ``SecInvalidateHandle`` writes). Handles compare
equal by fields (SPEC §2).
"""

from __future__ import annotations

from typing import Final

__all__ = (
    "INVALID_HANDLE_VALUE",
    "CredHandle",
    "CtxtHandle",
    "SecHandle",
    "SecInvalidateHandle",
    "SecIsValidHandle",
)

#: ``(ULONG_PTR)(INT_PTR)-1`` on a 64-bit build.
INVALID_HANDLE_VALUE: Final = 2**64 - 1


class SecHandle:
    """``struct _SecHandle { ULONG_PTR dwLower; ULONG_PTR dwUpper; }``."""

    __slots__ = ("dwLower", "dwUpper")

    def __init__(
        self, dwLower: int = INVALID_HANDLE_VALUE, dwUpper: int = INVALID_HANDLE_VALUE
    ) -> None:
        self.dwLower = dwLower
        self.dwUpper = dwUpper

    def key(self) -> tuple[int, int]:
        """The pair of fields, used to look the handle up."""
        return (self.dwLower, self.dwUpper)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SecHandle):
            return NotImplemented
        return self.dwLower == other.dwLower and self.dwUpper == other.dwUpper

    # Handles are mutable out-parameters, so they are unhashable (defining __eq__ sets
    # __hash__ to None); index tables with .key().

    def __repr__(self) -> str:
        if not SecIsValidHandle(self):
            return f"{type(self).__name__}(<invalid>)"
        return f"{type(self).__name__}(dwLower=0x{self.dwLower:x}, dwUpper=0x{self.dwUpper:x})"


class CredHandle(SecHandle):
    """A credential handle (``CredHandle``)."""

    __slots__ = ()


class CtxtHandle(SecHandle):
    """A security context handle (``CtxtHandle``)."""

    __slots__ = ()


def SecIsValidHandle(handle: SecHandle) -> bool:
    """True unless both fields hold the invalid value (sspi.h ``SecIsValidHandle``)."""
    return not (handle.dwLower == INVALID_HANDLE_VALUE and handle.dwUpper == INVALID_HANDLE_VALUE)


def SecInvalidateHandle(handle: SecHandle) -> None:
    """Set both fields to the invalid value (sspi.h ``SecInvalidateHandle``)."""
    handle.dwLower = INVALID_HANDLE_VALUE
    handle.dwUpper = INVALID_HANDLE_VALUE
