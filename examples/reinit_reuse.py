"""One async context per side, reused for a whole SimTLS handshake with SspiReinitAsyncContext.

The Microsoft page says: "In a full SSPI handshake, SspiAcceptSecurityContextAsync and
SspiInitializeSecurityContextAsync would be called multiple times until SEC_E_OK is returned.
SspiReinitAsyncContext has been provided for ease of use and to facilitate performance in this
case." This example does exactly that. Each side creates ONE async context and registers ONE
notify callback (a plain function: it only counts and sets an ``asyncio.Event``); every call —
credentials, handshake steps, delete, free — is queued on that context, and between calls
``SspiReinitAsyncContext`` returns it to its initial state. For each call the status is printed
as it moves::

    SEC_E_UNSUPPORTED_FUNCTION -> SEC_I_ASYNC_CALL_PENDING -> <result> -> reinit -> SEC_E_UNSUPPORTED_FUNCTION

(A1: a fresh or reinitialised context reports ``SEC_E_UNSUPPORTED_FUNCTION``; A4/A7: pending
right after queueing; A6: the result, then the callback; A9: reinit keeps the callback.)

The emulator runs with ``EmulatorSettings(strict=True)``: reusing a completed context WITHOUT
reinit is refused at queue time with ``SEC_E_INVALID_PARAMETER`` (A10; Windows does not enforce
this, the emulator does so that tests catch the omission). The last part proves it.

Run: ``python examples/reinit_reuse.py``
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from sspi_async import Emulator, EmulatorSettings, SecurityStatus, SimTLSCred, SspiAsyncContext
from sspi_async.sspi import (
    ASC_REQ_ALLOCATE_MEMORY,
    ASC_REQ_STREAM,
    ISC_REQ_ALLOCATE_MEMORY,
    ISC_REQ_STREAM,
    SEC_E_INVALID_PARAMETER,
    SEC_E_OK,
    SEC_E_UNSUPPORTED_FUNCTION,
    SEC_I_ASYNC_CALL_PENDING,
    SEC_I_CONTINUE_NEEDED,
    SECBUFFER_EMPTY,
    SECBUFFER_TOKEN,
    SECPKG_CRED_INBOUND,
    SECPKG_CRED_OUTBOUND,
    SECURITY_NATIVE_DREP,
    STATUS_SUCCESS,
    ULONG,
    CredHandle,
    CtxtHandle,
    FreeContextBuffer,
    SecBuffer,
    SecBufferDesc,
    SspiAcceptSecurityContextAsync,
    SspiAcquireCredentialsHandleAsync,
    SspiCreateAsyncContext,
    SspiDeleteSecurityContextAsync,
    SspiFreeAsyncContext,
    SspiFreeCredentialsHandleAsync,
    SspiGetAsyncCallStatus,
    SspiInitializeSecurityContextAsync,
    SspiReinitAsyncContext,
    SspiSetAsyncNotifyCallback,
    TimeStamp,
)

TARGET = "server.example"
SECRET = "one context, many calls"


class Side:
    """One end: its single async context, its handles, and what its callback observed."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.cred = CredHandle()
        self.ctx = CtxtHandle()
        self.attrs = ULONG()
        self.expiry = TimeStamp()
        self.started = False
        self.done = False
        self.notified = asyncio.Event()
        self.callbacks = 0
        self.actx: SspiAsyncContext | None = None

    async def open(self) -> None:
        """Create the one async context of this side and register its callback once."""
        self.actx = await SspiCreateAsyncContext()
        assert await SspiGetAsyncCallStatus(self.actx) == SEC_E_UNSUPPORTED_FUNCTION  # A1
        assert await SspiSetAsyncNotifyCallback(self.actx, notify, self) == SEC_E_OK

    async def call(self, function: str, queue: Callable[[SspiAsyncContext], Awaitable[int]]) -> int:
        """Queue ``function`` on the shared context, wait for the callback, then reinit."""
        actx = self.actx
        assert actx is not None
        before = await SspiGetAsyncCallStatus(actx)
        assert before == SEC_E_UNSUPPORTED_FUNCTION, before
        self.notified.clear()
        queued = await queue(actx)
        assert queued == SEC_E_OK, f"{function} refused: {queued}"
        pending = await SspiGetAsyncCallStatus(actx)
        assert pending == SEC_I_ASYNC_CALL_PENDING, pending
        await self.notified.wait()
        result = await SspiGetAsyncCallStatus(actx)
        reinit = await SspiReinitAsyncContext(actx)
        assert reinit == STATUS_SUCCESS, reinit
        after = await SspiGetAsyncCallStatus(actx)
        print(f"{self.name:<7}{function:<36}{before} -> {pending} -> {result} -> reinit -> {after}")
        return result

    async def acquire(self, use: int, auth: SimTLSCred) -> int:
        """SspiAcquireCredentialsHandleAsync into this side's credential handle."""
        return await self.call(
            "SspiAcquireCredentialsHandleAsync",
            lambda actx: SspiAcquireCredentialsHandleAsync(
                actx, None, "SimTLS", use, None, auth, None, None, self.cred, None
            ),
        )

    async def delete(self) -> int:
        """SspiDeleteSecurityContextAsync of this side's context."""
        return await self.call(
            "SspiDeleteSecurityContextAsync",
            lambda actx: SspiDeleteSecurityContextAsync(actx, self.ctx),
        )

    async def free_credentials(self) -> int:
        """SspiFreeCredentialsHandleAsync of this side's credential."""
        return await self.call(
            "SspiFreeCredentialsHandleAsync",
            lambda actx: SspiFreeCredentialsHandleAsync(actx, self.cred),
        )

    async def step(self, token: bytes | None) -> bytes:
        """One ISC (client) or ASC (server) step on the shared async context."""
        pinput = None
        if token is not None:
            pinput = SecBufferDesc(
                [SecBuffer.of(SECBUFFER_TOKEN, token), SecBuffer(SECBUFFER_EMPTY)]
            )
        out = SecBufferDesc([SecBuffer(SECBUFFER_TOKEN)])
        phContext = self.ctx if self.started else None
        if self.name == "client":
            status = await self.call(
                "SspiInitializeSecurityContextAsync",
                lambda actx: SspiInitializeSecurityContextAsync(
                    actx,
                    self.cred,
                    phContext,
                    TARGET,
                    ISC_REQ_STREAM | ISC_REQ_ALLOCATE_MEMORY,
                    0,
                    SECURITY_NATIVE_DREP,
                    pinput,
                    0,
                    self.ctx,
                    out,
                    self.attrs,
                    self.expiry,
                ),
            )
        else:
            status = await self.call(
                "SspiAcceptSecurityContextAsync",
                lambda actx: SspiAcceptSecurityContextAsync(
                    actx,
                    self.cred,
                    phContext,
                    pinput,
                    ASC_REQ_STREAM | ASC_REQ_ALLOCATE_MEMORY,
                    SECURITY_NATIVE_DREP,
                    self.ctx,
                    out,
                    self.attrs,
                    self.expiry,
                ),
            )
        assert status in (SEC_E_OK, SEC_I_CONTINUE_NEEDED), status
        self.started, self.done = True, status == SEC_E_OK
        produced = out.pBuffers[0].data()
        if out.pBuffers[0].pvBuffer is not None:
            FreeContextBuffer(out.pBuffers[0].pvBuffer)
        return produced


def notify(AsyncContext: SspiAsyncContext, side: Side) -> None:
    """The notify callback, registered once per side and kept across reinit (A9)."""
    side.callbacks += 1
    side.notified.set()


async def main() -> None:
    """Acquire, handshake and clean up on one async context per side; then prove strict mode."""
    async with Emulator(EmulatorSettings(strict=True)):
        client, server = Side("client"), Side("server")
        for side, use, principal in (
            (client, SECPKG_CRED_OUTBOUND, "alice"),
            (server, SECPKG_CRED_INBOUND, TARGET),
        ):
            await side.open()
            await side.acquire(use, SimTLSCred(principal=principal, secret=SECRET))

        token: bytes | None = None
        while not (client.done and server.done):
            if not client.done:
                token = await client.step(token)
            if not server.done:
                token = await server.step(token)

        for side in (client, server):
            await side.delete()
            await side.free_credentials()

        # strict=True (A10). The client's context is idle again (call() reinitialised it), so a
        # new call is accepted; this one frees a handle that was never acquired, which completes
        # SEC_E_INVALID_HANDLE (C4).
        actx = client.actx
        assert actx is not None
        client.notified.clear()
        accepted = await SspiFreeCredentialsHandleAsync(actx, CredHandle())
        await client.notified.wait()
        last = await SspiGetAsyncCallStatus(actx)
        print(
            f"strict: idle context -> queue {accepted}, completed {last}, callbacks {client.callbacks}"
        )
        # Reuse WITHOUT reinit: refused at queue time; the status and the callback count stay.
        # (SecurityStatus(...) so the refusal prints by name even where the emulator returns a
        # plain int for it.)
        refused = SecurityStatus(await SspiFreeCredentialsHandleAsync(actx, CredHandle()))
        unchanged = await SspiGetAsyncCallStatus(actx)
        print(
            f"strict: reuse without reinit -> queue {refused}, status stays {unchanged}, "
            f"callbacks {client.callbacks}"
        )
        assert refused == SEC_E_INVALID_PARAMETER, refused
        assert unchanged == last, unchanged
        # After SspiReinitAsyncContext the same context is accepted again.
        assert await SspiReinitAsyncContext(actx) == STATUS_SUCCESS
        client.notified.clear()
        accepted = await SspiFreeCredentialsHandleAsync(actx, CredHandle())
        await client.notified.wait()
        print(
            f"strict: after reinit -> queue {accepted}, completed "
            f"{await SspiGetAsyncCallStatus(actx)}, callbacks {client.callbacks}"
        )
        assert accepted == SEC_E_OK
        assert client.callbacks == 7, "exactly one callback per queued call, none for the refusal"

        for side in (client, server):
            await SspiFreeAsyncContext(side.actx)
        print(
            f"one async context per side: client {client.callbacks} callbacks, "
            f"server {server.callbacks} callbacks"
        )


if __name__ == "__main__":
    asyncio.run(main())
