"""Status codes (L0): every SECURITY_STATUS value of winerror.h that sspi.h code meets.

Values are the **unsigned** 32-bit winerror.h values (SPEC §2), as members of the
:class:`SecurityStatus` ``IntEnum`` so that they print by name. Generated from the tables in
``shared/reference/sspi-api-and-schannel.md`` §4 and checked by ``tests/test_vocabulary.py``.
"""

from __future__ import annotations

import enum
from typing import Final

__all__ = (
    "STATUS_INVALID_PARAMETER",
    "STATUS_PENDING",
    "STATUS_SUCCESS",
    "SEC_SUCCESS",
    "SecurityStatus",
    "as_status",
    "from_signed",
    "status_name",
    "to_signed",
)


class SecurityStatus(enum.IntEnum):
    """A SECURITY_STATUS with its winerror.h name; ``int(s)`` is the unsigned value."""

    def __str__(self) -> str:
        return self.name

    SEC_E_OK = 0x00000000
    SEC_I_CONTINUE_NEEDED = 0x00090312
    SEC_I_COMPLETE_NEEDED = 0x00090313
    SEC_I_COMPLETE_AND_CONTINUE = 0x00090314
    SEC_I_LOCAL_LOGON = 0x00090315
    SEC_I_GENERIC_EXTENSION_RECEIVED = 0x00090316
    SEC_I_CONTEXT_EXPIRED = 0x00090317
    SEC_I_INCOMPLETE_CREDENTIALS = 0x00090320
    SEC_I_RENEGOTIATE = 0x00090321
    SEC_I_NO_LSA_CONTEXT = 0x00090323
    SEC_I_SIGNATURE_NEEDED = 0x0009035C
    SEC_I_NO_RENEGOTIATION = 0x00090360
    SEC_I_MESSAGE_FRAGMENT = 0x00090364
    SEC_I_CONTINUE_NEEDED_MESSAGE_OK = 0x00090366
    SEC_I_ASYNC_CALL_PENDING = 0x00090368
    SEC_E_INSUFFICIENT_MEMORY = 0x80090300
    SEC_E_INVALID_HANDLE = 0x80090301
    SEC_E_UNSUPPORTED_FUNCTION = 0x80090302
    SEC_E_NOT_SUPPORTED = SEC_E_UNSUPPORTED_FUNCTION  # alias
    SEC_E_TARGET_UNKNOWN = 0x80090303
    SEC_E_INTERNAL_ERROR = 0x80090304
    SEC_E_NO_SPM = SEC_E_INTERNAL_ERROR  # alias
    SEC_E_SECPKG_NOT_FOUND = 0x80090305
    SEC_E_NOT_OWNER = 0x80090306
    SEC_E_CANNOT_INSTALL = 0x80090307
    SEC_E_INVALID_TOKEN = 0x80090308
    SEC_E_CANNOT_PACK = 0x80090309
    SEC_E_QOP_NOT_SUPPORTED = 0x8009030A
    SEC_E_NO_IMPERSONATION = 0x8009030B
    SEC_E_LOGON_DENIED = 0x8009030C
    SEC_E_UNKNOWN_CREDENTIALS = 0x8009030D
    SEC_E_NO_CREDENTIALS = 0x8009030E
    SEC_E_MESSAGE_ALTERED = 0x8009030F
    SEC_E_OUT_OF_SEQUENCE = 0x80090310
    SEC_E_NO_AUTHENTICATING_AUTHORITY = 0x80090311
    SEC_E_BAD_PKGID = 0x80090316
    SEC_E_CONTEXT_EXPIRED = 0x80090317
    SEC_E_INCOMPLETE_MESSAGE = 0x80090318
    SEC_E_INCOMPLETE_CREDENTIALS = 0x80090320
    SEC_E_BUFFER_TOO_SMALL = 0x80090321
    SEC_E_WRONG_PRINCIPAL = 0x80090322
    SEC_E_TIME_SKEW = 0x80090324
    SEC_E_UNTRUSTED_ROOT = 0x80090325
    SEC_E_ILLEGAL_MESSAGE = 0x80090326
    SEC_E_CERT_UNKNOWN = 0x80090327
    SEC_E_CERT_EXPIRED = 0x80090328
    SEC_E_ENCRYPT_FAILURE = 0x80090329
    SEC_E_DECRYPT_FAILURE = 0x80090330
    SEC_E_ALGORITHM_MISMATCH = 0x80090331
    SEC_E_SECURITY_QOS_FAILED = 0x80090332
    SEC_E_UNFINISHED_CONTEXT_DELETED = 0x80090333
    SEC_E_WRONG_CREDENTIAL_HANDLE = 0x80090336
    SEC_E_CRYPTO_SYSTEM_INVALID = 0x80090337
    SEC_E_SHUTDOWN_IN_PROGRESS = 0x8009033F
    SEC_E_CERT_WRONG_USAGE = 0x80090349
    SEC_E_DOWNGRADE_DETECTED = 0x80090350
    SEC_E_ISSUING_CA_UNTRUSTED = 0x80090352
    SEC_E_INVALID_PARAMETER = 0x8009035D
    SEC_E_NO_CONTEXT = 0x80090361
    SEC_E_MUTUAL_AUTH_FAILED = 0x80090363
    SEC_E_ONLY_HTTPS_ALLOWED = 0x80090365
    SEC_E_APPLICATION_PROTOCOL_MISMATCH = 0x80090367
    SEC_E_INVALID_UPN_NAME = 0x80090369
    SEC_E_EXT_BUFFER_TOO_SMALL = 0x8009036A
    SEC_E_INSUFFICIENT_BUFFERS = 0x8009036B


#: NTSTATUS values used by SspiReinitAsyncContext (A9). STATUS_INVALID_PARAMETER is our documented
#: choice: the real code is unknown (reference §3.4).
STATUS_SUCCESS: Final = 0x00000000
STATUS_PENDING: Final = 0x00000103
STATUS_INVALID_PARAMETER: Final = 0xC000000D

_BY_VALUE: Final = {int(member): member for member in SecurityStatus}


def as_status(value: int) -> SecurityStatus | int:
    """Return ``value`` as a :class:`SecurityStatus` member, or the plain int when unknown."""
    return _BY_VALUE.get(value & 0xFFFFFFFF, value)


def status_name(value: int) -> str:
    """Return the winerror.h name of ``value``, or its hex form when it has none."""
    member = _BY_VALUE.get(value & 0xFFFFFFFF)
    return member.name if member is not None else f"0x{value & 0xFFFFFFFF:08X}"


def SEC_SUCCESS(status: int) -> bool:  # noqa: N802 - the sspi.h macro name
    """True for success and informational codes: ``status < 0x80000000`` (SPEC §2)."""
    return (status & 0xFFFFFFFF) < 0x80000000


def to_signed(status: int) -> int:
    """Convert an unsigned status to the signed LONG form used by pywin32's ``winerror``."""
    status &= 0xFFFFFFFF
    return status - (1 << 32) if status & 0x80000000 else status


def from_signed(status: int) -> int:
    """Convert a signed LONG status (pywin32 form) to the unsigned value used here."""
    return status & 0xFFFFFFFF
