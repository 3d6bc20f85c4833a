"""Python misuse of the Pythonic API gets an exception whose message says what was wrong and what
to do (house rule; SPEC §2 for TypeError naming the parameter), with the same error classes and
statuses as before."""

from __future__ import annotations

import asyncio

import anyio
import pytest

from sspi_async import (
    BrokenContextError,
    Emulator,
    InvalidHandleError,
    SecurityContext,
    SimTLSCred,
    acquire_credentials,
    handshake,
)
from sspi_async.sspi import (
    SEC_E_INVALID_HANDLE,
    SECBUFFER_TOKEN,
    SecBuffer,
)

SECRET = "s3cret"


async def _pair() -> tuple[SecurityContext, SecurityContext]:
    client = await acquire_credentials(
        "SimTLS", "outbound", SimTLSCred(principal="a", secret=SECRET)
    )
    server = await acquire_credentials(
        "SimTLS", "inbound", SimTLSCred(principal="b", secret=SECRET)
    )
    return client.client_context("b"), server.server_context()


@pytest.mark.parametrize("method", ["encrypt", "decrypt"])
async def test_messages_want_bytes_and_say_how_to_fix_text(method: str) -> None:
    async with Emulator():
        client, server = await _pair()
        await handshake(client, server)
        with pytest.raises(TypeError, match=r"data must be bytes.*not str; encode text first"):
            getattr(client, method)("hello")
        with pytest.raises(
            TypeError, match=r"data must be bytes, bytearray or memoryview, not NoneType"
        ):
            getattr(client, method)(None)
        await client.aclose()
        await server.aclose()


async def test_step_wants_bytes_or_none_and_nothing_is_queued() -> None:
    async with Emulator() as emu:
        client, server = await _pair()
        with pytest.raises(
            TypeError, match=r"token must be bytes, bytearray or memoryview or None, not str"
        ):
            await server.step("hello")
        assert emu.statistics()["pending_calls"] == 0
        await handshake(client, server)  # the context is still usable
        await client.aclose()
        await server.aclose()


@pytest.mark.parametrize("method", ["encrypt", "decrypt"])
async def test_messages_before_the_handshake_say_so(method: str) -> None:
    """Same class and status as before (InvalidHandleError, SEC_E_INVALID_HANDLE), but the message
    names the mistake instead of an inner QueryContextAttributes call."""
    async with Emulator():
        client, _ = await _pair()
        with pytest.raises(InvalidHandleError, match=rf"{method}\(\) before the handshake") as info:
            getattr(client, method)(b"x")
        assert info.value.status == SEC_E_INVALID_HANDLE
        await client.aclose()
        with pytest.raises(InvalidHandleError, match=r"closed"):
            getattr(client, method)(b"x")


def test_secbuffer_of_refuses_text() -> None:
    with pytest.raises(TypeError, match=r"SecBuffer.of: data must be bytes.*not str"):
        SecBuffer.of(SECBUFFER_TOKEN, "hello")
    assert SecBuffer.of(SECBUFFER_TOKEN, memoryview(b"ab")).cbBuffer == 2


async def test_E2_A11_a_cancelled_step_breaks_the_context_and_aclose_frees_it() -> None:
    """E2: when the task waiting on a step is cancelled, the call still completes (A6), the
    context is broken (every later call raises BrokenContextError naming the cancelled step),
    and ``aclose()`` waits for the call and frees the handle it registered (E1, A11)."""
    async with Emulator(latency=0.02) as emu:
        client, server = await _pair()
        waiting = asyncio.ensure_future(client.step(None))
        await asyncio.sleep(0)  # queued, waiting out the latency
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert emu.statistics()["pending_calls"] == 1
        assert client.broken
        with pytest.raises(BrokenContextError, match=r"the first step \(cancelled\)"):
            await client.step(None)
        with pytest.raises(BrokenContextError, match="aclose"):
            client.encrypt(b"x")
        with anyio.fail_after(5):
            await client.aclose()
        assert emu.statistics()["pending_calls"] == 0
        assert emu.statistics()["contexts"] == 0
        await server.aclose()
        with pytest.raises(InvalidHandleError, match="closed"):
            await client.step(None)


async def test_A7_the_steps_of_a_handshake_take_one_loop_turn_each() -> None:
    """A Pythonic call yields once, behind the dispatch the emulator scheduled with call_soon, and
    finds the call complete (A7 still holds: the queueing coroutine returned first). Each step,
    decrypt follow-up and delete costs one event-loop turn, not two."""
    async with Emulator():
        client, server = await _pair()
        turns = 0

        async def count_turns() -> None:
            nonlocal turns
            while True:
                await asyncio.sleep(0)
                turns += 1

        counter = asyncio.ensure_future(count_turns())
        await asyncio.sleep(0)
        before = turns
        await handshake(client, server)
        await client.aclose()
        await server.aclose()
        counter.cancel()
        # SimTLS: client ISC, server ASC, client ISC, server ASC, then the two deletes.
        assert turns - before == 6
