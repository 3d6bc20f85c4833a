"""sspi_async: the Windows asynchronous SSPI API, emulated on asyncio.

The Pythonic API lives here; the exact Win32 names are in :mod:`sspi_async.sspi`.

    async with sspi_async.Emulator() as emu:
        client_cred = await sspi_async.acquire_credentials("SimTLS", "outbound", SimTLSCred(...))
        ...
"""

from __future__ import annotations

import typing

from ._lazy import lazy_names as _lazy_names

if typing.TYPE_CHECKING:
    from ._api._handshake import handshake
    from ._api._listener import SspiTLSListener
    from ._api._objects import (
        Credentials,
        Decrypted,
        SecurityContext,
        StepOutcome,
        acquire_credentials,
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
    from ._core._impersonation import (
        call_as,
        current_token,
        process_token,
        run_as,
        set_process_token,
    )
    from ._core._registry import register_package
    from ._core._schannel_cred import SchannelCred
    from ._core._trace import TraceEvent, TraceFormatError, load_trace
    from ._core._trace_render import render_mermaid, render_text
    from ._core._trace_svg import render_svg
    from ._errors import (
        AuthenticationError,
        BrokenContextError,
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
    "BrokenContextError",
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
    "SspiTLSListener",
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

#: The module each public name lives in. Names are imported on first use (PEP 562), so that
#: ``import sspi_async`` — which the pytest plugin makes every pytest run do wherever sspi_async is
#: installed — costs milliseconds, not the ~0.4 s of pydantic models, anyio and cryptography.
_LAZY: dict[str, str] = {
    "AccessToken": "._identity",
    "AuthenticationError": "._errors",
    "BrokenContextError": "._errors",
    "BufferTooSmallError": "._errors",
    "ConfigurationError": "._core._config",
    "CorruptAction": "._core._faults",
    "Credentials": "._api._objects",
    "Decrypted": "._api._objects",
    "DelayAction": "._core._faults",
    "EagerAction": "._core._faults",
    "Emulator": "._core._emulator",
    "EmulatorSettings": "._core._config",
    "FailAction": "._core._faults",
    "FaultPlan": "._core._faults",
    "FaultPlanError": "._core._faults",
    "FaultRule": "._core._faults",
    "ImpersonationLevel": "._flags",
    "IncompleteMessageError": "._errors",
    "InvalidHandleError": "._errors",
    "InvalidTokenError": "._errors",
    "MessageAlteredError": "._errors",
    "Role": "._flags",
    "SchannelCred": "._core._schannel_cred",
    "SecurityContext": "._api._objects",
    "SecurityStatus": "._status",
    "SimTLSCred": "._core._config",
    "SplitAction": "._core._faults",
    "SspiAsyncContext": "._core._async_context",
    "SspiError": "._errors",
    "SspiMisuseError": "._errors",
    "SspiTLSAttribute": "._api._stream",
    "SspiTLSListener": "._api._listener",
    "SspiTLSStream": "._api._stream",
    "StallAction": "._core._faults",
    "StepOutcome": "._api._objects",
    "TraceEvent": "._core._trace",
    "TraceFormatError": "._core._trace",
    "TruncateAction": "._core._faults",
    "acquire_credentials": "._api._objects",
    "call_as": "._core._impersonation",
    "current_emulator": "._core._emulator",
    "current_token": "._core._impersonation",
    "handshake": "._api._handshake",
    "load_trace": "._core._trace",
    "process_token": "._core._impersonation",
    "register_package": "._core._registry",
    "render_mermaid": "._core._trace_render",
    "render_svg": "._core._trace_svg",
    "render_text": "._core._trace_render",
    "run_as": "._core._impersonation",
    "set_process_token": "._core._impersonation",
}


__getattr__, __dir__ = _lazy_names(__name__, _LAZY)
