"""sspi_async: the Windows asynchronous SSPI API, emulated on asyncio.

The Pythonic API lives here; the exact Win32 names are in :mod:`sspi_async.sspi`.

    async with sspi_async.Emulator() as emu:
        client_cred = await sspi_async.acquire_credentials("SimTLS", "outbound", SimTLSCred(...))
        ...
"""

from __future__ import annotations

from ._api._objects import (
    Credentials,
    Decrypted,
    SecurityContext,
    StepOutcome,
    acquire_credentials,
    handshake,
)
from ._api._stream import SspiTLSAttribute, SspiTLSStream
from ._core._async_context import SspiAsyncContext
from ._core._config import ConfigurationError, EmulatorSettings, SimTLSCred
from ._core._emulator import Emulator, current_emulator
from ._core._impersonation import current_token, process_token, set_process_token
from ._core._registry import register_package
from ._core._schannel_cred import SchannelCred
from ._errors import (
    AuthenticationError,
    BufferTooSmallError,
    IncompleteMessageError,
    InvalidHandleError,
    InvalidTokenError,
    MessageAlteredError,
    SspiError,
    SspiMisuseError,
)
from ._flags import ImpersonationLevel, Role
from ._identity import AccessToken
from ._status import SecurityStatus

__version__ = "0.1.0"

__all__ = (
    "AccessToken",
    "AuthenticationError",
    "BufferTooSmallError",
    "ConfigurationError",
    "Credentials",
    "Decrypted",
    "Emulator",
    "EmulatorSettings",
    "ImpersonationLevel",
    "IncompleteMessageError",
    "InvalidHandleError",
    "InvalidTokenError",
    "MessageAlteredError",
    "Role",
    "SecurityContext",
    "SchannelCred",
    "SecurityStatus",
    "SimTLSCred",
    "SspiAsyncContext",
    "SspiError",
    "SspiMisuseError",
    "SspiTLSAttribute",
    "SspiTLSStream",
    "StepOutcome",
    "__version__",
    "acquire_credentials",
    "current_emulator",
    "current_token",
    "handshake",
    "process_token",
    "register_package",
    "set_process_token",
)
