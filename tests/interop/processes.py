"""Subprocess peers for the interop tests: start, read output with a deadline, always reap.

A :class:`Peer` is a process started with stdout and stderr on one pipe, drained by a task for
its whole life (so a chatty peer never blocks on a full pipe). Tests wait for a line with
:meth:`Peer.expect` (bounded by a deadline, no sleeping) and for the exit with
:meth:`Peer.wait`. :func:`spawn` kills the process if it is still running when the block ends,
for any reason, and reaps it, so no process outlives its test.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import anyio
from anyio.abc import Process

if sys.version_info < (3, 11):
    from exceptiongroup import BaseExceptionGroup

__all__ = ("Peer", "PeerExitedError", "free_port", "spawn")

#: Seconds a peer gets to print what a test waits for, or to exit on its own.
PEER_DEADLINE = 5.0


class PeerExitedError(AssertionError):
    """The peer's output ended before it printed what the test waited for."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read it, close).

    Another process may take it before the peer binds it; callers retry on a bind failure.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Peer:
    """A running subprocess and everything it has printed so far (stdout and stderr merged)."""

    def __init__(self, process: Process, argv: Sequence[str]) -> None:
        self.process = process
        self.argv = list(argv)
        self.output = bytearray()
        self.eof = False
        self._changed = anyio.Event()

    @property
    def text(self) -> str:
        """The output so far, decoded leniently (for assertions and failure messages)."""
        return self.output.decode("utf-8", "replace")

    def _describe(self) -> str:
        return f"{' '.join(self.argv)}\n--- output so far ---\n{self.text}"

    def _notify(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()

    async def _drain(self) -> None:
        stdout = self.process.stdout
        assert stdout is not None
        try:
            async for chunk in stdout:
                self.output += chunk
                self._notify()
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            pass
        finally:
            self.eof = True
            self._notify()

    async def expect(self, marker: bytes, *, seconds: float = PEER_DEADLINE) -> None:
        """Wait until ``marker`` appears in the output.

        Raises:
            PeerExitedError: the output ended first (the message has the whole output).
            TimeoutError: not within ``seconds``.
        """
        with anyio.fail_after(seconds):
            while marker not in self.output:
                if self.eof:
                    raise PeerExitedError(
                        f"the peer ended before printing {marker!r}: {self._describe()}"
                    )
                await self._changed.wait()

    async def wait(self, *, seconds: float = PEER_DEADLINE) -> int:
        """Wait for the process to exit on its own and its output to be read; the exit code."""
        with anyio.fail_after(seconds):
            code = await self.process.wait()
            while not self.eof:
                await self._changed.wait()
        return code

    async def write(self, data: bytes) -> None:
        """Write ``data`` to the peer's stdin."""
        assert self.process.stdin is not None
        await self.process.stdin.send(data)

    async def close_stdin(self) -> None:
        """End the peer's stdin (EOF)."""
        assert self.process.stdin is not None
        await self.process.stdin.aclose()

    def __repr__(self) -> str:
        return f"<Peer {self.argv[:2]} pid={self.process.pid} rc={self.process.returncode}>"


@asynccontextmanager
async def spawn(argv: Sequence[str], registry: list[Peer] | None = None) -> AsyncIterator[Peer]:
    """Start ``argv`` and yield its :class:`Peer`; on exit kill it if it still runs, and reap it.

    ``registry`` (the conftest's) collects every peer so a fixture can check none leaked.
    """
    process = await anyio.open_process(
        list(argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    peer = Peer(process, argv)
    if registry is not None:
        registry.append(peer)
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(peer._drain)
            try:
                yield peer
            finally:
                with anyio.CancelScope(shield=True):
                    if process.returncode is None:
                        with contextlib.suppress(ProcessLookupError):
                            process.kill()
                    with anyio.move_on_after(PEER_DEADLINE):
                        await process.wait()
    except BaseExceptionGroup as group:
        # The drain task never fails, so the group holds only the block's own exception:
        # re-raise that one, so callers catch it by its type (pytest.raises, except).
        if len(group.exceptions) != 1:
            raise
        raise group.exceptions[0] from None
    finally:
        with anyio.CancelScope(shield=True):
            await process.aclose()
