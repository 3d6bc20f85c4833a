"""The interop harness itself: ports taken by someone else, and peers that must not outlive a test.

These pin the two promises every other test in this folder relies on: ``openssl_server`` finds a
usable ephemeral port even when the one it probed is taken before s_server binds it, and a peer
is killed and reaped when its block ends early.
"""

from __future__ import annotations

import signal
import socket
from collections.abc import Iterator

import anyio
import pytest

from tests.interop import conftest
from tests.interop.conftest import LIMIT, OpensslServer, Pki, Spawn
from tests.interop.processes import Peer, free_port

pytestmark = pytest.mark.interop


async def test_openssl_server_retries_a_port_taken_before_it_binds(
    openssl_server: OpensslServer, pki: Pki, monkeypatch: pytest.MonkeyPatch, spawned: list[Peer]
) -> None:
    """Harness: s_server failing to bind a taken port is retried on a fresh one, then accepts."""
    with socket.create_server(("127.0.0.1", 0)) as taken:
        busy = taken.getsockname()[1]
        ports: Iterator[int] = iter([busy, free_port()])
        monkeypatch.setattr(conftest, "free_port", lambda: next(ports))
        args = ("-cert", str(pki.server_cert), "-key", str(pki.server_key))
        with anyio.fail_after(LIMIT):
            async with openssl_server(*args) as (peer, port):
                stream = await anyio.connect_tcp("127.0.0.1", port)
                await stream.aclose()  # s_server's one connection: it ends and s_server exits
                await peer.wait()
    assert port != busy
    first, second = spawned
    assert b"in use" in first.output
    assert first.process.returncode is not None
    assert second is peer


async def test_peer_is_killed_and_reaped_when_its_block_fails(openssl: str, start: Spawn) -> None:
    """Harness: a peer still running when its block raises is killed and reaped, never leaked."""
    port = free_port()
    argv = [openssl, "s_server", "-accept", f"127.0.0.1:{port}", "-nocert"]
    started: list[Peer] = []

    async def failing_block() -> None:
        async with start(argv) as peer:
            started.append(peer)
            await peer.expect(b"ACCEPT")
            raise RuntimeError("test body failed")

    with anyio.fail_after(LIMIT), pytest.raises(RuntimeError, match="test body failed"):
        await failing_block()
    (peer,) = started
    assert peer.process.returncode == -signal.SIGKILL
    with pytest.raises(ConnectionRefusedError):  # nothing listens there any more
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
