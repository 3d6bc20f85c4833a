"""COM vocabulary: HRESULTs, Win32 error codes and the RPC/EOAC constants (reference §1, §3).

HRESULTs are Python ints with the **unsigned** 32-bit winerror.h value (as SPEC §2 does for
SECURITY_STATUS), as members of :class:`HResult` so that they print by name. Values are checked
against the table of ``shared/reference/impersonation-and-com-async.md`` §1 by
``tests/com/test_vocabulary.py``.
"""

from __future__ import annotations

import enum
import uuid
from typing import Final

__all__ = (
    "EOAC_DYNAMIC_CLOAKING",
    "EOAC_MAKE_FULLSIC",
    "EOAC_MUTUAL_AUTH",
    "EOAC_NONE",
    "EOAC_STATIC_CLOAKING",
    "GENERIC_ALL",
    "GENERIC_EXECUTE",
    "GENERIC_READ",
    "GENERIC_WRITE",
    "IID_ICancelMethodCalls",
    "IID_IClientSecurity",
    "IID_IServerSecurity",
    "IID_ISynchronize",
    "IID_IUnknown",
    "INFINITE",
    "RPC_C_AUTHN_DEFAULT",
    "RPC_C_AUTHN_GSS_KERBEROS",
    "RPC_C_AUTHN_GSS_NEGOTIATE",
    "RPC_C_AUTHN_GSS_SCHANNEL",
    "RPC_C_AUTHN_LEVEL_CALL",
    "RPC_C_AUTHN_LEVEL_CONNECT",
    "RPC_C_AUTHN_LEVEL_DEFAULT",
    "RPC_C_AUTHN_LEVEL_NONE",
    "RPC_C_AUTHN_LEVEL_PKT",
    "RPC_C_AUTHN_LEVEL_PKT_INTEGRITY",
    "RPC_C_AUTHN_LEVEL_PKT_PRIVACY",
    "RPC_C_AUTHN_NONE",
    "RPC_C_AUTHN_WINNT",
    "RPC_C_AUTHZ_NONE",
    "RPC_C_IMP_LEVEL_ANONYMOUS",
    "RPC_C_IMP_LEVEL_DEFAULT",
    "RPC_C_IMP_LEVEL_DELEGATE",
    "RPC_C_IMP_LEVEL_IDENTIFY",
    "RPC_C_IMP_LEVEL_IMPERSONATE",
    "HResult",
    "Win32Error",
    "hresult_name",
)


class _Named(enum.IntEnum):
    """An int that prints as its winerror.h name."""

    def __str__(self) -> str:
        return self.name


class HResult(_Named):
    """An HRESULT with its winerror.h name; ``int(h)`` is the unsigned value."""

    S_OK = 0x00000000
    S_FALSE = 0x00000001
    E_NOTIMPL = 0x80004001
    E_NOINTERFACE = 0x80004002
    E_FAIL = 0x80004005
    E_UNEXPECTED = 0x8000FFFF
    E_OUTOFMEMORY = 0x8007000E
    E_INVALIDARG = 0x80070057
    RPC_E_CALL_CANCELED = 0x80010002
    RPC_E_SERVERFAULT = 0x80010105
    RPC_E_DISCONNECTED = 0x80010108
    RPC_E_WRONG_THREAD = 0x8001010E
    RPC_S_CALLPENDING = 0x80010115
    RPC_S_WAITONTIMER = 0x80010116
    RPC_E_CALL_COMPLETE = 0x80010117
    RPC_E_UNSECURE_CALL = 0x80010118
    RPC_E_ACCESS_DENIED = 0x8001011B
    RPC_E_NO_CONTEXT = 0x8001011E
    RPC_E_TIMEOUT = 0x8001011F
    RPC_E_NO_SYNC = 0x80010120
    CO_E_FAILEDTOIMPERSONATE = 0x80010123
    CO_E_CANCEL_DISABLED = 0x80010140


class Win32Error(_Named):
    """Win32 error codes (winerror.h) returned by the emulated resource functions (R14)."""

    ERROR_SUCCESS = 0
    ERROR_ACCESS_DENIED = 5
    ERROR_NO_TOKEN = 1008
    ERROR_BAD_IMPERSONATION_LEVEL = 1346
    ERROR_CANT_OPEN_ANONYMOUS = 1347


_BY_VALUE: Final = {int(member): member for member in HResult}


def hresult_name(value: int) -> str:
    """The winerror.h name of ``value``, or its hex form when it has none."""
    member = _BY_VALUE.get(value & 0xFFFFFFFF)
    return member.name if member is not None else f"0x{value & 0xFFFFFFFF:08X}"


#: ``WaitForSingleObject``'s "no time-out" (``ISynchronize::Wait``).
INFINITE: Final = 0xFFFFFFFF

# RPC_C_AUTHN_LEVEL_* (rpcdce.h)
RPC_C_AUTHN_LEVEL_DEFAULT: Final = 0
RPC_C_AUTHN_LEVEL_NONE: Final = 1
RPC_C_AUTHN_LEVEL_CONNECT: Final = 2
RPC_C_AUTHN_LEVEL_CALL: Final = 3
RPC_C_AUTHN_LEVEL_PKT: Final = 4
RPC_C_AUTHN_LEVEL_PKT_INTEGRITY: Final = 5
RPC_C_AUTHN_LEVEL_PKT_PRIVACY: Final = 6

# RPC_C_IMP_LEVEL_* (reference §3.1): SecurityX + 1
RPC_C_IMP_LEVEL_DEFAULT: Final = 0
RPC_C_IMP_LEVEL_ANONYMOUS: Final = 1
RPC_C_IMP_LEVEL_IDENTIFY: Final = 2
RPC_C_IMP_LEVEL_IMPERSONATE: Final = 3
RPC_C_IMP_LEVEL_DELEGATE: Final = 4

# Authentication services (rpcdce.h)
RPC_C_AUTHN_NONE: Final = 0
RPC_C_AUTHN_GSS_NEGOTIATE: Final = 9
RPC_C_AUTHN_WINNT: Final = 10
RPC_C_AUTHN_GSS_SCHANNEL: Final = 14
RPC_C_AUTHN_GSS_KERBEROS: Final = 16
RPC_C_AUTHN_DEFAULT: Final = 0xFFFFFFFF
RPC_C_AUTHZ_NONE: Final = 0

# EOLE_AUTHENTICATION_CAPABILITIES (reference §3.3)
EOAC_NONE: Final = 0x0
EOAC_MUTUAL_AUTH: Final = 0x1
EOAC_STATIC_CLOAKING: Final = 0x20
EOAC_DYNAMIC_CLOAKING: Final = 0x40
EOAC_MAKE_FULLSIC: Final = 0x100

# Generic access rights (winnt.h), used as plain bits by the emulated Securable.
GENERIC_READ: Final = 0x80000000
GENERIC_WRITE: Final = 0x40000000
GENERIC_EXECUTE: Final = 0x20000000
GENERIC_ALL: Final = 0x10000000

# Interface ids (objidl.idl).
IID_IUnknown: Final = uuid.UUID("00000000-0000-0000-C000-000000000046")
IID_ICancelMethodCalls: Final = uuid.UUID("00000029-0000-0000-C000-000000000046")
IID_ISynchronize: Final = uuid.UUID("00000030-0000-0000-C000-000000000046")
IID_IClientSecurity: Final = uuid.UUID("0000013D-0000-0000-C000-000000000046")
IID_IServerSecurity: Final = uuid.UUID("0000013E-0000-0000-C000-000000000046")
