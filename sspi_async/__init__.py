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
from ._core._faults import (
    CorruptAction,
    DelayAction,
    EagerAction,
    FailAction,
    FaultPlan,
    FaultPlanError,
    FaultRule,
    SplitAction,
    StallAction,
    TruncateAction,
)
from ._core._impersonation import call_as, current_token, process_token, run_as, set_process_token
from ._core._registry import register_package
from ._core._schannel_cred import SchannelCred
from ._core._trace import TraceEvent, TraceFormatError, load_trace
from ._core._trace_render import render_mermaid, render_text
from ._core._trace_svg import render_svg
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
    "CorruptAction",
    "Credentials",
    "Decrypted",
    "DelayAction",
    "EagerAction",
    "Emulator",
    "EmulatorSettings",
    "FailAction",
    "FaultPlan",
    "FaultPlanError",
    "FaultRule",
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
    "SplitAction",
    "SspiAsyncContext",
    "SspiError",
    "SspiMisuseError",
    "SspiTLSAttribute",
    "SspiTLSStream",
    "StallAction",
    "StepOutcome",
    "TraceEvent",
    "TraceFormatError",
    "TruncateAction",
    "__version__",
    "acquire_credentials",
    "call_as",
    "current_emulator",
    "current_token",
    "handshake",
    "load_trace",
    "process_token",
    "register_package",
    "render_mermaid",
    "render_svg",
    "render_text",
    "run_as",
    "set_process_token",
)
