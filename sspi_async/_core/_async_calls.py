"""The five queued operations of sspi.h with their queue-time checks (A4), in the order of
reference §3.5/§3.7. Anything else is the call's result, reported at completion (A5).

While a fault plan or a trace is active (``emulator._observer`` set), each call is also described
by a :class:`~._callinfo.CallInfo` — canonical function name, async context, side and package
(from the handle tables, as far as they know them at queue time), the caller's handles and output
descriptor — built before the A4 checks so that a refused call can be traced too (SPEC §9).
Otherwise ``info`` stays ``None`` and nothing more is done.
"""

from __future__ import annotations

from typing import Any

from .._buffers import SecBufferDesc
from .._errors import SspiMisuseError
from .._flags import MAX_OUTPUT_BUFFERS, Role
from .._handles import SecHandle
from .._status import SecurityStatus
from ._async_context import SspiAsyncContext
from ._callinfo import (
    ACH,
    ASC,
    DSC,
    FCH,
    ISC,
    CallInfo,
    Side,
    side_for_credential_use,
    token_length,
)
from ._checks import check_int, check_optional, check_out_value
from ._engine import Engine, StepJob
from ._entry_states import busy_error
from ._log import CONTEXT_BUSY, enabled, logger
from ._registry import find_package

__all__ = ("acquire_async", "context_async", "delete_async", "free_credentials_async")

S = SecurityStatus
_SIDES: dict[Role, Side] = {Role.CLIENT: "client", Role.SERVER: "server"}


def _credential_side(engine: Engine, handle: SecHandle | None) -> tuple[Side | None, str | None]:
    """Side and package of a live credential handle (``None``s when it is not one)."""
    entry = engine.credentials.get(handle)
    if entry is None:
        return None, None
    return side_for_credential_use(entry.use), entry.package.info.Name


def _context_side(engine: Engine, handle: SecHandle | None) -> tuple[Side | None, str | None]:
    """Side and package of a live context handle (``None``s when it is not one)."""
    entry = engine.contexts.get(handle)
    if entry is None:
        return None, None
    return _SIDES[entry.role], entry.package.info.Name


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
    function = ACH
    if actx is None:
        return S.SEC_E_INVALID_PARAMETER
    check_optional("pszPrincipal", pszPrincipal, str)
    check_optional("pszPackage", pszPackage, str)
    check_int("fCredentialUse", fCredentialUse)
    check_optional("phCredential", phCredential, SecHandle)
    check_out_value("ptsExpiry", ptsExpiry)
    emulator = actx._emulator
    info = None
    if emulator._observer is not None:
        found = find_package(pszPackage)
        info = CallInfo(
            function,
            actx.id,
            tag=actx.tag,
            side=side_for_credential_use(fCredentialUse),
            package=pszPackage if found is None else found.info.Name,
            credential=phCredential,
        )
    refused = emulator.precheck(actx, function, info)
    if refused is not None:
        return refused
    if phCredential is None:
        return emulator._refuse(actx, function, S.SEC_E_INVALID_HANDLE, info)
    engine = emulator.engine
    return emulator.queue(
        actx,
        function,
        lambda: engine.acquire_credentials(
            pszPrincipal, pszPackage, fCredentialUse, pAuthData, phCredential, ptsExpiry
        ),
        info,
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
    function = ISC if role is Role.CLIENT else ASC
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
    engine = emulator.engine
    info = None
    if emulator._observer is not None:
        _, package = (
            _credential_side(engine, phCredential)
            if phContext is None
            else _context_side(engine, phContext)
        )
        info = CallInfo(
            function,
            actx.id,
            tag=actx.tag,
            side=_SIDES[role],
            package=package,
            credential=phCredential,
            context=phNewContext,
            token_in=token_length(pInput),
            output=pOutput,
        )
    refused = emulator.precheck(actx, function, info)
    if refused is not None:
        return refused
    if phNewContext is None or (phCredential is None and phContext is None):
        return emulator._refuse(actx, function, S.SEC_E_INVALID_HANDLE, info)
    if (pOutput is not None and pOutput.cBuffers > MAX_OUTPUT_BUFFERS) or Reserved1 or Reserved2:
        return emulator._refuse(actx, function, S.SEC_E_INVALID_PARAMETER, info)
    entry = engine.context(phContext) if phContext is not None else None
    if entry is not None and (entry.busy or entry.step_queued()):
        # E8: a second step while one is queued or running on this context: raised by the
        # queueing call (it never suspends, A15), nothing queued.
        raise busy_error(phContext, function)

    def work() -> int | StepJob:
        try:
            return engine.security_context(
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
                checked=True,  # the checks above (A4)
            )
        except SspiMisuseError as exc:
            # Only a classic call that raced in between could get here; the queued call
            # completes with the misuse status rather than crash (never INTERNAL_ERROR, E8).
            if enabled():
                logger.warning(CONTEXT_BUSY, function=function, actx=actx.id, reason=str(exc))
            return exc.status

    status = emulator.queue(actx, function, work, info)
    if entry is not None and status == S.SEC_E_OK:
        entry.queued = actx._call
    return status


def delete_async(actx: SspiAsyncContext | None, phContext: SecHandle | None) -> int:
    """SspiDeleteSecurityContextAsync (A4, T13)."""
    function = DSC
    if actx is None:
        return S.SEC_E_INVALID_PARAMETER
    check_optional("phContext", phContext, SecHandle)
    emulator = actx._emulator
    engine = emulator.engine
    info = None
    if emulator._observer is not None:
        side, package = _context_side(engine, phContext)
        info = CallInfo(
            function, actx.id, tag=actx.tag, side=side, package=package, context=phContext
        )
    refused = emulator.precheck(actx, function, info)
    if refused is not None:
        return refused
    if phContext is None:
        return emulator._refuse(actx, function, S.SEC_E_INVALID_HANDLE, info)
    return emulator.queue(actx, function, lambda: engine.delete_context(phContext), info)


def free_credentials_async(actx: SspiAsyncContext | None, phCredential: SecHandle | None) -> int:
    """SspiFreeCredentialsHandleAsync (A4, C4)."""
    function = FCH
    if actx is None:
        return S.SEC_E_INVALID_PARAMETER
    check_optional("phCredential", phCredential, SecHandle)
    emulator = actx._emulator
    engine = emulator.engine
    info = None
    if emulator._observer is not None:
        side, package = _credential_side(engine, phCredential)
        info = CallInfo(
            function, actx.id, tag=actx.tag, side=side, package=package, credential=phCredential
        )
    refused = emulator.precheck(actx, function, info)
    if refused is not None:
        return refused
    if phCredential is None:
        return emulator._refuse(actx, function, S.SEC_E_INVALID_HANDLE, info)
    return emulator.queue(actx, function, lambda: engine.free_credentials(phCredential), info)
