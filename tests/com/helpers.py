"""Shared pieces of the COM tests: client identities, a server whose methods run a test's
coroutine, and SSPI server contexts to bridge from."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sspi_async import (
    AccessToken,
    Emulator,
    EmulatorSettings,
    SecurityContext,
    SimTLSCred,
    acquire_credentials,
    handshake,
)
from sspi_async.com import (
    RPC_C_IMP_LEVEL_IMPERSONATE,
    S_OK,
    ClientCall,
    ComObject,
    ObjectRef,
    Proxy,
    Runtime,
    ServerCallObject,
)

ALICE = AccessToken("alice", groups=("Staff",))
BOB = AccessToken("bob", groups=("Staff",))
CAROL = AccessToken("carol")
DAVE = AccessToken("dave")

#: What a test body gets: the server call object for an asynchronous call (None for a
#: synchronous one), then the call's [in] arguments; it returns the HRESULT (or a tuple).
Body = Callable[..., Awaitable[Any]]


class FnServer(ComObject):
    """A server whose synchronous ``Call`` and asynchronous ``Job`` run the test's ``body``."""

    def __init__(self, body: Body) -> None:
        self.body = body

    async def Call(self, *args: Any) -> Any:
        return await self.body(None, *args)


class FnCall(ServerCallObject):
    """``Begin_Job`` runs the body; ``Finish_Job`` returns ``S_OK`` and ``outs``."""

    outs: tuple[Any, ...] = ()

    async def Begin_Job(self, *args: Any) -> Any:
        assert isinstance(self.server, FnServer)
        return await self.server.body(self, *args)

    def Finish_Job(self) -> tuple[Any, ...]:
        return (S_OK, *self.outs)


FnServer.async_calls = {"Job": FnCall}


@dataclass
class Served:
    """A runtime with one FnServer registered, and a proxy to it as ``identity``."""

    rt: Runtime
    ref: ObjectRef
    proxy: Proxy


@asynccontextmanager
async def serve(
    body: Body,
    *,
    apartment: str = "mta",
    identity: AccessToken = ALICE,
    imp_level: int = RPC_C_IMP_LEVEL_IMPERSONATE,
    **runtime_options: Any,
) -> AsyncIterator[Served]:
    """Run a runtime whose FnServer lives in an STA or the MTA, with a proxy to it."""
    async with Runtime(**runtime_options) as rt:
        where = rt.sta("server") if apartment == "sta" else rt.mta()
        ref = where.register(FnServer(body))
        yield Served(rt, ref, rt.proxy(ref, identity=identity, imp_level=imp_level))


def begin(proxy: Proxy, *args: Any, method: str = "Job") -> ClientCall:
    """Create a call object and Begin_ it (asserting both succeed)."""
    hr, call = proxy.CreateCall(method)
    assert hr == S_OK
    assert call is not None
    assert call.Begin(*args) == S_OK
    return call


async def wait_for(fut: Awaitable[Any], what: str = "the event") -> Any:
    """Await ``fut`` with a generous safety limit, so a broken rule fails instead of hanging."""
    try:
        return await asyncio.wait_for(fut, 10)
    except asyncio.TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


@dataclass
class SspiPair:
    """A complete SimTLS client/server context pair in ``emulator``."""

    emulator: Emulator
    client: SecurityContext
    server: SecurityContext


@asynccontextmanager
async def simtls_pair(
    principal: str | None = "alice",
    *,
    client_flags: int | None = None,
    settings: EmulatorSettings | None = None,
) -> AsyncIterator[SspiPair]:
    """A fresh emulator with a complete SimTLS handshake (``principal`` None: anonymous)."""
    async with Emulator(settings) as emu:
        secret = "correct horse battery staple"
        if principal is None:  # an anonymous client: no credential data, no shared secret
            client_auth, server_auth = None, SimTLSCred(principal="server", allow_anonymous=True)
        else:
            client_auth = SimTLSCred(principal=principal, secret=secret)
            server_auth = SimTLSCred(principal="server", secret=secret)
        ccred = await acquire_credentials("SimTLS", "outbound", client_auth)
        scred = await acquire_credentials("SimTLS", "inbound", server_auth)
        options = {} if client_flags is None else {"flags": client_flags}
        client = ccred.client_context("server", **options)
        server = scred.server_context()
        await handshake(client, server)
        yield SspiPair(emu, client, server)
