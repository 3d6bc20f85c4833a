"""A complete SimTLS client/server handshake through the async flat facade, then one encrypted
message each way.

Every handshake call is an async SSPI call with a notify callback, written as Win32 code would:
for each call a side creates an async context, registers its callback, queues the call, and
waits; the callback reads the result with ``SspiGetAsyncCallStatus``, frees the async context
(the Microsoft sample's pattern) and hands the result to the waiting loop through an
``asyncio.Queue``. The loops send each side's output token to the other until both report
``SEC_E_OK``. Then ``QueryContextAttributes(SECPKG_ATTR_STREAM_SIZES)`` sizes the buffers for
``EncryptMessage``/``DecryptMessage`` (classic synchronous functions, as on Windows), and
``SspiDeleteSecurityContextAsync``/``SspiFreeCredentialsHandleAsync`` clean up.

Run: ``python examples/simtls_handshake.py``
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from sspi_async import Emulator, SimTLSCred, SspiAsyncContext
from sspi_async.sspi import (
    ASC_REQ_ALLOCATE_MEMORY,
    ASC_REQ_CONFIDENTIALITY,
    ASC_REQ_STREAM,
    ISC_REQ_ALLOCATE_MEMORY,
    ISC_REQ_CONFIDENTIALITY,
    ISC_REQ_STREAM,
    SEC_E_OK,
    SEC_I_CONTINUE_NEEDED,
    SECBUFFER_DATA,
    SECBUFFER_EMPTY,
    SECBUFFER_STREAM_HEADER,
    SECBUFFER_STREAM_TRAILER,
    SECBUFFER_TOKEN,
    SECPKG_ATTR_STREAM_SIZES,
    SECPKG_CRED_INBOUND,
    SECPKG_CRED_OUTBOUND,
    SECURITY_NATIVE_DREP,
    ULONG,
    CredHandle,
    CtxtHandle,
    DecryptMessage,
    EncryptMessage,
    FreeContextBuffer,
    QueryContextAttributes,
    SecBuffer,
    SecBufferDesc,
    SecPkgContext_StreamSizes,
    SspiAcceptSecurityContextAsync,
    SspiAcquireCredentialsHandleAsync,
    SspiCreateAsyncContext,
    SspiDeleteSecurityContextAsync,
    SspiFreeAsyncContext,
    SspiFreeCredentialsHandleAsync,
    SspiGetAsyncCallStatus,
    SspiInitializeSecurityContextAsync,
    SspiSetAsyncNotifyCallback,
    TimeStamp,
)

TARGET = "server.example"
SECRET = "correct horse battery staple"
ISC_FLAGS = ISC_REQ_CONFIDENTIALITY | ISC_REQ_STREAM | ISC_REQ_ALLOCATE_MEMORY
ASC_FLAGS = ASC_REQ_CONFIDENTIALITY | ASC_REQ_STREAM | ASC_REQ_ALLOCATE_MEMORY


async def on_complete(AsyncContext: SspiAsyncContext, peer: Peer) -> None:
    """The notify callback: read the result, free the async context, wake the peer's loop."""
    status = await SspiGetAsyncCallStatus(AsyncContext)
    await SspiFreeAsyncContext(AsyncContext)
    peer.results.put_nowait(status)


class Peer:
    """One side: its credential and context handles and the results its callbacks deliver."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.cred = CredHandle()
        self.ctx = CtxtHandle()
        self.attrs = ULONG()
        self.expiry = TimeStamp()
        self.started = False
        self.done = False
        self.results: asyncio.Queue[int] = asyncio.Queue()

    async def call(self, queue: Callable[[SspiAsyncContext], Awaitable[int]]) -> int:
        """Create an async context, register the callback, queue the call, wait for its result."""
        actx = await SspiCreateAsyncContext()
        await SspiSetAsyncNotifyCallback(actx, on_complete, self)
        queued = await queue(actx)
        assert queued == SEC_E_OK, f"{self.name}: refused at queue time: {queued}"
        return await self.results.get()

    async def acquire(self, use: int, auth: SimTLSCred) -> int:
        """SspiAcquireCredentialsHandleAsync into this side's credential handle."""
        return await self.call(
            lambda actx: SspiAcquireCredentialsHandleAsync(
                actx, None, "SimTLS", use, None, auth, None, None, self.cred, None
            )
        )

    async def delete(self) -> int:
        """SspiDeleteSecurityContextAsync of this side's context."""
        return await self.call(lambda actx: SspiDeleteSecurityContextAsync(actx, self.ctx))

    async def free_credentials(self) -> int:
        """SspiFreeCredentialsHandleAsync of this side's credential."""
        return await self.call(lambda actx: SspiFreeCredentialsHandleAsync(actx, self.cred))

    async def step(self, token: bytes | None) -> bytes:
        """One InitializeSecurityContext (client) or AcceptSecurityContext (server) step."""
        pinput = None
        if token is not None:
            pinput = SecBufferDesc(
                [SecBuffer.of(SECBUFFER_TOKEN, token), SecBuffer(SECBUFFER_EMPTY)]
            )
        out = SecBufferDesc([SecBuffer(SECBUFFER_TOKEN)])
        phContext = self.ctx if self.started else None
        if self.name == "client":
            status = await self.call(
                lambda actx: SspiInitializeSecurityContextAsync(
                    actx,
                    self.cred,
                    phContext,
                    TARGET,
                    ISC_FLAGS,
                    0,
                    SECURITY_NATIVE_DREP,
                    pinput,
                    0,
                    self.ctx,
                    out,
                    self.attrs,
                    self.expiry,
                )
            )
            function = "SspiInitializeSecurityContextAsync"
        else:
            status = await self.call(
                lambda actx: SspiAcceptSecurityContextAsync(
                    actx,
                    self.cred,
                    phContext,
                    pinput,
                    ASC_FLAGS,
                    SECURITY_NATIVE_DREP,
                    self.ctx,
                    out,
                    self.attrs,
                    self.expiry,
                )
            )
            function = "SspiAcceptSecurityContextAsync"
        assert status in (SEC_E_OK, SEC_I_CONTINUE_NEEDED), f"{self.name}: {function} -> {status}"
        self.started = True
        self.done = status == SEC_E_OK
        buffer = out.pBuffers[0]
        produced = buffer.data()
        if buffer.pvBuffer is not None:  # ISC/ASC_REQ_ALLOCATE_MEMORY: the package allocated it
            FreeContextBuffer(buffer.pvBuffer)
        print(f"{self.name}: {function} -> {status}, token {len(produced)} bytes")
        return produced


def encrypt(ctx: CtxtHandle, plaintext: bytes) -> bytes:
    """EncryptMessage into [STREAM_HEADER, DATA, STREAM_TRAILER, EMPTY]; returns the record."""
    status, sizes = QueryContextAttributes(ctx, SECPKG_ATTR_STREAM_SIZES)
    assert status == SEC_E_OK
    assert isinstance(sizes, SecPkgContext_StreamSizes)
    message = SecBufferDesc(
        [
            SecBuffer(SECBUFFER_STREAM_HEADER, sizes.cbHeader, bytearray(sizes.cbHeader)),
            SecBuffer.of(SECBUFFER_DATA, bytearray(plaintext)),
            SecBuffer(SECBUFFER_STREAM_TRAILER, sizes.cbTrailer, bytearray(sizes.cbTrailer)),
            SecBuffer(SECBUFFER_EMPTY),
        ]
    )
    status = EncryptMessage(ctx, 0, message, 0)
    assert status == SEC_E_OK, status
    return b"".join(b.data() for b in message.pBuffers[:3])


def decrypt(ctx: CtxtHandle, record: bytes) -> bytes:
    """DecryptMessage of one record; returns the plaintext of the DATA buffer."""
    message = SecBufferDesc(
        [SecBuffer.of(SECBUFFER_DATA, bytearray(record))]
        + [SecBuffer(SECBUFFER_EMPTY) for _ in range(3)]
    )
    status = DecryptMessage(ctx, message, 0, None)
    assert status == SEC_E_OK, status
    return next(b.data() for b in message.pBuffers if b.BufferType == SECBUFFER_DATA)


async def main() -> None:
    """Acquire, handshake, exchange one message each way, clean up."""
    async with Emulator():
        client, server = Peer("client"), Peer("server")
        for peer, use, auth in (
            (client, SECPKG_CRED_OUTBOUND, SimTLSCred(principal="alice", secret=SECRET)),
            (server, SECPKG_CRED_INBOUND, SimTLSCred(principal=TARGET, secret=SECRET)),
        ):
            status = await peer.acquire(use, auth)
            print(f"{peer.name}: SspiAcquireCredentialsHandleAsync -> {status}")
            assert status == SEC_E_OK, status

        # The handshake: each side's output token is the other side's input, until both are done.
        token: bytes | None = None
        while not (client.done and server.done):
            if not client.done:
                token = await client.step(token)
            if not server.done:
                token = await server.step(token)
            elif token:
                raise AssertionError("the server finished but the client still sent a token")

        status, sizes = QueryContextAttributes(client.ctx, SECPKG_ATTR_STREAM_SIZES)
        assert isinstance(sizes, SecPkgContext_StreamSizes)
        print(
            f"stream sizes: header {sizes.cbHeader}, trailer {sizes.cbTrailer}, "
            f"max message {sizes.cbMaximumMessage}"
        )
        for sender, receiver, text in (
            (client, server, b"GET / HTTP/1.1"),
            (server, client, b"HTTP/1.1 200 OK"),
        ):
            record = encrypt(sender.ctx, text)
            plain = decrypt(receiver.ctx, record)
            print(
                f"{sender.name} -> {receiver.name}: {len(record)}-byte record, decrypted {plain!r}"
            )
            assert plain == text

        for peer in (client, server):
            status = await peer.delete()
            print(f"{peer.name}: SspiDeleteSecurityContextAsync -> {status}")
            status = await peer.free_credentials()
            print(f"{peer.name}: SspiFreeCredentialsHandleAsync -> {status}")
        print("handshake complete, one message each way, everything released")


if __name__ == "__main__":
    asyncio.run(main())
