"""SspiTLSStream: an anyio ByteStream whose handshake and records go through the async SSPI calls
(SPEC §6), over in-memory stream pairs and real TCP on 127.0.0.1.

The tests get credentials only from :func:`client_credentials` / :func:`server_credentials`
(SimTLS here). Apart from the ``test_simtls_*`` tests and the one with the certificate-carrying
test package, they assert nothing SimTLS-specific: with those two functions returning Schannel
credentials (``secret=`` mapped to an untrusted CA, ``SERVER_NAME = "localhost"``) the rest pass
unchanged (checked by hand while writing them).
"""

from __future__ import annotations

import itertools
import math
import random
import struct
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager, suppress
from typing import Any, cast

import anyio
import pytest
from anyio.abc import ByteSendStream, ByteStream, SocketAttribute, SocketListener
from anyio.streams.buffered import BufferedByteReceiveStream
from anyio.streams.stapled import StapledByteStream
from anyio.streams.tls import TLSAttribute

from sspi_async import (
    AuthenticationError,
    Credentials,
    Emulator,
    FaultPlan,
    MessageAlteredError,
    SimTLSCred,
    SspiError,
    SspiTLSAttribute,
    SspiTLSStream,
    StepOutcome,
    acquire_credentials,
    register_package,
)
from sspi_async._attributes import SecPkgContext_Bindings, SecPkgContext_RemoteCertContext
from sspi_async.packages import PackageError
from sspi_async.packages.simtls import SimTLSContext, SimTLSPackage
from sspi_async.sspi import (
    SEC_E_OK,
    SEC_E_UNSUPPORTED_FUNCTION,
    SECBUFFER_DATA,
    SECBUFFER_EMPTY,
    SECBUFFER_STREAM_HEADER,
    SECBUFFER_STREAM_TRAILER,
    SECPKG_ATTR_CIPHER_INFO,
    SECPKG_ATTR_ENDPOINT_BINDINGS,
    SECPKG_ATTR_REMOTE_CERT_CONTEXT,
    EncryptMessage,
    SecBuffer,
    SecBufferDesc,
)

PACKAGE = "SimTLS"
SECRET = "correct horse battery staple"
CLIENT_NAME = "alice"
SERVER_NAME = "server"
LIMIT = 10  # seconds: the bound on every test body (anyio.fail_after)
MIB = 1024 * 1024


async def client_credentials(package: str = PACKAGE, **fields: Any) -> Credentials:
    """OUTBOUND credentials of the package under test."""
    cred = SimTLSCred(principal=CLIENT_NAME, secret=SECRET, **fields)
    return await acquire_credentials(package, "outbound", cred)


async def server_credentials(package: str = PACKAGE, **fields: Any) -> Credentials:
    """INBOUND credentials of the package under test (``fields`` override the defaults)."""
    cred = SimTLSCred(**{"principal": SERVER_NAME, "secret": SECRET, **fields})
    return await acquire_credentials(package, "inbound", cred)


# --------------------------------------------------------------------------- transports


def memory_pair() -> tuple[ByteStream, ByteStream]:
    """Two connected byte streams over memory object streams (unbounded, so sends never wait)."""
    a_send, a_receive = anyio.create_memory_object_stream[bytes](math.inf)
    b_send, b_receive = anyio.create_memory_object_stream[bytes](math.inf)
    left = StapledByteStream(cast(ByteSendStream, a_send), BufferedByteReceiveStream(b_receive))
    right = StapledByteStream(cast(ByteSendStream, b_send), BufferedByteReceiveStream(a_receive))
    return left, right


@asynccontextmanager
async def tcp_pair() -> AsyncIterator[tuple[ByteStream, ByteStream]]:
    """A TCP connection on 127.0.0.1: (client end, server end)."""
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    async with listener:
        accepting = cast(SocketListener, listener.listeners[0])
        port = accepting.extra(SocketAttribute.local_port)
        client = await anyio.connect_tcp("127.0.0.1", port)
        server = await accepting.accept()
        async with client, server:
            yield client, server


@asynccontextmanager
async def transport_pair(kind: str) -> AsyncIterator[tuple[ByteStream, ByteStream]]:
    """``"memory"`` or ``"tcp"`` transports, closed on exit."""
    if kind == "tcp":
        async with tcp_pair() as pair:
            yield pair
        return
    left, right = memory_pair()
    async with left, right:
        yield left, right


class Wrapper(ByteStream):
    """A transport around another one, for scripted delivery; passes everything through."""

    def __init__(self, inner: ByteStream) -> None:
        self.inner = inner

    async def receive(self, max_bytes: int = 65536) -> bytes:
        return await self.inner.receive(max_bytes)

    async def send(self, item: bytes) -> None:
        await self.inner.send(item)

    async def send_eof(self) -> None:
        await self.inner.send_eof()

    async def aclose(self) -> None:
        await self.inner.aclose()

    @property
    def extra_attributes(self) -> Mapping[Any, Callable[[], Any]]:
        return self.inner.extra_attributes


class Trickle(Wrapper):
    """Delivers received bytes 1 to 7 at a time."""

    def __init__(self, inner: ByteStream) -> None:
        super().__init__(inner)
        self.pending = bytearray()
        self.sizes = itertools.cycle(range(1, 8))
        self.reads = 0

    async def receive(self, max_bytes: int = 65536) -> bytes:
        if not self.pending:
            self.pending += await self.inner.receive()
        size = min(max_bytes, next(self.sizes))
        chunk = bytes(self.pending[:size])
        del self.pending[:size]
        self.reads += 1
        return chunk


class Probe(Wrapper):
    """Sets ``receiving`` when a receive starts; records sends in ``sent``; holds sends while
    ``hold_sends`` is set, until ``release``."""

    def __init__(self, inner: ByteStream) -> None:
        super().__init__(inner)
        self.sent: list[bytes] = []
        self.receiving = anyio.Event()
        self.sending = anyio.Event()
        self.hold_sends = False
        self.release = anyio.Event()

    async def receive(self, max_bytes: int = 65536) -> bytes:
        self.receiving.set()
        return await self.inner.receive(max_bytes)

    async def send(self, item: bytes) -> None:
        if self.hold_sends:
            self.sending.set()
            await self.release.wait()
        self.sent.append(bytes(item))
        await self.inner.send(item)


class Tamper(Wrapper):
    """Flips the last byte of the next send once ``armed``."""

    armed = False

    async def send(self, item: bytes) -> None:
        if self.armed:
            self.armed = False
            item = item[:-1] + bytes((item[-1] ^ 1,))
        await self.inner.send(item)


# --------------------------------------------------------------------------- connecting


async def connect(
    client_transport: ByteStream,
    server_transport: ByteStream,
    *,
    client_cred: Credentials | None = None,
    server_cred: Credentials | None = None,
    alpn: list[str] | None = None,
    standard_compatible: bool = True,
) -> tuple[SspiTLSStream, SspiTLSStream]:
    """Run both handshakes concurrently; return (client stream, server stream)."""
    ccred = client_cred or await client_credentials()
    scred = server_cred or await server_credentials()
    streams: dict[str, SspiTLSStream] = {}

    async def serve() -> None:
        streams["server"] = await SspiTLSStream.wrap_server(
            server_transport, scred, standard_compatible=standard_compatible
        )

    async with anyio.create_task_group() as tg:
        tg.start_soon(serve)
        streams["client"] = await SspiTLSStream.wrap_client(
            client_transport,
            ccred,
            SERVER_NAME,
            alpn=alpn,
            standard_compatible=standard_compatible,
        )
    return streams["client"], streams["server"]


@asynccontextmanager
async def connected(
    kind: str = "memory", **options: Any
) -> AsyncIterator[tuple[SspiTLSStream, SspiTLSStream]]:
    """An emulator and a connected (client, server) stream pair, all closed on exit."""
    with anyio.fail_after(LIMIT):
        async with Emulator(), transport_pair(kind) as (left, right):
            client, server = await connect(left, right, **options)
            async with client, server:
                yield client, server


async def receive_exactly(stream: SspiTLSStream, size: int) -> bytes:
    """Receive until ``size`` bytes arrived."""
    data = bytearray()
    while len(data) < size:
        data += await stream.receive()
    return bytes(data)


async def outcomes(*calls: Callable[[], Any]) -> list[BaseException | object]:
    """Run ``calls`` concurrently; return each one's result or exception, in order."""
    results: list[BaseException | object] = [None] * len(calls)

    async def run(index: int) -> None:
        try:
            results[index] = await calls[index]()
        except Exception as exc:
            results[index] = exc

    async with anyio.create_task_group() as tg:
        for index in range(len(calls)):
            tg.start_soon(run, index)
    return results


# --------------------------------------------------------------------------- handshake and data


@pytest.mark.parametrize("kind", ["memory", "tcp"])
async def test_handshake_then_echo(kind: str) -> None:
    """Both wraps complete the handshake and application data flows both ways."""
    async with connected(kind) as (client, server):
        await client.send(b"ping")
        assert await server.receive() == b"ping"
        await server.send(b"pong")
        assert await client.receive() == b"pong"


async def test_tcp_transport_attributes_pass_through() -> None:
    """extra() also serves the wrapped transport's attributes (the socket's addresses)."""
    async with connected("tcp") as (client, server):
        assert client.extra(SocketAttribute.remote_port) == server.extra(SocketAttribute.local_port)
        assert client.extra(SocketAttribute.local_address)[0] == "127.0.0.1"


@pytest.mark.parametrize("kind", ["memory", "tcp"])
async def test_one_mib_both_directions_concurrently(kind: str) -> None:
    """1 MiB each way, with both sides sending and receiving at the same time."""
    rng = random.Random(7)
    up, down = rng.randbytes(MIB), rng.randbytes(MIB)
    got: dict[str, bytes] = {}

    async def take(name: str, stream: SspiTLSStream) -> None:
        got[name] = await receive_exactly(stream, MIB)

    async with connected(kind) as (client, server), anyio.create_task_group() as tg:
        tg.start_soon(take, "server", server)
        tg.start_soon(take, "client", client)
        tg.start_soon(client.send, up)
        tg.start_soon(server.send, down)
    assert got["server"] == up
    assert got["client"] == down


@pytest.mark.parametrize("tickets", [False, True])
async def test_partial_delivery_of_handshake_and_records(tickets: bool) -> None:
    """Bytes delivered 1 to 7 at a time (T4 INCOMPLETE / MISSING) still give the exact data."""
    payload = random.Random(3).randbytes(40_000)
    with anyio.fail_after(LIMIT):
        async with Emulator():
            left, right = memory_pair()
            cside, sside = Trickle(left), Trickle(right)
            scred = await server_credentials(session_tickets=tickets)
            client, server = await connect(cside, sside, server_cred=scred)
            async with client, server:
                await client.send(payload)
                assert await receive_exactly(server, len(payload)) == payload
                await server.send(payload)
                assert await receive_exactly(client, len(payload)) == payload
    assert cside.reads > 1000
    assert sside.reads > 1000


async def test_receive_smaller_than_a_record_keeps_the_rest() -> None:
    """receive(max_bytes) below the record size returns at most max_bytes; the rest follows."""
    data = bytes(range(256)) * 4
    async with connected() as (client, server):
        await client.send(data)
        pieces: list[bytes] = []
        while sum(map(len, pieces)) < len(data):
            pieces.append(await server.receive(7))
        assert all(len(piece) <= 7 for piece in pieces)
        assert pieces[0] == data[:7]
        assert b"".join(pieces) == data


async def test_receive_rejects_max_bytes_below_one() -> None:
    """receive(0) is a ValueError, as in anyio."""
    async with connected() as (client, _server):
        with pytest.raises(ValueError, match="max_bytes"):
            await client.receive(0)


async def test_empty_send_sends_nothing() -> None:
    """send(b"") puts nothing on the wire."""
    with anyio.fail_after(LIMIT):
        async with Emulator(), transport_pair("memory") as (left, right):
            probe = Probe(left)
            client, server = await connect(probe, right)
            async with client, server:
                probe.sent.clear()
                await client.send(b"")
                assert probe.sent == []
                await client.send(b"x")
                assert await server.receive() == b"x"


async def test_simtls_empty_record_is_skipped() -> None:
    """A peer's empty record (SimTLS EncryptMessage of an empty DATA buffer) gives no receive
    result."""
    async with connected() as (client, server):
        message = SecBufferDesc(
            [
                SecBuffer(SECBUFFER_STREAM_HEADER, 5, bytearray(5)),
                SecBuffer.of(SECBUFFER_DATA, bytearray()),
                SecBuffer(SECBUFFER_STREAM_TRAILER, 64, bytearray(64)),
                SecBuffer(SECBUFFER_EMPTY),
            ]
        )
        assert EncryptMessage(client.context.handle, 0, message, 0) == SEC_E_OK
        await client.transport_stream.send(b"".join(b.data() for b in message.pBuffers[:3]))
        await client.send(b"x")
        assert await server.receive() == b"x"


async def test_bytes_after_the_handshake_are_the_first_application_data() -> None:
    """A final handshake token and a record in one transport chunk: EXTRA becomes data (T6)."""
    with anyio.fail_after(LIMIT):
        async with Emulator():
            left, right = memory_pair()
            ccred, scred = await client_credentials(), await server_credentials()
            raw = ccred.client_context(SERVER_NAME)

            async def raw_client() -> None:
                await left.send((await raw.step(None)).token)
                while not raw.complete:
                    outcome = await raw.step(await left.receive())
                    if raw.complete:  # the Finished flight and data in one chunk
                        await left.send(outcome.token + raw.encrypt(b"early data"))
                    elif outcome.token:
                        await left.send(outcome.token)

            async with anyio.create_task_group() as tg:
                tg.start_soon(raw_client)
                server = await SspiTLSStream.wrap_server(right, scred)
            async with server, left, raw:
                assert await server.receive() == b"early data"


# --------------------------------------------------------------------------- post-handshake


async def test_session_ticket_is_handled_transparently() -> None:
    """A TLS 1.3 ticket (SEC_I_RENEGOTIATE) goes to step(None) (M2), never to the app."""
    with anyio.fail_after(LIMIT):
        async with Emulator(), transport_pair("memory") as (left, right):
            scred = await server_credentials(session_tickets=True)
            client, server = await connect(left, right, server_cred=scred)
            steps: list[bytes | None] = []
            step = client.context.step

            async def spy(token: bytes | None = None) -> StepOutcome:
                steps.append(token)
                return await step(token)

            client.context.step = spy  # type: ignore[method-assign]
            async with client, server:
                await server.send(b"after the ticket")
                assert await client.receive() == b"after the ticket"
                assert steps
                assert all(token is None for token in steps)
                await client.send(b"reply")
                assert await server.receive() == b"reply"


async def test_ticket_and_data_in_one_chunk() -> None:
    """Ticket and record in one chunk: EXTRA survives SEC_I_RENEGOTIATE and decrypts (M2)."""
    with anyio.fail_after(LIMIT):
        async with Emulator():
            left, right = memory_pair()
            ccred = await client_credentials()
            scred = await server_credentials(session_tickets=True)
            raw = scred.server_context()

            async def raw_server() -> None:
                while not raw.complete:
                    outcome = await raw.step(await right.receive())
                    if raw.complete:  # the ticket and data in one chunk
                        assert outcome.token, "no session ticket"
                        await right.send(outcome.token + raw.encrypt(b"with the ticket"))
                    elif outcome.token:
                        await right.send(outcome.token)

            async with anyio.create_task_group() as tg:
                tg.start_soon(raw_server)
                client = await SspiTLSStream.wrap_client(left, ccred, SERVER_NAME)
            async with client, right, raw:
                assert await client.receive() == b"with the ticket"


# --------------------------------------------------------------------------- end of stream


@pytest.mark.parametrize("kind", ["memory", "tcp"])
async def test_close_notify_is_end_of_stream(kind: str) -> None:
    """aclose() sends close_notify: the peer reads what was sent, then EndOfStream, every time."""
    async with connected(kind) as (client, server):
        await client.send(b"last words")
        await client.aclose()
        assert await receive_exactly(server, 10) == b"last words"
        with pytest.raises(anyio.EndOfStream):
            await server.receive()
        with pytest.raises(anyio.EndOfStream):
            await server.receive()


@pytest.mark.parametrize(
    ("standard_compatible", "error"),
    [(True, anyio.BrokenResourceError), (False, anyio.EndOfStream)],
)
async def test_transport_eof_without_close_notify(
    standard_compatible: bool, error: type[Exception]
) -> None:
    """EOF without close_notify: BrokenResourceError, or EndOfStream if not standard_compatible."""
    async with connected(standard_compatible=standard_compatible) as (client, server):
        await client.send(b"data")
        await client.transport_stream.aclose()
        assert await server.receive() == b"data"
        with pytest.raises(error):
            await server.receive()
        with pytest.raises(error):
            await server.receive()


async def test_aclose_without_standard_compatible_sends_no_close_notify() -> None:
    """standard_compatible=False: aclose() sends nothing; the peer gets EndOfStream."""
    with anyio.fail_after(LIMIT):
        async with Emulator(), transport_pair("memory") as (left, right):
            probe = Probe(left)
            client, server = await connect(probe, right, standard_compatible=False)
            async with server:
                probe.sent.clear()
                await client.aclose()
                assert probe.sent == []
                with pytest.raises(anyio.EndOfStream):
                    await server.receive()


async def test_send_eof_is_not_implemented() -> None:
    """TLS offers no half-close here: send_eof() raises NotImplementedError, as in anyio."""
    async with connected() as (client, _server):
        with pytest.raises(NotImplementedError, match="aclose"):
            await client.send_eof()


async def test_aclose_is_idempotent_and_later_use_is_closed_resource() -> None:
    """aclose twice is fine; then ClosedResourceError, transport closed, no context left."""
    with anyio.fail_after(LIMIT):
        async with Emulator() as emu, transport_pair("memory") as (left, right):
            client, server = await connect(left, right)
            await client.aclose()
            await client.aclose()
            await server.aclose()
            for stream in (client, server):
                with pytest.raises(anyio.ClosedResourceError):
                    await stream.send(b"x")
                with pytest.raises(anyio.ClosedResourceError):
                    await stream.receive()
            with pytest.raises(anyio.ClosedResourceError):
                await left.send(b"x")
            assert emu.statistics()["contexts"] == 0


async def test_sending_after_the_peer_closed_is_broken_or_allowed() -> None:
    """Sending after the peer's close_notify works or is BrokenResourceError, never SspiError."""
    async with connected() as (client, server):
        await client.aclose()
        with pytest.raises(anyio.EndOfStream):
            await server.receive()
        with suppress(anyio.BrokenResourceError):
            await server.send(b"too late")


# --------------------------------------------------------------------------- concurrency


async def test_concurrent_receivers_are_busy() -> None:
    """A second receive while one is waiting raises BusyResourceError; the first still works."""
    with anyio.fail_after(LIMIT):
        async with Emulator(), transport_pair("memory") as (left, right):
            probe = Probe(right)
            client, server = await connect(left, probe)
            async with client, server, anyio.create_task_group() as tg:
                probe.receiving = anyio.Event()
                got: list[bytes] = []

                async def first() -> None:
                    got.append(await server.receive())

                tg.start_soon(first)
                await probe.receiving.wait()
                with pytest.raises(anyio.BusyResourceError):
                    await server.receive()
                await client.send(b"for the first")
            assert got == [b"for the first"]


async def test_concurrent_senders_are_busy() -> None:
    """A second send while one is in progress raises BusyResourceError."""
    with anyio.fail_after(LIMIT):
        async with Emulator(), transport_pair("memory") as (left, right):
            probe = Probe(left)
            client, server = await connect(probe, right)
            async with client, server, anyio.create_task_group() as tg:
                probe.hold_sends = True
                tg.start_soon(client.send, b"first")
                await probe.sending.wait()
                with pytest.raises(anyio.BusyResourceError):
                    await client.send(b"second")
                probe.release.set()
                assert await server.receive() == b"first"


# --------------------------------------------------------------------------- failures


async def test_handshake_failure_raises_on_both_sides_and_closes_transports() -> None:
    """Secret mismatch: SspiError on both sides, transports closed, no context left."""
    with anyio.fail_after(LIMIT):
        async with Emulator() as emu:
            left, right = memory_pair()
            ccred = await client_credentials()
            scred = await server_credentials(secret="another secret")
            results = await outcomes(
                lambda: SspiTLSStream.wrap_client(left, ccred, SERVER_NAME),
                lambda: SspiTLSStream.wrap_server(right, scred),
            )
            assert all(isinstance(result, SspiError) for result in results), results
            for transport in (left, right):
                with pytest.raises(anyio.ClosedResourceError):
                    await transport.send(b"x")
            assert emu.statistics()["contexts"] == 0


async def test_wrong_target_name_fails_the_client() -> None:
    """Wrong target_name: AuthenticationError on the client, SspiError on the server (T10)."""
    with anyio.fail_after(LIMIT):
        async with Emulator() as emu:
            left, right = memory_pair()
            ccred, scred = await client_credentials(), await server_credentials()
            results = await outcomes(
                lambda: SspiTLSStream.wrap_client(left, ccred, "someone-else"),
                lambda: SspiTLSStream.wrap_server(right, scred),
            )
            assert isinstance(results[0], AuthenticationError), results
            assert isinstance(results[1], SspiError), results
            assert emu.statistics()["contexts"] == 0


@pytest.mark.parametrize("how", ["eof", "closed"])
async def test_peer_vanishing_during_the_handshake_is_broken_resource(how: str) -> None:
    """Transport EOF (or a closed peer) before the handshake finished: BrokenResourceError."""
    with anyio.fail_after(LIMIT):
        async with Emulator() as emu:
            left, right = memory_pair()
            async with right:
                await (right.send_eof() if how == "eof" else right.aclose())
                with pytest.raises(anyio.BrokenResourceError):
                    await SspiTLSStream.wrap_client(left, await client_credentials(), SERVER_NAME)
            assert emu.statistics()["contexts"] == 0


async def test_cancelled_handshake_closes_the_transport() -> None:
    """Cancelling a wrap mid-handshake deletes the context and closes the transport."""
    with anyio.fail_after(LIMIT):
        async with Emulator() as emu:
            left, right = memory_pair()
            probe = Probe(left)
            ccred = await client_credentials()
            async with right, anyio.create_task_group() as tg:

                async def attempt() -> None:
                    await SspiTLSStream.wrap_client(probe, ccred, SERVER_NAME)

                tg.start_soon(attempt)
                await probe.receiving.wait()  # ClientHello sent, waiting for the server
                tg.cancel_scope.cancel()
            with pytest.raises(anyio.ClosedResourceError):
                await left.send(b"x")
            assert emu.statistics()["contexts"] == 0


async def test_tampered_record_raises_then_the_stream_is_broken() -> None:
    """A tampered record raises MessageAlteredError; later receives BrokenResourceError."""
    with anyio.fail_after(LIMIT):
        async with Emulator(), transport_pair("memory") as (left, right):
            tamper = Tamper(left)
            client, server = await connect(tamper, right)
            async with client, server:
                tamper.armed = True
                await client.send(b"precious")
                with pytest.raises(MessageAlteredError):
                    await server.receive()
                with pytest.raises(anyio.BrokenResourceError):
                    await server.receive()


async def test_failed_send_breaks_the_stream_for_sending() -> None:
    """A failed transport send breaks sending for good; aclose still closes everything."""
    with anyio.fail_after(LIMIT):
        async with Emulator() as emu, transport_pair("memory") as (left, right):
            client, server = await connect(left, right)
            await server.aclose()
            with pytest.raises(anyio.BrokenResourceError):
                await client.send(b"into the void")
            with pytest.raises(anyio.BrokenResourceError, match="earlier send"):
                await client.send(b"again")
            await client.aclose()
            assert emu.statistics()["contexts"] == 0


async def test_cancelled_aclose_still_closes() -> None:
    """aclose cancelled mid close_notify still deletes the context and closes the transport."""
    with anyio.fail_after(LIMIT):
        async with Emulator() as emu, transport_pair("memory") as (left, right):
            probe = Probe(left)
            client, server = await connect(probe, right)
            async with server:
                probe.hold_sends = True
                async with anyio.create_task_group() as tg:
                    tg.start_soon(client.aclose)
                    await probe.sending.wait()
                    tg.cancel_scope.cancel()
                with pytest.raises(anyio.ClosedResourceError):
                    await left.send(b"x")
                with pytest.raises(anyio.ClosedResourceError):
                    await client.receive()
                assert emu.statistics()["contexts"] == 1  # the server's
            assert emu.statistics()["contexts"] == 0


async def test_constructor_needs_a_complete_context() -> None:
    """SspiTLSStream(...) on a context whose handshake has not run is a ValueError."""
    async with Emulator():
        left, right = memory_pair()
        async with left, right:
            ctx = (await client_credentials()).client_context(SERVER_NAME)
            with pytest.raises(ValueError, match="not complete"):
                SspiTLSStream(left, ctx)


# --------------------------------------------------------------------------- attributes


async def test_extra_attributes() -> None:
    """extra(): anyio TLSAttribute where meanings match, SspiTLSAttribute otherwise; sides agree."""
    async with connected(alpn=["h2", "http/1.1"]) as (client, server):
        for stream, server_side in ((client, False), (server, True)):
            assert stream.extra(TLSAttribute.server_side) is server_side
            assert stream.extra(TLSAttribute.standard_compatible) is True
            assert stream.extra(SspiTLSAttribute.package) == PACKAGE
            assert stream.extra(SspiTLSAttribute.security_context) is stream.context
            assert stream.extra(TLSAttribute.tls_version) in {"TLSv1.2", "TLSv1.3"}
            suite, version, bits = stream.extra(TLSAttribute.cipher)
            assert suite == stream.extra(SspiTLSAttribute.cipher_suite)
            assert version == stream.extra(TLSAttribute.tls_version)
            assert isinstance(bits, int)
            raw = stream.extra(SspiTLSAttribute.channel_bindings)
            end_point = stream.extra(SspiTLSAttribute.channel_binding_tls_server_end_point)
            assert (raw is None) == (end_point is None)
            peer = stream.extra(TLSAttribute.peer_certificate_binary)
            assert peer is None or isinstance(peer, bytes)
            assert stream.extra(TLSAttribute.ssl_object, None) is None
            with pytest.raises(anyio.TypedAttributeLookupError):
                stream.extra(TLSAttribute.shared_ciphers)
        for attribute in (
            TLSAttribute.tls_version,
            TLSAttribute.cipher,
            TLSAttribute.alpn_protocol,
            SspiTLSAttribute.protocol_version,
            SspiTLSAttribute.cipher_suite_id,
            SspiTLSAttribute.channel_bindings,
        ):
            assert client.extra(attribute) == server.extra(attribute), attribute


async def test_simtls_attribute_values() -> None:
    """SimTLS: TLSv1.3, its suite, the server's ALPN pick, peer names; None for certificates."""
    with anyio.fail_after(LIMIT):
        async with Emulator(), transport_pair("memory") as (left, right):
            scred = await server_credentials(alpn=("http/1.1", "h2"))
            client, server = await connect(left, right, server_cred=scred, alpn=["h2", "http/1.1"])
            async with client, server:
                assert client.extra(TLSAttribute.tls_version) == "TLSv1.3"
                assert client.extra(SspiTLSAttribute.protocol_version) == 0x0304
                assert client.extra(TLSAttribute.cipher) == (
                    "SIMTLS_SHAKE256_HMAC_SHA256",
                    "TLSv1.3",
                    256,
                )
                assert client.extra(TLSAttribute.alpn_protocol) == "http/1.1"
                assert server.extra(TLSAttribute.alpn_protocol) == "http/1.1"
                assert client.extra(SspiTLSAttribute.peer_name) == SERVER_NAME
                assert server.extra(SspiTLSAttribute.peer_name) == CLIENT_NAME
                assert client.extra(TLSAttribute.peer_certificate_binary) is None
                assert client.extra(SspiTLSAttribute.channel_bindings) is None


async def test_simtls_no_alpn_and_tls12_shape() -> None:
    """SimTLS in its TLS 1.2 shape: "TLSv1.2", no ALPN offered → alpn_protocol None."""
    with anyio.fail_after(LIMIT):
        async with Emulator(), transport_pair("memory") as (left, right):
            shape: dict[str, Any] = {"rounds": 2, "tls_version_bytes": 0x0303}
            ccred = await client_credentials(**shape)
            scred = await server_credentials(**shape)
            client, server = await connect(left, right, client_cred=ccred, server_cred=scred)
            async with client, server:
                assert client.extra(TLSAttribute.tls_version) == "TLSv1.2"
                assert server.extra(SspiTLSAttribute.protocol_version) == 0x0303
                assert client.extra(TLSAttribute.alpn_protocol) is None
                await server.send(b"1.2")
                assert await client.receive() == b"1.2"


CERT_DER = b"0\x82fake certificate DER"
CERT_HASH = bytes(range(32))


def channel_bindings(application_data: bytes) -> bytes:
    """A SEC_CHANNEL_BINDINGS structure: 8 ULONGs, then the application data."""
    return struct.pack("<8I", 0, 0, 0, 0, 0, 0, len(application_data), 32) + application_data


class _CertContext(SimTLSContext):
    """SimTLS with REMOTE_CERT_CONTEXT and ENDPOINT_BINDINGS answers but no CIPHER_INFO."""

    __slots__ = ()

    def query(self, attribute: int) -> object:
        if attribute == SECPKG_ATTR_CIPHER_INFO:
            raise PackageError(SEC_E_UNSUPPORTED_FUNCTION, "no CIPHER_INFO here")
        if attribute == SECPKG_ATTR_REMOTE_CERT_CONTEXT:
            return SecPkgContext_RemoteCertContext(CERT_DER, [CERT_DER])
        if attribute == SECPKG_ATTR_ENDPOINT_BINDINGS:
            data = channel_bindings(b"tls-server-end-point:" + CERT_HASH)
            return SecPkgContext_Bindings(len(data), data)
        return super().query(attribute)


class _CertPackage(SimTLSPackage):
    __slots__ = ()

    def new_context(self, credential: Any, request: Any) -> SimTLSContext:
        return _CertContext(credential, request)


CERT_PACKAGE = f"SimTLS-Certificates-NoCipherInfo-{uuid.uuid4().hex}"
register_package(CERT_PACKAGE, _CertPackage, auth_model=SimTLSCred)


async def test_peer_certificate_and_endpoint_bindings_from_the_package() -> None:
    """Package certificate and bindings reach extra(); no CIPHER_INFO means no tls_version."""
    with anyio.fail_after(LIMIT):
        async with Emulator(), transport_pair("memory") as (left, right):
            ccred = await client_credentials(CERT_PACKAGE)
            scred = await server_credentials(CERT_PACKAGE)
            client, server = await connect(left, right, client_cred=ccred, server_cred=scred)
            async with client, server:
                assert client.extra(TLSAttribute.peer_certificate_binary) == CERT_DER
                raw = client.extra(SspiTLSAttribute.channel_bindings)
                assert raw == channel_bindings(b"tls-server-end-point:" + CERT_HASH)
                end_point = client.extra(SspiTLSAttribute.channel_binding_tls_server_end_point)
                assert end_point == CERT_HASH
                assert client.extra(SspiTLSAttribute.package) == CERT_PACKAGE
                assert client.extra(TLSAttribute.tls_version, None) is None
                with pytest.raises(anyio.TypedAttributeLookupError):
                    client.extra(TLSAttribute.cipher)
                assert client.extra(SspiTLSAttribute.protocol_version) is None
                assert client.extra(SspiTLSAttribute.cipher_suite) is None
                await client.send(b"still works")
                assert await server.receive() == b"still works"


async def test_repr_names_role_package_and_state() -> None:
    """repr() shows the side, the package and whether the stream is closed."""
    async with connected() as (client, server):
        assert "client" in repr(client)
        assert PACKAGE in repr(server)
        await client.aclose()
        assert "closed" in repr(client)


class Recording(Wrapper):
    """A transport that records every ``send`` it is given."""

    def __init__(self, inner: ByteStream) -> None:
        super().__init__(inner)
        self.sent: list[bytes] = []

    async def send(self, item: bytes) -> None:
        self.sent.append(item)
        await self.inner.send(item)


async def test_split_fault_is_sent_as_separate_writes_and_the_handshake_completes() -> None:
    """SPEC §9 split on SspiTLSStream: the client's first token, split in three by a fault plan,
    goes out as three separate transport writes; the server reassembles it (T4) and the stream
    works."""
    plan = FaultPlan.model_validate(
        {"rules": [{"function": "ISC", "nth": 1, "action": {"kind": "split", "parts": 3}}]}
    )
    with anyio.fail_after(LIMIT):
        async with Emulator(faults=plan):
            ccred, scred = await client_credentials(), await server_credentials()
            left, right = memory_pair()
            recording = Recording(left)
            async with anyio.create_task_group() as group:
                streams: dict[str, SspiTLSStream] = {}

                async def serve() -> None:
                    streams["server"] = await SspiTLSStream.wrap_server(right, scred)

                group.start_soon(serve)
                client = await SspiTLSStream.wrap_client(recording, ccred, SERVER_NAME)
            first_flight = recording.sent[:3]
            assert len(first_flight) == 3
            assert all(first_flight)
            await client.send(b"ping")
            assert await streams["server"].receive() == b"ping"
            await client.aclose()
            await streams["server"].aclose()
