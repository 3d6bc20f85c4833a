"""SspiTLSListener: TLS through the async SSPI calls on every accepted connection (SPEC §6, E5).

The server side is a real ``SspiTLSListener`` over a TCP listener on 127.0.0.1 with Schannel
credentials; the clients are the blocking Python ``ssl``/``socket`` peers of
:mod:`tests.facade.tls_peers`, run in a worker thread. Failures are observed through the
listener's own report hooks (an event per report, never a sleep) and their log lines captured
with ``structlog.testing.capture_logs``.
"""

from __future__ import annotations

import math
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info < (3, 11):
    from exceptiongroup import BaseExceptionGroup

import anyio
import pytest
import structlog
from anyio.abc import SocketAttribute
from anyio.streams.tls import TLSAttribute

from sspi_async import (
    Emulator,
    SchannelCred,
    SspiTLSListener,
    SspiTLSStream,
    acquire_credentials,
)
from sspi_async.testing import CertificateAuthority
from tests.facade import tls_peers

LIMIT = 30  # seconds: the bound on every test body
HANDSHAKE_FAILED = "sspi.listener.handshake_failed"
CONNECTION_FAILED = "sspi.listener.connection_failed"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> tuple[SchannelCred, Path]:
    """A server credential for ``localhost`` and the file of the CA that issued it."""
    ca = CertificateAuthority()
    cafile = tmp_path_factory.mktemp("listener") / "ca.pem"
    cafile.write_bytes(ca.cert_pem)
    return ca.issue("localhost").schannel_cred(), cafile


class ObservedListener(SspiTLSListener):
    """The listener under test, with an event set on every failure report (after logging)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reported = anyio.Event()
        self.reports = 0

    def on_handshake_failure(self, peer: str | None, reason: str, exc: BaseException) -> None:
        super().on_handshake_failure(peer, reason, exc)
        self._reported()

    def on_connection_failure(self, peer: str | None, reason: str, exc: BaseException) -> None:
        super().on_connection_failure(peer, reason, exc)
        self._reported()

    def _reported(self) -> None:
        self.reports += 1
        self.reported.set()
        self.reported = anyio.Event()


async def echo_handler(stream: SspiTLSStream) -> None:
    """Echo until the client's close_notify; any other end propagates to the listener."""
    async for chunk in stream:
        await stream.send(chunk)


@dataclass
class Server:
    listener: ObservedListener
    port: int
    cafile: Path
    logs: list[dict[str, Any]] = field(default_factory=list)

    async def run(self, peer: tls_peers.Peer) -> str:
        """Run a blocking peer in a worker thread; return its local address."""
        return await anyio.to_thread.run_sync(peer, self.port, self.cafile)

    async def echo(self, message: bytes = b"hello after E5\n") -> bytes:
        return await anyio.to_thread.run_sync(tls_peers.echo, self.port, self.cafile, message)


@asynccontextmanager
async def serving(
    pki: tuple[SchannelCred, Path],
    handshake_timeout: float = 60.0,
    handler: Any = echo_handler,
    **options: Any,
) -> AsyncIterator[Server]:
    """An emulator, INBOUND Schannel credentials and a listener serving ``handler``; on exit
    the listener stops and nothing the connections created is left (E1)."""
    cred, cafile = pki
    with structlog.testing.capture_logs() as logs:
        async with Emulator() as emulator:
            credentials = await acquire_credentials("Schannel", "inbound", cred)
            tcp = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
            listener = ObservedListener(
                tcp, credentials, handshake_timeout=handshake_timeout, **options
            )
            server = Server(listener, listener.extra(SocketAttribute.local_port), cafile, logs)
            async with anyio.create_task_group() as group:
                group.start_soon(listener.serve, handler)
                yield server
                group.cancel_scope.cancel()
            await listener.aclose()
            await credentials.aclose()
            stats = emulator.statistics()
            assert stats["contexts"] == 0, stats
            assert stats["credentials"] == 0, stats


def failures(logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in logs if e["event"] in (HANDSHAKE_FAILED, CONNECTION_FAILED)]


@pytest.mark.parametrize("case", sorted(tls_peers.PEERS))
async def test_e5_one_bad_connection_is_one_log_line_and_the_next_client_is_served(
    pki: tuple[SchannelCred, Path], case: str
) -> None:
    """E5: a reset before/after the ClientHello, an EOF without close_notify, a failed handshake,
    garbage or an idle client ends that connection only, with one log line giving a non-empty
    reason, the peer and the exception type; the next client still gets its echo."""
    expected = {
        "reset_before_hello": HANDSHAKE_FAILED,
        "reset_after_hello": HANDSHAKE_FAILED,
        "eof_after_handshake": CONNECTION_FAILED,
        "untrusting_client": HANDSHAKE_FAILED,
        "garbage": HANDSHAKE_FAILED,
        "idle": HANDSHAKE_FAILED,
    }[case]
    timeout = 1.0 if case == "idle" else 60.0  # the next client's handshake must fit in it too
    with anyio.fail_after(LIMIT):
        async with serving(pki, handshake_timeout=timeout) as server:
            reported = server.listener.reported
            address = await server.run(tls_peers.PEERS[case])
            await reported.wait()
            assert await server.echo() == b"hello after E5\n"
            [entry] = failures(server.logs)
            assert server.listener.reports == 1
    assert entry["event"] == expected
    assert entry["log_level"] == "warning"
    assert entry["reason"].strip()
    assert entry["peer"] in (address, None)  # None: the socket was reset before accept()
    assert entry["exc_type"]
    if case == "idle":
        assert entry["reason"] == "no TLS handshake within 1 s (handshake_timeout)"
        assert entry["exc_type"] == "TimeoutError"
    if case == "eof_after_handshake":
        assert entry["peer"] == address
        assert "close_notify" in entry["reason"]


async def test_e5_idle_client_is_dropped_when_the_handshake_timeout_expires(
    pki: tuple[SchannelCred, Path],
) -> None:
    """E5: a client that never sends a ClientHello is disconnected by the server when
    ``handshake_timeout`` expires (the idle peer returns only once the server hangs up)."""
    with anyio.fail_after(LIMIT):
        async with serving(pki, handshake_timeout=0.1) as server:
            reported = server.listener.reported
            await server.run(tls_peers.idle)  # returns on the server's FIN
            await reported.wait()
    [entry] = failures(server.logs)
    assert entry["exc_type"] == "TimeoutError"


async def test_e5_idle_clients_do_not_delay_other_clients(pki: tuple[SchannelCred, Path]) -> None:
    """E5: while clients sit connected without a ClientHello, other clients are still accepted
    and served: each connection's handshake runs in a task of its own."""
    with anyio.fail_after(LIMIT):
        async with serving(pki) as server:
            idle = [await anyio.connect_tcp("127.0.0.1", server.port) for _ in range(3)]
            assert await server.echo(b"not blocked") == b"not blocked"
            for sock in idle:
                await sock.aclose()


async def test_e5_good_client_gets_a_connected_stream_and_no_log_line(
    pki: tuple[SchannelCred, Path],
) -> None:
    """SPEC §6, E5: the handler gets an ``SspiTLSStream`` whose handshake is done (server side,
    TLS 1.3, the listener's ``standard_compatible``); nothing is logged for a good client."""
    seen: list[SspiTLSStream] = []

    async def handler(stream: SspiTLSStream) -> None:
        seen.append(stream)
        await echo_handler(stream)

    with anyio.fail_after(LIMIT):
        async with serving(pki, handler=handler) as server:
            assert await server.echo(b"x" * 70000) == b"x" * 70000
    [stream] = seen
    assert isinstance(stream, SspiTLSStream)
    assert stream.extra(TLSAttribute.server_side) is True
    assert stream.extra(TLSAttribute.tls_version) == "TLSv1.3"
    assert stream.extra(TLSAttribute.standard_compatible) is True
    assert failures(server.logs) == []


async def test_e5_eof_without_close_notify_is_an_end_of_stream_when_not_standard_compatible(
    pki: tuple[SchannelCred, Path],
) -> None:
    """E5: with ``standard_compatible=False`` the listener's streams treat an EOF without
    close_notify as the end of the stream (anyio's rule): the handler ends normally and nothing
    is logged."""
    ended = anyio.Event()

    async def handler(stream: SspiTLSStream) -> None:
        assert stream.extra(TLSAttribute.standard_compatible) is False
        await echo_handler(stream)
        ended.set()

    with anyio.fail_after(LIMIT):
        async with serving(pki, handler=handler, standard_compatible=False) as server:
            await server.run(tls_peers.eof_after_handshake)
            await ended.wait()
    assert failures(server.logs) == []


async def test_e1_listener_closes_the_stream_when_the_handler_returns(
    pki: tuple[SchannelCred, Path],
) -> None:
    """E1: a handler that returns without closing its stream still frees the security context:
    the listener closes the stream (with close_notify) when the handler returns."""
    done = anyio.Event()

    async def handler(stream: SspiTLSStream) -> None:
        await stream.send(await stream.receive())
        done.set()

    with anyio.fail_after(LIMIT):
        async with serving(pki, handler=handler) as server:
            assert await server.echo(b"once") == b"once"
            await done.wait()
    assert failures(server.logs) == []  # `serving` asserted that no context is left


async def test_e5_a_handler_bug_propagates_like_anyio_tls_listener(
    pki: tuple[SchannelCred, Path],
) -> None:
    """E5: a handler's own exception (not a peer-caused one) is not swallowed: it ends ``serve()``,
    as in ``anyio.streams.tls.TLSListener``; the stream is closed first (E1)."""

    async def handler(stream: SspiTLSStream) -> None:
        await stream.receive()
        raise LookupError("bug in the handler")

    cred, cafile = pki
    with anyio.fail_after(LIMIT):
        async with Emulator() as emulator:
            credentials = await acquire_credentials("Schannel", "inbound", cred)
            tcp = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
            listener = SspiTLSListener(tcp, credentials)
            port = listener.extra(SocketAttribute.local_port)
            with pytest.raises(BaseExceptionGroup) as info:  # noqa: PT012
                async with anyio.create_task_group() as group:
                    group.start_soon(listener.serve, handler)
                    await anyio.to_thread.run_sync(
                        tls_peers.send_and_read_until_closed, port, cafile
                    )
            assert info.group_contains(LookupError, match="bug in the handler")
            await listener.aclose()
            await credentials.aclose()
            assert emulator.statistics()["contexts"] == 0


async def test_spec6_listener_extra_attributes_and_aclose(pki: tuple[SchannelCred, Path]) -> None:
    """SPEC §6: ``extra()`` offers ``TLSAttribute.standard_compatible`` (as anyio's TLSListener) and the
    wrapped listener's attributes; ``aclose()`` closes the wrapped listener."""
    cred, _ = pki
    async with Emulator():
        credentials = await acquire_credentials("Schannel", "inbound", cred)
        tcp = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
        listener = SspiTLSListener(tcp, credentials, standard_compatible=False)
        assert listener.extra(TLSAttribute.standard_compatible) is False
        assert listener.extra(SocketAttribute.local_port) == tcp.extra(SocketAttribute.local_port)
        await listener.aclose()
        with pytest.raises(anyio.ClosedResourceError):
            await tcp.listeners[0].accept()
        await credentials.aclose()


async def test_e5_listener_validates_credentials_and_handshake_timeout(
    pki: tuple[SchannelCred, Path],
) -> None:
    """E5: a listener needs an anyio Listener, INBOUND ``Credentials`` and a handshake timeout > 0;
    anything else is a clear TypeError/ValueError naming the argument."""
    cred, _ = pki
    async with Emulator():
        inbound = await acquire_credentials("Schannel", "inbound", cred)
        outbound = await acquire_credentials("Schannel", "outbound", SchannelCred())
        tcp = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
        async with tcp, inbound, outbound:
            with pytest.raises(TypeError, match=r"credentials must be sspi_async\.Credentials"):
                SspiTLSListener(tcp, cred)  # type: ignore[arg-type]
            with pytest.raises(ValueError, match=r"OUTBOUND-only .* 'inbound' or 'both'"):
                SspiTLSListener(tcp, outbound)
            with pytest.raises(TypeError, match=r"listener must be an anyio\.abc\.Listener"):
                SspiTLSListener(object(), inbound)  # type: ignore[arg-type]
            for bad in (0, -1.0, math.nan):
                with pytest.raises(ValueError, match="handshake_timeout must be > 0"):
                    SspiTLSListener(tcp, inbound, handshake_timeout=bad)
            with pytest.raises(TypeError, match="handshake_timeout must be a number"):
                SspiTLSListener(tcp, inbound, handshake_timeout="5")  # type: ignore[arg-type]
            assert SspiTLSListener(tcp, inbound).handshake_timeout == 60.0
