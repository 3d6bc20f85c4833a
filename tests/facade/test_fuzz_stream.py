"""Hypothesis fuzzing of ``SspiTLSStream`` over an in-memory wire (T4, T6, E1, E4), on Schannel
TLS 1.3, Schannel TLS 1.2 and SimTLS.

:class:`Wire` is a pair of in-memory byte streams that hands the reader its bytes in chunk sizes
hypothesis draws, logs every byte each side sends, and can flip one byte of one chosen send after
the handshake. One side sends a few messages, then half-closes its transport (``send_eof``) so
that a record whose length field grew ends in a truncation instead of a wait; the other receives.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field

import anyio
import pytest
from anyio.abc import ByteStream
from hypothesis import given
from hypothesis import strategies as st

from sspi_async import SspiError, SspiTLSStream
from tests.facade.fuzz_helpers import (
    FUZZ,
    KINDS,
    credentials,
    is_encrypted_alert,
    run,
    split_records,
    target_for,
)

STREAM_FUZZ = FUZZ.__class__(FUZZ, max_examples=40)

chunk_sizes = st.lists(
    st.one_of(st.integers(1, 8), st.integers(9, 300), st.integers(301, 5000)),
    min_size=1,
    max_size=6,
)
messages = st.lists(st.binary(min_size=1, max_size=3000), min_size=1, max_size=4)


@dataclass
class Direction:
    """Bytes travelling one way: what the reader has not taken yet, everything ever sent, and
    an optional corruption ``(send index after arming, offset, xor)``."""

    sizes: Iterator[int]
    pending: bytearray = field(default_factory=bytearray)
    log: bytearray = field(default_factory=bytearray)
    eof: bool = False
    reader_gone: bool = False
    waiter: anyio.Event | None = None
    armed_at: int | None = None  # len(log) when the handshake was over
    sends_after_arming: int = 0
    corrupt: tuple[int, int, int] | None = None

    def wake(self) -> None:
        if self.waiter is not None:
            self.waiter.set()
            self.waiter = None

    def after_arming(self) -> bytes:
        """What was sent after :meth:`Wire.arm`."""
        assert self.armed_at is not None
        return bytes(self.log[self.armed_at :])


class WireEnd(ByteStream):
    """One end of a :class:`Wire`: sends into ``outgoing``, receives from ``incoming``."""

    def __init__(self, outgoing: Direction, incoming: Direction) -> None:
        self.outgoing = outgoing
        self.incoming = incoming
        self.closed = False

    async def send(self, item: bytes) -> None:
        if self.closed:
            raise anyio.ClosedResourceError
        out = self.outgoing
        if out.eof or out.reader_gone:
            raise anyio.BrokenResourceError
        data = bytearray(item)
        if out.armed_at is not None:
            if out.corrupt is not None and out.corrupt[0] == out.sends_after_arming:
                _, offset, xor = out.corrupt
                data[offset % len(data)] ^= xor
            out.sends_after_arming += 1
        out.log += data
        out.pending += data
        out.wake()
        await anyio.lowlevel.checkpoint()

    async def receive(self, max_bytes: int = 65536) -> bytes:
        inc = self.incoming
        while not inc.pending:
            if self.closed:
                raise anyio.ClosedResourceError
            if inc.eof:
                raise anyio.EndOfStream
            inc.waiter = anyio.Event()
            await inc.waiter.wait()
        size = min(next(inc.sizes), len(inc.pending), max_bytes)
        chunk = bytes(inc.pending[:size])
        del inc.pending[:size]
        return chunk

    async def send_eof(self) -> None:
        self.outgoing.eof = True
        self.outgoing.wake()

    async def aclose(self) -> None:
        self.closed = True
        self.outgoing.eof = True
        self.incoming.reader_gone = True
        self.outgoing.wake()
        self.incoming.wake()


class Wire:
    """Two connected :class:`WireEnd` objects; each reader gets chunks of ``sizes`` (cycled)."""

    def __init__(self, sizes: list[int]) -> None:
        self.to_server = Direction(itertools.cycle(sizes))
        self.to_client = Direction(itertools.cycle(sizes[::-1]))
        self.client_end = WireEnd(self.to_server, self.to_client)
        self.server_end = WireEnd(self.to_client, self.to_server)

    def arm(self) -> None:
        """The handshake is over: count sends (and corrupt one) from here on."""
        for direction in (self.to_server, self.to_client):
            direction.armed_at = len(direction.log)


@dataclass
class Streams:
    """A connected stream pair over a :class:`Wire`."""

    wire: Wire
    client: SspiTLSStream
    server: SspiTLSStream

    def roles(self, from_client: bool) -> tuple[SspiTLSStream, SspiTLSStream, WireEnd, Direction]:
        """``(sender, receiver, the sender's wire end, the receiver's outgoing direction)``."""
        if from_client:
            return self.client, self.server, self.wire.client_end, self.wire.to_client
        return self.server, self.client, self.wire.server_end, self.wire.to_server


@asynccontextmanager
async def connected(kind: str, sizes: list[int]) -> AsyncIterator[Streams]:
    """Both streams after their handshakes over a fresh :class:`Wire`; closed on exit (receiver
    checks may close them earlier: ``aclose`` is idempotent), credentials freed."""
    wire = Wire(sizes)
    async with AsyncExitStack() as stack:
        ccred, scred = await credentials(kind)
        stack.push_async_callback(scred.aclose)
        stack.push_async_callback(ccred.aclose)
        made: dict[str, SspiTLSStream] = {}

        async def client() -> None:
            made["client"] = await SspiTLSStream.wrap_client(
                wire.client_end, ccred, target_for(kind)
            )

        async def server() -> None:
            made["server"] = await SspiTLSStream.wrap_server(wire.server_end, scred)

        async with anyio.create_task_group() as group:
            group.start_soon(client)
            group.start_soon(server)
        stack.push_async_callback(made["client"].aclose)
        stack.push_async_callback(made["server"].aclose)
        wire.arm()
        yield Streams(wire, made["client"], made["server"])


async def send_all(stream: SspiTLSStream, end: WireEnd, texts: list[bytes]) -> None:
    """Send every message, then half-close the transport (no close_notify)."""
    for text in texts:
        await stream.send(text)
    await end.send_eof()


async def receive_until_refused(stream: SspiTLSStream) -> tuple[bytes, BaseException]:
    """Receive until the stream raises; only SspiError and BrokenResourceError are expected —
    anything else propagates and fails the test."""
    got = bytearray()
    try:
        while True:
            got += await stream.receive()
    except (SspiError, anyio.BrokenResourceError) as exc:
        return bytes(got), exc


async def raised_by_receive(stream: SspiTLSStream) -> BaseException | None:
    """What one more ``receive`` raises (``None`` if it returned data); its type is checked."""
    try:
        await stream.receive()
    except Exception as exc:
        return exc
    return None


# --------------------------------------------------------------------------- intact delivery


@pytest.mark.parametrize("kind", KINDS)
@STREAM_FUZZ
@given(sizes=chunk_sizes, texts=messages, from_client=st.booleans())
def test_T4_fuzz_stream_delivers_plaintext_intact_in_any_chunking(
    kind: str, sizes: list[int], texts: list[bytes], from_client: bool
) -> None:
    """T4/T6/E1: whatever chunk sizes the transport delivers, handshake and records arrive intact
    and in order; after both streams close the emulator holds nothing."""

    async def main() -> None:
        async with connected(kind, sizes) as streams:
            sender, receiver, end, _ = streams.roles(from_client)
            expected = b"".join(texts)
            got = bytearray()
            async with anyio.create_task_group() as group:
                group.start_soon(send_all, sender, end, texts)
                while len(got) < len(expected):
                    got += await receiver.receive()
            assert bytes(got) == expected

    run(main())


# --------------------------------------------------------------------------- one corrupted byte


@dataclass(frozen=True)
class Outcome:
    """What the receiver saw and sent back after one corrupted byte."""

    received: bytes
    error: BaseException
    later: list[BaseException | None]
    sent_back: bytes
    expected_prefix: bytes


async def corrupted_exchange(
    streams: Streams, from_client: bool, texts: list[bytes], which: int, offset: int, xor: int
) -> Outcome:
    """Flip one byte of the sender's ``which``-th send, let the receiver run into it, receive
    twice more, close the receiver; return what it saw and sent back."""
    sender, receiver, end, back = streams.roles(from_client)
    forward = streams.wire.to_server if from_client else streams.wire.to_client
    target = which % len(texts)
    forward.corrupt = (target, offset, xor)
    async with anyio.create_task_group() as group:
        group.start_soon(send_all, sender, end, texts)
        received, error = await receive_until_refused(receiver)
    later = [await raised_by_receive(receiver) for _ in range(2)]
    await receiver.aclose()
    return Outcome(received, error, later, back.after_arming(), b"".join(texts[:target]))


corruptions = {
    "texts": messages,
    "from_client": st.booleans(),
    "which": st.integers(0, 3),
    "offset": st.integers(0, 1 << 16),
    "xor": st.integers(1, 255),
    "sizes": chunk_sizes,
}


@pytest.mark.parametrize("kind", KINDS)
@STREAM_FUZZ
@given(**corruptions)
def test_E4_fuzz_stream_corrupted_byte_breaks_the_receiver(
    kind: str,
    texts: list[bytes],
    from_client: bool,
    which: int,
    offset: int,
    xor: int,
    sizes: list[int],
) -> None:
    """E4/T11: one flipped ciphertext byte → the receiver gets exactly the messages sent before
    the changed record, then raises SspiError or BrokenResourceError (nothing else, no hang), and
    every later receive raises BrokenResourceError."""

    async def main() -> None:
        async with connected(kind, sizes) as streams:
            outcome = await corrupted_exchange(streams, from_client, texts, which, offset, xor)
        assert outcome.received == outcome.expected_prefix
        assert isinstance(outcome.error, SspiError | anyio.BrokenResourceError), outcome.error
        assert [type(exc) for exc in outcome.later] == [anyio.BrokenResourceError] * 2, (
            outcome.later
        )

    run(main())


@pytest.mark.parametrize("kind", KINDS)
@STREAM_FUZZ
@given(**corruptions)
def test_E4_fuzz_stream_sends_at_most_one_encrypted_fatal_alert_after_corruption(
    kind: str,
    texts: list[bytes],
    from_client: bool,
    which: int,
    offset: int,
    xor: int,
    sizes: list[int],
) -> None:
    """E4: after a corrupted record the receiver sends its peer nothing or exactly one fatal
    alert protected under the current keys — never a plaintext record, nothing after it (no
    close_notify, even from aclose) — and after a refused record the sender never sees a clean
    close."""

    async def main() -> None:
        async with connected(kind, sizes) as streams:
            outcome = await corrupted_exchange(streams, from_client, texts, which, offset, xor)
            sender = streams.roles(from_client)[0]
            sent = split_records(outcome.sent_back)
            shapes = [(content_type, len(body)) for content_type, body in sent]
            assert len(sent) <= 1, shapes
            if sent:
                assert is_encrypted_alert(kind, *sent[0]), shapes
            if isinstance(outcome.error, SspiError):  # a refused record, not a truncation
                with pytest.raises((SspiError, anyio.BrokenResourceError)):
                    await sender.receive()

    run(main())
