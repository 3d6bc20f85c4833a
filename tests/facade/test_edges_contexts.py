"""Edges of the Pythonic security context and the stream handshake (SPEC §12: E1, E2, E3, E8).

The cancellation matrix cancels a handshake at every await point it has (with
``crypto_workers=0`` each await is one event-loop turn, so cancelling after 0, 1, 2, … turns
reaches every one in order) and checks that nothing outlives its owner (E1) and that the context
whose step was cancelled is broken (E2).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import suppress
from functools import cache
from typing import Any, cast

import anyio
import pytest
from anyio.streams.memory import MemoryObjectSendStream
from anyio.streams.stapled import StapledByteStream

from sspi_async import (
    AuthenticationError,
    BrokenContextError,
    Credentials,
    Emulator,
    InvalidHandleError,
    SimTLSCred,
    SspiError,
    SspiMisuseError,
    SspiTLSStream,
    acquire_credentials,
    handshake,
)
from sspi_async.testing import IssuedCertificate
from tests.facade.schannel_helpers import TARGET, client_cred, pki, server_cred
from tests.facade.test_tls_stream import memory_pair

LIMIT = 20  # seconds: the bound on every test body
PACKAGES = ("SimTLS", "Schannel")
#: The counts every test expects to be zero once everything was closed (E1).
LIVE = ("pending_calls", "callbacks_due", "callback_tasks", "credentials", "contexts")


async def _credentials(package: str) -> tuple[Credentials, Credentials]:
    """An OUTBOUND and an INBOUND credential of ``package`` whose client names ``TARGET``."""
    if package == "SimTLS":
        secret = "edges"
        client = SimTLSCred(principal="alice", secret=secret)
        server = SimTLSCred(principal=TARGET, secret=secret)
        return (
            await acquire_credentials(package, "outbound", client),
            await acquire_credentials(package, "inbound", server),
        )
    return (
        await acquire_credentials(package, "outbound", client_cred()),
        await acquire_credentials(package, "inbound", server_cred()),
    )


def _live(emu: Emulator) -> dict[str, int]:
    stats = emu.statistics()
    return {key: stats[key] for key in LIVE if stats[key]}


async def _turns(count: int) -> None:
    """Let the event loop run ``count`` turns (the cancellation point of the matrix)."""
    for _ in range(count):
        await asyncio.sleep(0)


# --------------------------------------------------------------------------- E1 / E2


@pytest.mark.parametrize("package", PACKAGES)
async def test_E1_E2_a_cancelled_first_step_leaks_nothing_100_times(package: str) -> None:
    """The issue's reproduction: ``t = ensure_future(ctx.step())``; one loop turn; cancel;
    ``aclose()``. The cancelled call still completes and registers its handle, and aclose()
    deletes it: 100 rounds leave no context, before and after ``Emulator.aclose()`` (E1)."""
    with anyio.fail_after(LIMIT):
        async with Emulator() as emu:
            ccred, scred = await _credentials(package)
            for _ in range(100):
                ctx = ccred.client_context(TARGET)
                task = asyncio.ensure_future(ctx.step())
                await asyncio.sleep(0)
                task.cancel()
                with suppress(asyncio.CancelledError):
                    await task
                assert ctx.broken
                await ctx.aclose()
            assert _live(emu) == {"credentials": 2}
            await ccred.aclose()
            await scred.aclose()
            assert _live(emu) == {}
        assert _live(emu) == {}


@pytest.mark.parametrize("package", PACKAGES)
async def test_E1_E2_cancelling_a_pythonic_handshake_at_every_await_leaks_nothing(
    package: str,
) -> None:
    """The cancellation matrix, Pythonic: ``handshake(client, server)`` cancelled after 0, 1, 2,
    … loop turns until it completes uncancelled. Every time, the side whose step was in flight
    is broken (E2), and after both contexts' ``aclose()`` nothing is live (E1)."""
    with anyio.fail_after(LIMIT):
        async with Emulator(crypto_workers=0) as emu:
            ccred, scred = await _credentials(package)
            turns = 0
            while True:
                client, server = ccred.client_context(TARGET), scred.server_context()
                task = asyncio.ensure_future(handshake(client, server))
                await _turns(turns)
                finished = task.done()
                task.cancel()
                with suppress(asyncio.CancelledError):
                    await task
                if not finished and turns:
                    assert client.broken or server.broken, turns
                    with pytest.raises(BrokenContextError):
                        await (client if client.broken else server).step(b"")
                await client.aclose()
                await server.aclose()
                assert _live(emu) == {"credentials": 2}, turns
                if finished:
                    break
                turns += 1
            assert turns >= 4  # the points reached: at least one per step
            await ccred.aclose()
            await scred.aclose()
        assert _live(emu) == {}


@pytest.mark.parametrize("package", PACKAGES)
async def test_E1_cancelling_a_handshake_on_crypto_workers_leaks_nothing(package: str) -> None:
    """With steps in worker threads (A14) the cancellation lands wherever the timer fires: a
    step may still be running in a worker. aclose() waits for it and frees what it registers."""
    with anyio.fail_after(LIMIT):
        async with Emulator(crypto_workers=2) as emu:
            ccred, scred = await _credentials(package)
            loop = asyncio.get_running_loop()
            start = loop.time()
            await handshake(ccred.client_context(TARGET), scred.server_context())
            whole = loop.time() - start
            # the contexts of that first run are not closed on purpose: see the last line
            for index in range(24):
                client, server = ccred.client_context(TARGET), scred.server_context()
                with anyio.move_on_after(whole * index / 16):
                    await handshake(client, server)
                await client.aclose()
                await server.aclose()
            await ccred.aclose()
            await scred.aclose()
            assert _live(emu) == {"contexts": 2}  # the first handshake's, never closed
        assert _live(emu) == {}  # E1: Emulator.aclose() freed them


async def _stream_pair(
    ccred: Credentials, scred: Credentials, cancel_client_after: int, cancel_server: bool
) -> tuple[BaseException | SspiTLSStream | None, BaseException | SspiTLSStream | None]:
    """Both wraps over a memory transport; one of them cancelled after the given turns."""
    left, right = memory_pair()
    results: dict[str, BaseException | SspiTLSStream | None] = {"client": None, "server": None}

    async def side(name: str, wrap: Callable[[], Any], scope: anyio.CancelScope) -> None:
        with scope:
            try:
                results[name] = await wrap()
            except (SspiError, anyio.BrokenResourceError, anyio.ClosedResourceError) as exc:
                results[name] = exc

    client_scope, server_scope = anyio.CancelScope(), anyio.CancelScope()
    async with anyio.create_task_group() as tg:
        tg.start_soon(
            side, "client", lambda: SspiTLSStream.wrap_client(left, ccred, TARGET), client_scope
        )
        tg.start_soon(side, "server", lambda: SspiTLSStream.wrap_server(right, scred), server_scope)
        await _turns(cancel_client_after)
        (server_scope if cancel_server else client_scope).cancel()
    return results["client"], results["server"]


@pytest.mark.parametrize("package", PACKAGES)
@pytest.mark.parametrize("cancelled", ["client", "server"])
async def test_E1_cancelling_a_stream_handshake_at_every_await_leaks_nothing(
    package: str, cancelled: str
) -> None:
    """The cancellation matrix, streams: one side's ``SspiTLSStream.wrap_*`` cancelled after 0,
    1, 2, … loop turns until both handshakes complete first. The cancelled side deletes its
    context and closes its transport; the other side fails with BrokenResourceError (or
    completes); once the streams are closed nothing is live (E1)."""
    with anyio.fail_after(LIMIT):
        async with Emulator(crypto_workers=0) as emu:
            ccred, scred = await _credentials(package)
            turns = 0
            while True:
                client, server = await _stream_pair(ccred, scred, turns, cancelled == "server")
                done = isinstance(client, SspiTLSStream) and isinstance(server, SspiTLSStream)
                for end in (client, server):
                    if isinstance(end, SspiTLSStream):
                        await end.aclose()
                assert _live(emu) == {"credentials": 2}, turns
                if done:
                    break
                turns += 1
            assert turns >= 4
            await ccred.aclose()
            await scred.aclose()
        assert _live(emu) == {}


async def test_E1_a_context_that_never_stepped_holds_nothing() -> None:
    """A context made and dropped without a step queues nothing and holds no async context."""
    async with Emulator() as emu:
        ccred, _scred = await _credentials("SimTLS")
        ctx = ccred.client_context(TARGET)
        assert ctx.state == "new"
        await ctx.aclose()
        await ctx.aclose()  # idempotent
        assert ctx.state == "closed"
        assert _live(emu) == {"credentials": 2}


async def test_E1_a_failed_first_step_that_registered_a_handle_is_deleted_by_aclose() -> None:
    """A server's first step that fails (garbage instead of a ClientHello) may register its
    context (Schannel hands out the alert on it): aclose() deletes it (E1)."""
    async with Emulator() as emu:
        _ccred, scred = await _credentials("Schannel")
        server = scred.server_context()
        with pytest.raises(SspiError):
            await server.step(b"\x16\x03\x01\x00\x05hello")
        await server.aclose()
        assert _live(emu) == {"credentials": 2}


async def test_E1_closing_while_another_task_steps_tells_that_task() -> None:
    """aclose() from another task while a step is in flight waits for the step, deletes what it
    registered, and the stepping task is told the context was closed."""
    async with Emulator(latency=0.01) as emu:
        ccred, _scred = await _credentials("SimTLS")
        ctx = ccred.client_context(TARGET)
        stepping = asyncio.ensure_future(ctx.step())
        await asyncio.sleep(0)
        await ctx.aclose()
        with pytest.raises(InvalidHandleError, match="closed by another task"):
            await stepping
        assert _live(emu) == {"credentials": 2}


async def test_E1_a_cancelled_aclose_frees_the_call_when_it_completes() -> None:
    """If aclose() is cancelled while it waits for a step in flight, the call completes
    detached and what it registered is deleted at that moment (E1, A11)."""
    async with Emulator(latency=0.01) as emu:
        ccred, _scred = await _credentials("SimTLS")
        ctx = ccred.client_context(TARGET)
        stepping = asyncio.ensure_future(ctx.step())
        await asyncio.sleep(0)
        stepping.cancel()
        closing = asyncio.ensure_future(ctx.aclose())
        await asyncio.sleep(0)
        closing.cancel()
        with suppress(asyncio.CancelledError):
            await closing
        assert emu.statistics()["pending_calls"] == 1
        with suppress(asyncio.CancelledError):
            await stepping
        # A step queued now completes after the detached one (its timer fires later).
        other = ccred.client_context(TARGET)
        await other.step()
        assert emu.statistics()["contexts"] == 1  # other's: the detached call's was deleted
        await other.aclose()
        assert _live(emu) == {"credentials": 2}


# --------------------------------------------------------------------------- E3


async def test_E3_a_client_context_has_no_default_target_name() -> None:
    """Omitting the target name is a TypeError naming the parameter (E3)."""
    async with Emulator():
        ccred, _scred = await _credentials("SimTLS")
        with pytest.raises(TypeError, match="target_name"):
            ccred.client_context()  # type: ignore[call-arg]
        left, right = memory_pair()
        async with left, right:
            with pytest.raises(TypeError, match="target_name"):
                await SspiTLSStream.wrap_client(left, ccred)  # type: ignore[call-arg]


@cache
def _evil() -> IssuedCertificate:
    """A certificate for ``evil.example`` from the CA the client trusts."""
    return pki().ca.issue("evil.example")


@pytest.mark.parametrize("target", ["localhost", None])
async def test_E3_the_name_is_checked_unless_none_is_passed(target: str | None) -> None:
    """A certificate for ``evil.example`` from a trusted CA is refused for ``localhost``
    (SEC_E_WRONG_PRINCIPAL) and accepted with ``target_name=None``, Schannel's NULL name: the
    chain is checked, the name is not (E3)."""
    with anyio.fail_after(LIMIT):
        async with Emulator():
            ccred = await acquire_credentials("Schannel", "outbound", client_cred())
            scred = await acquire_credentials("Schannel", "inbound", server_cred(_evil()))
            client, server = ccred.client_context(target), scred.server_context()
            async with client, server:
                if target is None:
                    await handshake(client, server)
                    assert client.complete
                else:
                    with pytest.raises(AuthenticationError, match="InitializeSecurityContext"):
                        await handshake(client, server)


# --------------------------------------------------------------------------- E8


async def test_E8_two_steps_at_once_on_one_context_are_a_named_misuse() -> None:
    """A second step() while one is in flight raises SspiMisuseError naming the context, before
    anything is queued; the first step is unaffected (E8)."""
    async with Emulator() as emu:
        ccred, _scred = await _credentials("SimTLS")
        ctx = ccred.client_context(TARGET)
        first = asyncio.ensure_future(ctx.step())
        await asyncio.sleep(0)
        with pytest.raises(SspiMisuseError, match=r"another step\(\) of this client"):
            await ctx.step()
        assert emu.statistics()["pending_calls"] == 1
        assert (await first).token
        await ctx.aclose()


# --------------------------------------------------------------------------- a cancelled send


class _CancelAfterFirstSend(StapledByteStream):
    """A transport that, once ``scope`` is set, delivers the next write in full and cancels
    ``scope`` on its way out: the cancellation lands between two records' writes."""

    scope: anyio.CancelScope | None = None

    async def send(self, item: bytes) -> None:
        scope, self.scope = self.scope, None
        if scope is None:
            await super().send(item)
            return
        scope.cancel()
        cast(MemoryObjectSendStream[bytes], self.send_stream).send_nowait(item)


async def test_E1_a_send_cancelled_between_records_leaves_a_prefix_and_breaks_sending() -> None:
    """A send() of more than one transport write, cancelled after the first, leaves a prefix of
    the data on the wire (the peer decrypts it); later sends raise BrokenResourceError, as
    anyio's streams do after a cancelled write. Receiving still works; aclose frees all (E1)."""
    with anyio.fail_after(LIMIT):
        async with Emulator() as emu:
            ccred, scred = await _credentials("SimTLS")
            left, right = memory_pair()
            assert isinstance(left, StapledByteStream)
            slow = _CancelAfterFirstSend(left.send_stream, left.receive_stream)
            results: dict[str, SspiTLSStream] = {}

            async def serve() -> None:
                results["server"] = await SspiTLSStream.wrap_server(right, scred)

            async with anyio.create_task_group() as tg:
                tg.start_soon(serve)
                client = await SspiTLSStream.wrap_client(slow, ccred, TARGET)
            server = results["server"]
            data = bytes(range(256)) * 1024  # 256 KiB: four writes of four records each
            first_write = 4 * client.context.stream_sizes.cbMaximumMessage
            with anyio.CancelScope() as scope:
                slow.scope = scope
                await client.send(data)
            assert scope.cancelled_caught
            prefix = bytearray()
            while len(prefix) < first_write:
                prefix += await server.receive()
            assert prefix == data[:first_write]
            with pytest.raises(anyio.BrokenResourceError, match="cancelled part-way"):
                await client.send(b"more")
            await server.send(b"still readable")
            assert await client.receive() == b"still readable"
            await client.aclose()
            await server.aclose()
            assert _live(emu) == {"credentials": 2}


@pytest.mark.parametrize("package", PACKAGES)
async def test_E1_a_cancelled_acquire_credentials_leaks_no_credential(package: str) -> None:
    """acquire_credentials() cancelled while its call is queued: the call completes anyway and
    the credential it registers is freed at that moment (E1)."""
    cred = SimTLSCred(principal="alice", secret="x") if package == "SimTLS" else client_cred()
    async with Emulator(latency=0.01) as emu:
        for _ in range(10):
            task = asyncio.ensure_future(acquire_credentials(package, "outbound", cred))
            await asyncio.sleep(0)
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
        kept = await acquire_credentials(package, "outbound", cred)  # queued after them all
        assert emu.statistics()["credentials"] == 1
        await kept.aclose()
        assert _live(emu) == {}


def _step_on_another_loop(ctx: Any) -> BaseException | None:
    """Run ``ctx.step()`` on a new event loop in this (worker) thread; what it raised."""

    async def main() -> None:
        await asyncio.wait_for(ctx.step(), 5)

    try:
        asyncio.run(main())
    except BaseException as exc:  # handed back to the test
        return exc
    return None


async def test_E6_a_step_from_another_loop_raises_and_leaves_the_context_usable() -> None:
    """E6: step() from another event loop raises SspiMisuseError naming the loops, queues
    nothing, and neither breaks the context (E2 is for a cancelled step) nor leaks: the context
    goes on in its own loop."""
    async with Emulator() as emu:
        ccred, scred = await _credentials("SimTLS")
        client, server = ccred.client_context(TARGET), scred.server_context()
        first = await client.step()
        error = await asyncio.to_thread(_step_on_another_loop, server)
        assert isinstance(error, SspiMisuseError), error
        assert "event loop" in str(error)
        assert server.state == "new"
        assert emu.statistics()["pending_calls"] == 0
        await server.step(first.token)
        await client.aclose()
        await server.aclose()
        assert _live(emu) == {"credentials": 2}
