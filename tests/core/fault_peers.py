"""Flat-facade peers for the fault-plan and trace tests (SPEC §9), on SimTLS and Schannel.

A :class:`Peer` is one side of a connection written the way Win32 code is: one async context
(tagged ``"client"``/``"server"``) with a notify callback that records every status it is called
with, reinitialised before each call. :meth:`Peer.queue` returns the queueing status,
:meth:`Peer.result` waits for the callback (an ``asyncio.Event``, never a sleep) and returns the
call's result. :func:`flat_handshake` drives ISC/ASC until both sides completed (session tickets
after the end are left unread: the emulator does not care).

:func:`kit` gives the credential data per package: SimTLS with the demo's principals and ALPN
(the golden SimTLS trace in ``tests/core/golden`` is this handshake), Schannel with the facade
tests' throw-away PKI (an RSA server certificate on request, whose signatures have a fixed size).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sspi_async import SimTLSCred, SspiAsyncContext
from sspi_async.sspi import (
    ASC_REQ_ALLOCATE_MEMORY,
    ASC_REQ_CONFIDENTIALITY,
    ASC_REQ_STREAM,
    ISC_REQ_ALLOCATE_MEMORY,
    ISC_REQ_CONFIDENTIALITY,
    ISC_REQ_STREAM,
    SEC_E_OK,
    SEC_I_CONTINUE_NEEDED,
    SECBUFFER_EMPTY,
    SECBUFFER_TOKEN,
    SECPKG_CRED_INBOUND,
    SECPKG_CRED_OUTBOUND,
    SECURITY_NATIVE_DREP,
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
    SspiFreeCredentialsHandleAsync,
    SspiInitializeSecurityContextAsync,
    SspiReinitAsyncContext,
    SspiSetAsyncNotifyCallback,
)
from tests.facade.schannel_helpers import client_cred, pki

PACKAGES = ("SimTLS", "Schannel")
SECRET = "fault-plan test secret 7f3a"
ISC_FLAGS = ISC_REQ_CONFIDENTIALITY | ISC_REQ_STREAM | ISC_REQ_ALLOCATE_MEMORY
ASC_FLAGS = ASC_REQ_CONFIDENTIALITY | ASC_REQ_STREAM | ASC_REQ_ALLOCATE_MEMORY

Op = Callable[[SspiAsyncContext], Awaitable[int]]


@dataclass(frozen=True)
class Kit:
    """What a package needs for a handshake: its name, both sides' ``pAuthData``, the target."""

    package: str
    client_auth: object
    server_auth: object
    target: str


def kit(package: str, *, rsa: bool = False) -> Kit:
    """The credential data of ``package`` ("SimTLS" or "Schannel")."""
    if package == "SimTLS":
        alpn = ("h2", "http/1.1")
        return Kit(
            package,
            SimTLSCred(principal="alice", secret=SECRET, alpn=alpn),
            SimTLSCred(principal="server.example", secret=SECRET, alpn=alpn),
            "server.example",
        )
    server = pki().server_rsa if rsa else pki().server
    return Kit(package, client_cred(), server.schannel_cred(), "localhost")


class Peer:
    """One side through the flat facade (see the module docstring)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.client = name == "client"
        self.cred = CredHandle()
        self.ctx = CtxtHandle()
        self.started = False
        self.complete = False
        self.notified: list[int] = []
        self._done = asyncio.Event()
        self.actx: SspiAsyncContext | None = None

    async def open(self, *, callback: bool = True) -> Peer:
        """Create the async context (tagged with the side's name) and register the callback."""
        self.actx = await SspiCreateAsyncContext()
        self.actx.tag = self.name
        if callback:
            assert await SspiSetAsyncNotifyCallback(self.actx, self._notify, None) == SEC_E_OK
        return self

    def _notify(self, actx: SspiAsyncContext, data: object) -> None:
        self.notified.append(actx.status)
        self._done.set()

    async def queue(self, op: Op) -> int:
        """Reinit the context and queue ``op`` on it; the queueing status."""
        assert self.actx is not None
        await SspiReinitAsyncContext(self.actx)
        self._done = asyncio.Event()
        return await op(self.actx)

    async def result(self) -> int:
        """Wait for the notify callback; the call's result."""
        assert self.actx is not None
        await self._done.wait()
        return self.actx.status

    async def run(self, op: Op) -> int:
        """Queue ``op`` (it must queue) and return its result."""
        queued = await self.queue(op)
        assert queued == SEC_E_OK, hex(queued)
        return await self.result()

    # ------------------------------------------------------------------ operations

    def acquire(self, kit: Kit) -> Op:
        """SspiAcquireCredentialsHandleAsync for this side."""
        use = SECPKG_CRED_OUTBOUND if self.client else SECPKG_CRED_INBOUND
        auth = kit.client_auth if self.client else kit.server_auth
        return lambda actx: SspiAcquireCredentialsHandleAsync(
            actx, None, kit.package, use, None, auth, None, None, self.cred, None
        )

    def step(self, token: bytes | None, target: str, output: SecBufferDesc) -> Op:
        """ISC (client) or ASC (server) on ``token``, writing to ``output``."""
        pinput = None
        if token is not None:
            pinput = SecBufferDesc(
                [SecBuffer.of(SECBUFFER_TOKEN, token), SecBuffer(SECBUFFER_EMPTY)]
            )
        phcontext = self.ctx if self.started else None
        if self.client:
            return lambda actx: SspiInitializeSecurityContextAsync(
                actx,
                self.cred,
                phcontext,
                target,
                ISC_FLAGS,
                0,
                SECURITY_NATIVE_DREP,
                pinput,
                0,
                self.ctx,
                output,
                ULONG(),
                None,
            )
        return lambda actx: SspiAcceptSecurityContextAsync(
            actx,
            self.cred,
            phcontext,
            pinput,
            ASC_FLAGS,
            SECURITY_NATIVE_DREP,
            self.ctx,
            output,
            ULONG(),
            None,
        )

    async def exchange(self, token: bytes | None, target: str) -> tuple[int, bytes]:
        """One handshake step: its result and the token it produced."""
        output = SecBufferDesc([SecBuffer(SECBUFFER_TOKEN)])
        status = await self.run(self.step(token, target, output))
        if status in (SEC_E_OK, SEC_I_CONTINUE_NEEDED):
            self.started = True
            self.complete = status == SEC_E_OK
        return status, take_token(output)

    def delete(self) -> Op:
        """SspiDeleteSecurityContextAsync of this side's context."""
        return lambda actx: SspiDeleteSecurityContextAsync(actx, self.ctx)

    def free(self) -> Op:
        """SspiFreeCredentialsHandleAsync of this side's credential."""
        return lambda actx: SspiFreeCredentialsHandleAsync(actx, self.cred)


def take_token(output: SecBufferDesc) -> bytes:
    """The token an ALLOCATE_MEMORY call produced, its buffer released (M5)."""
    buffer = output.pBuffers[0]
    token = buffer.data()
    if buffer.pvBuffer is not None:
        FreeContextBuffer(buffer.pvBuffer)
        buffer.pvBuffer = None
    return token


async def peers(kit: Kit) -> tuple[Peer, Peer]:
    """A client and a server peer, both with credentials acquired (client first)."""
    client, server = await Peer("client").open(), await Peer("server").open()
    assert await client.run(client.acquire(kit)) == SEC_E_OK
    assert await server.run(server.acquire(kit)) == SEC_E_OK
    return client, server


async def flat_handshake(kit: Kit, client: Peer, server: Peer) -> list[int]:
    """ISC/ASC until both completed or one failed; the statuses in order."""
    statuses = []
    token: bytes | None = None
    for _ in range(16):
        if not client.complete:
            status, token = await client.exchange(token, kit.target)
            statuses.append(status)
            if status not in (SEC_E_OK, SEC_I_CONTINUE_NEEDED):
                return statuses
        if client.complete and server.complete:
            return statuses
        status, token = await server.exchange(token, kit.target)
        statuses.append(status)
        if status not in (SEC_E_OK, SEC_I_CONTINUE_NEEDED) or (client.complete and server.complete):
            return statuses
    raise AssertionError(f"no end after {statuses}")
