"""The five queued operations of sspi.h with their queue-time checks (A4), in the order of
reference §3.5/§3.7. Anything else is the call's result, reported at completion (A5)."""

from __future__ import annotations

from typing import Any

from .._buffers import SecBufferDesc
from .._flags import MAX_OUTPUT_BUFFERS, Role
from .._handles import SecHandle
from .._status import SecurityStatus
from ._async_context import SspiAsyncContext
from ._checks import check_int, check_optional, check_out_value

__all__ = ("acquire_async", "context_async", "delete_async", "free_credentials_async")

S = SecurityStatus


def acquire_async(
    actx: SspiAsyncContext | None,
    pszPrincipal: str | None,
    pszPackage: str | None,
    fCredentialUse: int,
    pAuthData: object | None,
    phCredential: SecHandle | None,
    ptsExpiry: Any,
) -> int:
    """SspiAcquireCredentialsHandleAsync: queue-time checks, then the engine at completion."""
    function = "SspiAcquireCredentialsHandleAsync"
    if actx is None:
        return S.SEC_E_INVALID_PARAMETER
    check_optional("pszPrincipal", pszPrincipal, str)
    check_optional("pszPackage", pszPackage, str)
    check_int("fCredentialUse", fCredentialUse)
    check_optional("phCredential", phCredential, SecHandle)
    check_out_value("ptsExpiry", ptsExpiry)
    emulator = actx._emulator
    refused = emulator.precheck(actx, function)
    if refused is not None:
        return refused
    if phCredential is None:
        return S.SEC_E_INVALID_HANDLE
    engine = emulator.engine
    return emulator.queue(
        actx,
        function,
        lambda: engine.acquire_credentials(
            pszPrincipal, pszPackage, fCredentialUse, pAuthData, phCredential, ptsExpiry
        ),
    )


def context_async(
    role: Role,
    actx: SspiAsyncContext | None,
    phCredential: SecHandle | None,
    phContext: SecHandle | None,
    pszTargetName: str | None,
    fContextReq: int,
    Reserved1: int,
    pInput: SecBufferDesc | None,
    Reserved2: int,
    phNewContext: SecHandle | None,
    pOutput: SecBufferDesc | None,
    pfContextAttr: Any,
    ptsExpiry: Any,
) -> int:
    """SspiInitializeSecurityContextAsync / SspiAcceptSecurityContextAsync (A4)."""
    function = (
        "SspiInitializeSecurityContextAsync"
        if role is Role.CLIENT
        else "SspiAcceptSecurityContextAsync"
    )
    if actx is None:
        return S.SEC_E_INVALID_PARAMETER
    check_optional("phCredential", phCredential, SecHandle)
    check_optional("phContext", phContext, SecHandle)
    check_optional("pszTargetName", pszTargetName, str)
    check_int("fContextReq", fContextReq)
    check_int("Reserved1", Reserved1)
    check_optional("pInput", pInput, SecBufferDesc)
    check_int("Reserved2", Reserved2)
    check_optional("phNewContext", phNewContext, SecHandle)
    check_optional("pOutput", pOutput, SecBufferDesc)
    check_out_value("pfContextAttr", pfContextAttr)
    check_out_value("ptsExpiry", ptsExpiry)
    emulator = actx._emulator
    refused = emulator.precheck(actx, function)
    if refused is not None:
        return refused
    if phNewContext is None or (phCredential is None and phContext is None):
        return emulator._refuse(actx, function, S.SEC_E_INVALID_HANDLE)
    if (pOutput is not None and pOutput.cBuffers > MAX_OUTPUT_BUFFERS) or Reserved1 or Reserved2:
        return emulator._refuse(actx, function, S.SEC_E_INVALID_PARAMETER)
    engine = emulator.engine
    return emulator.queue(
        actx,
        function,
        lambda: engine.security_context(
            role,
            phCredential,
            phContext,
            pszTargetName,
            fContextReq,
            pInput,
            phNewContext,
            pOutput,
            pfContextAttr,
            ptsExpiry,
        ),
    )


def delete_async(actx: SspiAsyncContext | None, phContext: SecHandle | None) -> int:
    """SspiDeleteSecurityContextAsync (A4, T13)."""
    function = "SspiDeleteSecurityContextAsync"
    if actx is None:
        return S.SEC_E_INVALID_PARAMETER
    check_optional("phContext", phContext, SecHandle)
    emulator = actx._emulator
    refused = emulator.precheck(actx, function)
    if refused is not None:
        return refused
    if phContext is None:
        return emulator._refuse(actx, function, S.SEC_E_INVALID_HANDLE)
    engine = emulator.engine
    return emulator.queue(actx, function, lambda: engine.delete_context(phContext))


def free_credentials_async(actx: SspiAsyncContext | None, phCredential: SecHandle | None) -> int:
    """SspiFreeCredentialsHandleAsync (A4, C4)."""
    function = "SspiFreeCredentialsHandleAsync"
    if actx is None:
        return S.SEC_E_INVALID_PARAMETER
    check_optional("phCredential", phCredential, SecHandle)
    emulator = actx._emulator
    refused = emulator.precheck(actx, function)
    if refused is not None:
        return refused
    if phCredential is None:
        return emulator._refuse(actx, function, S.SEC_E_INVALID_HANDLE)
    engine = emulator.engine
    return emulator.queue(actx, function, lambda: engine.free_credentials(phCredential))
