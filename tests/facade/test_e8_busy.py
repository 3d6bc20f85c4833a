"""E8: busy is a named error — two steps at once on one security context (flat facade).

The first ``Sspi*SecurityContextAsync`` step on a context is queued; until it completes, a second
queued step, a classic ISC/ASC or an ``ApplyControlToken`` on the same context raises
``SspiMisuseError`` naming the context and what to do, from the call itself (queueing never
suspends, A15), and nothing is queued. The first step completes as usual; afterwards the context
takes its next step.
"""

from __future__ import annotations

import re

import pytest

from sspi_async import Emulator, SspiMisuseError
from sspi_async.sspi import (
    ISC_REQ_ALLOCATE_MEMORY,
    SCHANNEL_SHUTDOWN,
    SEC_E_INTERNAL_ERROR,
    SEC_E_OK,
    SEC_I_ASYNC_CALL_PENDING,
    SEC_I_CONTINUE_NEEDED,
    SECBUFFER_TOKEN,
    SECPKG_CRED_INBOUND,
    SECPKG_CRED_OUTBOUND,
    SECURITY_NATIVE_DREP,
    ULONG,
    AcceptSecurityContext,
    AcquireCredentialsHandle,
    ApplyControlToken,
    CredHandle,
    CtxtHandle,
    InitializeSecurityContext,
    SecBuffer,
    SecBufferDesc,
    SspiAcceptSecurityContextAsync,
    SspiCreateAsyncContext,
    SspiFreeAsyncContext,
    SspiGetAsyncCallStatus,
    SspiInitializeSecurityContextAsync,
    wait_async_call,
)
from tests.facade.helpers import (
    ASC_FLAGS,
    ISC_FLAGS,
    client_auth,
    server_auth,
    token_in,
    token_out,
)

BUSY = "while another InitializeSecurityContext/AcceptSecurityContext step on it is in flight"


def _busy(handle: CtxtHandle, function: str) -> str:
    """The ``match=`` pattern of the E8 error: the function, the context, the way out."""
    return re.escape(f"{function} on security context {handle!r} {BUSY}") + ".*wait for"


def _started() -> tuple[CtxtHandle, CtxtHandle, bytes]:
    """A SimTLS client and server after ClientHello → server flight (classic calls): the
    client's context, the server's, and the server's flight for the client's next step."""
    ccred, scred = CredHandle(), CredHandle()
    assert AcquireCredentialsHandle(
        None, "SimTLS", SECPKG_CRED_OUTBOUND, None, client_auth(), None, None, ccred, None
    ) == (SEC_E_OK)
    assert (
        AcquireCredentialsHandle(
            None, "SimTLS", SECPKG_CRED_INBOUND, None, server_auth(), None, None, scred, None
        )
        == SEC_E_OK
    )
    cctx, sctx = CtxtHandle(), CtxtHandle()
    hello = token_out()
    status = InitializeSecurityContext(
        ccred, None, "server", ISC_FLAGS, 0, SECURITY_NATIVE_DREP, None, 0, cctx, hello, ULONG()
    )
    assert status == SEC_I_CONTINUE_NEEDED
    flight = token_out()
    status = AcceptSecurityContext(
        scred, None, token_in(hello.pBuffers[0].data()), ASC_FLAGS, 0, sctx, flight, ULONG()
    )
    assert status == SEC_I_CONTINUE_NEEDED
    return cctx, sctx, flight.pBuffers[0].data()


async def _queue_isc(actx: object, cctx: CtxtHandle, token: bytes) -> int:
    return await SspiInitializeSecurityContextAsync(
        actx,
        None,
        cctx,
        "server",
        ISC_FLAGS | ISC_REQ_ALLOCATE_MEMORY,
        0,
        SECURITY_NATIVE_DREP,
        token_in(token),
        0,
        CtxtHandle(),
        SecBufferDesc([SecBuffer(SECBUFFER_TOKEN)]),
        ULONG(),
        None,
    )


async def test_e8_second_queued_step_raises_misuse_naming_the_context() -> None:
    """E8/A15: a second queued ISC on a context with a step in flight raises SspiMisuseError."""
    async with Emulator():
        cctx, _, flight = _started()
        first, second = await SspiCreateAsyncContext(), await SspiCreateAsyncContext()
        assert await _queue_isc(first, cctx, flight) == SEC_E_OK
        with pytest.raises(
            SspiMisuseError, match=_busy(cctx, "SspiInitializeSecurityContextAsync")
        ):
            await _queue_isc(second, cctx, flight)
        assert await SspiGetAsyncCallStatus(second) != SEC_I_ASYNC_CALL_PENDING  # nothing queued
        result = await wait_async_call(first)
        assert result in (SEC_E_OK, SEC_I_CONTINUE_NEEDED)
        assert result != SEC_E_INTERNAL_ERROR
        await SspiFreeAsyncContext(first)
        await SspiFreeAsyncContext(second)


async def test_e8_second_queued_asc_names_accept() -> None:
    """E8: the same for AcceptSecurityContext: the error names the call and the context."""
    async with Emulator():
        _, sctx, _ = _started()
        first, second = await SspiCreateAsyncContext(), await SspiCreateAsyncContext()

        async def queue(actx: object) -> int:
            return await SspiAcceptSecurityContextAsync(
                actx, None, sctx, token_in(b"\x16\x03\x03\x00\x01\x00"), ASC_FLAGS, 0,
                CtxtHandle(), token_out(), ULONG(), None,
            )  # fmt: skip

        assert await queue(first) == SEC_E_OK
        with pytest.raises(SspiMisuseError, match=_busy(sctx, "SspiAcceptSecurityContextAsync")):
            await queue(second)
        assert await wait_async_call(first) != SEC_E_INTERNAL_ERROR
        await SspiFreeAsyncContext(first)
        await SspiFreeAsyncContext(second)


async def test_e8_classic_step_during_an_async_step_raises_misuse() -> None:
    """E8: a classic ISC on a context whose async step is in flight raises SspiMisuseError."""
    async with Emulator():
        cctx, _, flight = _started()
        actx = await SspiCreateAsyncContext()
        assert await _queue_isc(actx, cctx, flight) == SEC_E_OK
        with pytest.raises(SspiMisuseError, match=_busy(cctx, "InitializeSecurityContext")):
            InitializeSecurityContext(
                None, cctx, "server", ISC_FLAGS, 0, SECURITY_NATIVE_DREP, token_in(flight), 0,
                CtxtHandle(), token_out(), ULONG(),
            )  # fmt: skip
        assert await wait_async_call(actx) != SEC_E_INTERNAL_ERROR
        await SspiFreeAsyncContext(actx)


async def test_e8_control_token_during_an_async_step_raises_misuse() -> None:
    """E8/M4: ApplyControlToken while a step is in flight raises; afterwards it is accepted."""
    async with Emulator():
        cctx, _, flight = _started()
        actx = await SspiCreateAsyncContext()
        assert await _queue_isc(actx, cctx, flight) == SEC_E_OK
        control = SecBufferDesc(
            [SecBuffer.of(SECBUFFER_TOKEN, SCHANNEL_SHUTDOWN.to_bytes(4, "little"))]
        )
        with pytest.raises(SspiMisuseError, match=_busy(cctx, "ApplyControlToken")):
            ApplyControlToken(cctx, control)
        await wait_async_call(actx)
        assert ApplyControlToken(cctx, control) == SEC_E_OK
        await SspiFreeAsyncContext(actx)


async def test_e8_after_completion_the_next_step_is_accepted() -> None:
    """E8: once the first step completed, the context takes the next one (no stale claim)."""
    async with Emulator():
        cctx, _, flight = _started()
        actx = await SspiCreateAsyncContext()
        assert await _queue_isc(actx, cctx, flight) == SEC_E_OK
        assert await wait_async_call(actx) in (SEC_E_OK, SEC_I_CONTINUE_NEEDED)
        other = await SspiCreateAsyncContext()
        # The same flight again is a protocol error now, but it is queued: not busy.
        assert await _queue_isc(other, cctx, flight) == SEC_E_OK
        assert await wait_async_call(other) != SEC_E_INTERNAL_ERROR
        await SspiFreeAsyncContext(actx)
        await SspiFreeAsyncContext(other)
