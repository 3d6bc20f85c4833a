"""Shared setup for the post-handshake fuzz tests (tests/facade/test_fuzz_*.py).

* :data:`KINDS` names the three configurations every fuzz test runs on: Schannel pinned to TLS 1.3,
  Schannel pinned to TLS 1.2, and SimTLS;
* :func:`credentials` acquires a client and a server credential for one of them through the
  Pythonic API, and :func:`established` yields a completed client/server context pair (the client
  has read the TLS 1.3 session tickets, as :func:`sspi_async.handshake` does);
* :func:`run` runs one example's coroutine in a fresh emulator, bounded in time, and checks that
  nothing outlived it (E1);
* :data:`FUZZ` is the hypothesis profile: derandomized and database-less, so a run tests the same
  examples every time (no flakes, no ``.hypothesis`` directory), with a per-test example budget
  that keeps the fuzz files within ~40 s on two cores;
* :func:`is_encrypted_alert` says whether a record is a fatal alert protected under the
  connection's keys (E4).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio
from hypothesis import HealthCheck, Phase, settings

from sspi_async import Credentials, Emulator, SecurityContext, acquire_credentials, handshake
from tests.facade.helpers import SERVER_NAME, client_auth, server_auth
from tests.facade.schannel_helpers import TARGET, TLS12, TLS13, client_cred, server_cred

KINDS = ("schannel-tls13", "schannel-tls12", "simtls")

#: Fixed examples (``derandomize``), no example database: the same inputs on every run. No
#: shrinking: a failure reports the first failing example at once, so a known bug costs no more
#: CI time than a pass.
FUZZ = settings(
    max_examples=50,
    deadline=None,
    derandomize=True,
    database=None,
    phases=(Phase.explicit, Phase.generate),
    suppress_health_check=[HealthCheck.too_slow],
)

#: Bound on one example's awaits: a hang fails the example instead of stalling the suite.
TIMEOUT = 10.0

CONTENT_ALERT = 21
CONTENT_APPLICATION_DATA = 23
#: The 2-byte body of a plaintext alert; an encrypted one is longer (MAC/tag, explicit nonce).
ALERT_BODY = 2


def run(coro: Coroutine[Any, Any, None]) -> None:
    """Run one example on a fresh loop in a fresh emulator, bounded by ``TIMEOUT`` (a hang fails
    the example); afterwards the emulator holds no credential, context or pending call (E1)."""

    async def bounded() -> None:
        with anyio.fail_after(TIMEOUT):
            async with Emulator() as emu:
                await coro
                stats = emu.statistics()
                assert stats["contexts"] == 0, stats
                assert stats["credentials"] == 0, stats
                assert stats["pending_calls"] == 0, stats

    asyncio.run(bounded())


@dataclass(frozen=True)
class Pair:
    """A completed connection: both credentials and both contexts."""

    kind: str
    client_credentials: Credentials
    server_credentials: Credentials
    client: SecurityContext
    server: SecurityContext

    def sides(self, from_client: bool) -> tuple[SecurityContext, SecurityContext]:
        """``(sender, receiver)`` for records travelling from the client (or from the server)."""
        return (self.client, self.server) if from_client else (self.server, self.client)


def target_for(kind: str) -> str:
    """The name the server's identity must match (E3: always passed explicitly)."""
    return SERVER_NAME if kind == "simtls" else TARGET


async def credentials(kind: str) -> tuple[Credentials, Credentials]:
    """An outbound and an inbound credential for ``kind`` (current emulator)."""
    if kind == "simtls":
        client = await acquire_credentials("SimTLS", "outbound", client_auth())
        server = await acquire_credentials("SimTLS", "inbound", server_auth())
        return client, server
    versions = TLS12 if kind == "schannel-tls12" else TLS13
    client = await acquire_credentials(
        "Schannel", "outbound", client_cred(enabled_protocols=versions)
    )
    server = await acquire_credentials("Schannel", "inbound", server_cred())
    return client, server


@asynccontextmanager
async def established(kind: str) -> AsyncIterator[Pair]:
    """A completed ``kind`` connection in the current emulator; everything freed on exit."""
    async with AsyncExitStack() as stack:
        ccred, scred = await credentials(kind)
        stack.push_async_callback(scred.aclose)
        stack.push_async_callback(ccred.aclose)
        client = ccred.client_context(target_for(kind))
        stack.push_async_callback(client.aclose)
        server = scred.server_context()
        stack.push_async_callback(server.aclose)
        await handshake(client, server)
        assert client.complete
        assert server.complete
        yield Pair(kind, ccred, scred, client, server)


def split_records(data: bytes) -> list[tuple[int, bytes]]:
    """``(content type, body)`` of every record in ``data``; a trailing partial record is kept as
    a pseudo-record of type ``-1`` so that nothing on the wire goes unseen."""
    found: list[tuple[int, bytes]] = []
    pos = 0
    while pos < len(data):
        if pos + 5 > len(data) or pos + 5 + int.from_bytes(data[pos + 3 : pos + 5]) > len(data):
            found.append((-1, data[pos:]))
            break
        size = int.from_bytes(data[pos + 3 : pos + 5])
        found.append((data[pos], data[pos + 5 : pos + 5 + size]))
        pos += 5 + size
    return found


def is_encrypted_alert(kind: str, content_type: int, body: bytes) -> bool:
    """E4: an alert protected under the connection's keys. TLS 1.3 hides it in an application
    data record (type 23, RFC 8446 §5.2); TLS 1.2 sends type 21 with a body longer than the 2
    plaintext alert bytes. SimTLS follows TLS 1.3's message sequence but has no pinned record
    protection for alerts: either form counts."""
    protected_12 = content_type == CONTENT_ALERT and len(body) > ALERT_BODY
    protected_13 = content_type == CONTENT_APPLICATION_DATA and len(body) > ALERT_BODY
    if kind == "schannel-tls13":
        return protected_13
    if kind == "schannel-tls12":
        return protected_12
    return protected_12 or protected_13
