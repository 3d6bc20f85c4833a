"""A handshake leaves no reference cycles behind (E1, DESIGN "Concurrency"): its package context,
engine entry and queued calls are freed by reference counting the moment they are done, not by a
later garbage-collector pass — whose pauses were the worst event-loop lag of concurrent
handshakes (a worker's future held its done-callback, which held the call)."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator

import pytest

from sspi_async import Emulator, SimTLSCred, acquire_credentials, handshake
from tests.facade.schannel_helpers import TARGET, client_cred, server_cred

#: Objects that must never be in a cycle once a handshake's contexts are closed.
WATCHED = {"SchannelContext", "SimTLSContext", "ContextEntry", "PendingCall", "StepJob"}


@pytest.fixture
def saved_garbage() -> Iterator[list[object]]:
    """Collect now, then keep what the collector finds unreachable instead of freeing it."""
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        yield gc.garbage
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        if was_enabled:
            gc.enable()


@pytest.mark.parametrize("workers", [0, 2])
@pytest.mark.parametrize("package", ["Schannel", "SimTLS"])
async def test_E1_handshakes_leave_no_reference_cycles(
    package: str, workers: int, saved_garbage: list[object]
) -> None:
    """Eight concurrent handshakes, closed: the collector finds none of their objects (E1)."""
    async with Emulator(crypto_workers=workers):
        if package == "Schannel":
            client = await acquire_credentials(package, "outbound", client_cred())
            server = await acquire_credentials(package, "inbound", server_cred())
        else:
            client = await acquire_credentials(
                package, "outbound", SimTLSCred(principal="alice", secret="s")
            )
            server = await acquire_credentials(
                package, "inbound", SimTLSCred(principal=TARGET, secret="s")
            )

        async def one() -> None:
            a, b = client.client_context(TARGET), server.server_context()
            await handshake(a, b)
            await a.aclose()
            await b.aclose()

        await asyncio.gather(*(one() for _ in range(8)))
        await client.aclose()
        await server.aclose()
    gc.collect()
    cyclic = sorted({type(o).__name__ for o in saved_garbage} & WATCHED)
    assert cyclic == []
