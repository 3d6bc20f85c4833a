"""Fixtures of the interop tests: certificates in ``tmp_path``, the peer tools, subprocess peers.

Peers are programs nobody here wrote (``openssl s_server``/``s_client``, ``curl``), started per
test on 127.0.0.1 with an ephemeral port and always reaped (see ``processes.py``). A missing
tool skips its tests with the reason, unless ``CI`` is set: there a missing tool is an error,
so the suite can never pass in CI by skipping (``.ci/run`` installs the tools first).
"""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pytest

from sspi_async.testing import CertificateAuthority, IssuedCertificate
from tests.interop.processes import Peer, PeerExitedError, free_port, spawn

#: The bound on every test body (``anyio.fail_after``), seconds.
LIMIT = 10
#: How often an ``openssl s_server`` start is retried when another process took its port.
PORT_ATTEMPTS = 5


def require_tool(name: str) -> str:
    """The path of ``name``; skip when it is missing, or fail when ``CI`` is set."""
    path = shutil.which(name)
    if path is not None:
        return path
    reason = f"the interop tests need `{name}` on PATH (apt-get install {name})"
    if os.environ.get("CI") is not None:
        pytest.fail(f"{reason}; CI is set, so a missing tool is an error, not a skip")
    pytest.skip(reason)


@pytest.fixture
def openssl() -> str:
    """The ``openssl`` command."""
    return require_tool("openssl")


@pytest.fixture
def curl() -> str:
    """The ``curl`` command."""
    return require_tool("curl")


@dataclass(frozen=True)
class Pki:
    """Throw-away certificates, in memory and as PEM files for the peer tools.

    ``server`` is issued for ``localhost`` (SAN DNS localhost, IP 127.0.0.1); ``client`` for
    ``alice`` (CN alice, UPN alice@example.com); ``stranger`` by a CA nobody trusts.
    """

    ca: CertificateAuthority
    server: IssuedCertificate
    client: IssuedCertificate
    other_ca: CertificateAuthority
    stranger: IssuedCertificate
    ca_file: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    stranger_cert: Path
    stranger_key: Path


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    """A CA, a ``localhost`` server certificate and an ``alice`` client certificate in tmp_path."""
    ca, other_ca = CertificateAuthority(), CertificateAuthority(name="untrusted test CA")
    server = ca.issue("localhost")
    client = ca.issue("alice", dns_names=("alice.example.com",), upn="alice@example.com")
    stranger = other_ca.issue("localhost")
    ca_file = tmp_path / "ca.pem"
    ca_file.write_bytes(ca.cert_pem)
    return Pki(
        ca, server, client, other_ca, stranger, ca_file,
        *server.write(tmp_path, "server"),
        *client.write(tmp_path, "client"),
        *stranger.write(tmp_path, "stranger"),
    )  # fmt: skip


@pytest.fixture
def spawned() -> Iterator[list[Peer]]:
    """Every peer a test started; after the test, each must have been reaped."""
    peers: list[Peer] = []
    yield peers
    leaked = [peer for peer in peers if peer.process.returncode is None]
    for peer in leaked:  # belt and braces: spawn() kills and reaps; never leave a process
        os.kill(peer.process.pid, signal.SIGKILL)
    assert not leaked, f"peers still running after the test: {leaked}"


Spawn = Callable[[Sequence[str]], AbstractAsyncContextManager[Peer]]
OpensslServer = Callable[..., AbstractAsyncContextManager[tuple[Peer, int]]]


@pytest.fixture
def start(spawned: list[Peer]) -> Spawn:
    """``async with start(argv) as peer:`` — a subprocess peer, killed and reaped on exit."""
    return partial(spawn, registry=spawned)


@pytest.fixture
def openssl_server(openssl: str, start: Spawn) -> OpensslServer:
    """``async with openssl_server(*args) as (peer, port):`` — ``openssl s_server`` for one
    connection (``-naccept 1``, so it exits by itself) on 127.0.0.1, ready to accept.

    The port comes from :func:`free_port`; if another process took it first, s_server fails to
    bind and exits, and a new port is tried. Readiness is its ``ACCEPT`` line, read with a
    deadline.
    """

    @asynccontextmanager
    async def server(*args: str) -> AsyncIterator[tuple[Peer, int]]:
        for attempt in range(1, PORT_ATTEMPTS + 1):
            port = free_port()
            argv = [openssl, "s_server", "-accept", f"127.0.0.1:{port}", "-naccept", "1", *args]
            async with AsyncExitStack() as stack:
                peer = await stack.enter_async_context(start(argv))
                try:
                    await peer.expect(b"ACCEPT")
                except PeerExitedError:
                    if attempt < PORT_ATTEMPTS and b"in use" in peer.output:
                        continue  # the port was taken between free_port() and the bind
                    raise
                yield peer, port
                return

    return server
