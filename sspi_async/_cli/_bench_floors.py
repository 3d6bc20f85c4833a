"""Floors: the thinnest code with the shape of async SSPI, measured next to the emulator.

The speed goals of issue 3 are ratios to raw OpenSSL. These loops show how much of each ratio the
*shape* of the work costs on this machine and Python, before any of the emulator's rules: they do
exactly the OpenSSL work of the emulator's loops and the least Python that shape needs, and
nothing else (no handle table, no argument checks, no buffer mapping, no statuses, no logging).
No implementation of the API can beat them, so a goal above a floor cannot be met here.

* :func:`floor_handshake` — one handshake where every ISC/ASC step and both deletes are queued
  calls that complete on a later event-loop turn (A7) and the caller yields once per call; the
  client reads the two session tickets and makes a follow-up call for each (M2), as
  ``sspi_async.handshake`` does. With ``pool`` the steps run in worker threads and come back with
  ``call_soon_threadsafe`` (A14), as the emulator's do.
* :class:`FloorRecords` — EncryptMessage/DecryptMessage reduced to their shape: one call each
  that finds the context in a dict, scans four buffers, hands the plaintext (a view of the
  caller's buffer) to OpenSSL, and writes the record back into the caller's contiguous buffer; the
  decrypt sets the HEADER/DATA/TRAILER buffers.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Final

__all__ = ("FloorRecords", "floor_handshake")

_MAX_RECORD: Final = 16384


class _Side:
    """One side: an ``SSLObject`` between two memory BIOs."""

    __slots__ = ("incoming", "outgoing", "tls")

    def __init__(self, context: ssl.SSLContext, server: bool, host: str | None) -> None:
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        self.tls = context.wrap_bio(
            self.incoming, self.outgoing, server_side=server, server_hostname=host
        )


def _step(side: _Side, token: bytes) -> bytes:
    """The package step: feed the peer's flight, run the handshake, return the next flight."""
    if token:
        side.incoming.write(token)
    with contextlib.suppress(ssl.SSLWantReadError):
        side.tls.do_handshake()
    return side.outgoing.read()


def _nothing() -> bytes:
    return b""


async def _queued(work: Callable[..., bytes], *args: Any) -> bytes:
    """A queued call run on the loop: dispatched with ``call_soon``, the caller yields once."""
    box: list[bytes] = []
    asyncio.get_running_loop().call_soon(lambda: box.append(work(*args)))
    await asyncio.sleep(0)
    return box[0]


async def _offloaded(pool: ThreadPoolExecutor, work: Callable[..., bytes], *args: Any) -> bytes:
    """A queued call whose work runs in a worker thread and comes back to the loop."""
    loop = asyncio.get_running_loop()
    waiter: asyncio.Future[bytes] = loop.create_future()

    def back(done: Future[bytes]) -> None:
        loop.call_soon_threadsafe(waiter.set_result, done.result())

    pool.submit(work, *args).add_done_callback(back)
    return await waiter


async def floor_handshake(
    client_context: ssl.SSLContext,
    server_context: ssl.SSLContext,
    host: str,
    pool: ThreadPoolExecutor | None = None,
) -> tuple[ssl.SSLObject, ssl.SSLObject]:
    """One handshake in the thinnest async-SSPI shape (see the module docstring); returns the
    client's and the server's ``SSLObject``."""
    client = _Side(client_context, False, host)
    server = _Side(server_context, True, None)
    contexts = {1: client, 2: server}

    async def step(key: int, token: bytes) -> bytes:
        if pool is None:
            return await _queued(_step, contexts[key], token)
        return await _offloaded(pool, _step, contexts[key], token)

    hello = await step(1, b"")
    flight = await step(2, hello)
    finished = await step(1, flight)
    tickets = await step(2, finished)
    client.incoming.write(tickets)
    while client.incoming.pending:  # DecryptMessage per record, then the follow-up ISC (M2)
        with contextlib.suppress(ssl.SSLWantReadError):
            client.tls.read(_MAX_RECORD)
        await _queued(_nothing)

    def delete(key: int) -> bytes:
        del contexts[key]
        return b""

    for key in (1, 2):  # the two DeleteSecurityContext calls
        await _queued(delete, key)
    return client.tls, server.tls


class _Buffer:
    """A SecBuffer: type, size, memory."""

    __slots__ = ("kind", "memory", "size")

    def __init__(self, kind: int, size: int = 0, memory: Any = None) -> None:
        self.kind, self.size, self.memory = kind, size, memory


_DATA, _HEADER, _TRAILER, _EMPTY = 1, 7, 6, 0


class FloorRecords:
    """Encrypt + Decrypt of one record per call in the thinnest SSPI shape (module docstring).

    ``client`` and ``server`` are the two ends of a finished raw handshake (``SSLObject``, its
    incoming and outgoing BIOs); ``header``/``trailer`` the record overhead of the suite.
    """

    __slots__ = ("_contexts", "_decrypt", "_encrypt", "_payload", "_view")

    def __init__(
        self,
        client: tuple[ssl.SSLObject, ssl.MemoryBIO, ssl.MemoryBIO],
        server: tuple[ssl.SSLObject, ssl.MemoryBIO, ssl.MemoryBIO],
        payload: bytes,
        header: int,
        trailer: int,
    ) -> None:
        size = len(payload)
        self._contexts = {1: client, 2: server}
        self._payload = payload
        self._view = memoryview(bytearray(header + size + trailer))
        view = self._view
        self._encrypt = [
            _Buffer(_HEADER, header, view[:header]),
            _Buffer(_DATA, size, view[header : header + size]),
            _Buffer(_TRAILER, trailer, view[header + size :]),
            _Buffer(_EMPTY),
        ]
        self._decrypt = [_Buffer(_EMPTY) for _ in range(4)]

    def _encrypt_message(self, handle: int, buffers: list[_Buffer]) -> int:
        tls, _, outgoing = self._contexts[handle]
        data = None
        for buf in buffers:
            if buf.kind == _DATA:
                data = buf
        assert data is not None
        with data.memory[: data.size] as plaintext:
            tls.write(plaintext)
        record = outgoing.read()
        self._view[: len(record)] = record  # the caller's contiguous header|data|trailer
        return 0

    def _decrypt_message(self, handle: int, buffers: list[_Buffer]) -> int:
        tls, incoming, _ = self._contexts[handle]
        data = None
        # The scan inline, as in _encrypt_message: a helper call is a cost a floor must not add.
        for buf in buffers:
            if buf.kind == _DATA:
                data = buf
        assert data is not None
        with data.memory[: data.size] as record:
            incoming.write(record)
        plaintext = tls.read(_MAX_RECORD)
        head, body, tail = buffers[0], buffers[1], buffers[2]
        head.kind, body.kind, tail.kind = _HEADER, _DATA, _TRAILER
        body.size, body.memory = len(plaintext), plaintext
        return 0

    def __call__(self) -> bytes:
        """One record from the client to the server; returns the plaintext."""
        header, data = self._encrypt[0], self._encrypt[1]
        self._view[header.size : header.size + data.size] = self._payload
        self._encrypt_message(1, self._encrypt)
        first = self._decrypt[0]
        first.kind, first.size, first.memory = _DATA, len(self._view), self._view
        for buf in self._decrypt[1:]:
            buf.kind = _EMPTY
        self._decrypt_message(2, self._decrypt)
        plaintext: bytes = self._decrypt[1].memory
        return plaintext
