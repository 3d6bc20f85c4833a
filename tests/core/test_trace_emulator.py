"""SPEC §9 traces recorded by the emulator: one event per queued call, completion and callback
dispatch, for SimTLS and Schannel handshakes through the async calls.

The SimTLS handshake of :mod:`tests.core.fault_peers` (the demo's principals and ALPN) is the
golden one in ``tests/core/golden``: the real emulator's trace renders to exactly that Mermaid
diagram, and its JSON Lines equal the golden file apart from the times. Then token bytes only with
``trace_tokens``, no secrets or plaintext ever, the JSON Lines round trip, refused, detached,
eager and callback-less calls, and the SVG of a real handshake.
"""

from __future__ import annotations

import itertools
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from sspi_async import (
    Emulator,
    EmulatorSettings,
    TraceEvent,
    acquire_credentials,
    handshake,
    load_trace,
    render_mermaid,
    render_svg,
    render_text,
)
from sspi_async.sspi import (
    SEC_E_INVALID_PARAMETER,
    SEC_E_OK,
    SEC_E_SHUTDOWN_IN_PROGRESS,
    SspiFreeAsyncContext,
    wait_async_call,
)
from tests.core.fault_peers import PACKAGES, SECRET, Peer, flat_handshake, kit, peers
from tests.facade.schannel_helpers import pki

GOLDEN = Path(__file__).parent / "golden"
SVG = "{http://www.w3.org/2000/svg}"
ISC = "SspiInitializeSecurityContextAsync"
ASC = "SspiAcceptSecurityContextAsync"


def without_times(events: list[TraceEvent]) -> list[dict[str, Any]]:
    return [e.model_dump(exclude={"time"}) for e in events]


async def traced_handshake(package: str, **fields: Any) -> tuple[Emulator, list[bytes]]:
    """A flat handshake under a tracing emulator; the tokens the client sent, in order."""
    emu = Emulator(EmulatorSettings(trace=True, **fields))
    sent: list[bytes] = []
    async with emu:
        k = kit(package)
        client, server = await peers(k)
        token: bytes | None = None
        while not (client.complete and server.complete):
            if not client.complete:
                status, token = await client.exchange(token, k.target)
                sent.append(token)
            status, token = await server.exchange(token, k.target)
            assert status in (SEC_E_OK, 0x00090312), hex(status)
    return emu, sent


# --------------------------------------------------------------------------- golden


async def test_simtls_handshake_renders_the_golden_mermaid() -> None:
    """§9, issue 5: the Mermaid diagram of a real SimTLS handshake is the golden file; its JSON
    Lines are the golden ones apart from the times."""
    emu = Emulator(EmulatorSettings(trace=True))
    async with emu:
        k = kit("SimTLS")
        client, server = await peers(k)
        await flat_handshake(k, client, server)
    events = emu.trace_events()
    assert render_mermaid(events) == (GOLDEN / "simtls_handshake.mmd").read_text()
    golden = load_trace(GOLDEN / "simtls_handshake.jsonl")
    assert without_times(events) == without_times(golden)
    assert [e.seq for e in events] == list(range(1, 19))
    assert all(a.time <= b.time for a, b in itertools.pairwise(events))


# --------------------------------------------------------------------------- event content


@pytest.mark.parametrize("package", PACKAGES)
async def test_handshake_events(package: str) -> None:
    """§9: per call a queued, a completed and a callback event, in that order; sides, package,
    handle ids, statuses and token sizes as the calls saw them (each ASC's input is the ISC's
    output before it)."""
    emu, sent = await traced_handshake(package)
    events = emu.trace_events()
    queued = [e for e in events if e.kind == "queued"]
    assert len(events) == 3 * len(queued)
    for q in queued:
        later = [
            e for e in events if e.seq > q.seq and (e.actx, e.function) == (q.actx, q.function)
        ]
        assert [e.kind for e in later[:2]] == ["completed", "callback"]
        assert q.queue_status == "SEC_E_OK"
        assert q.package == package
    assert {(e.tag, e.side) for e in events} == {("client", "client"), ("server", "server")}
    isc = [e for e in events if e.function == ISC and e.kind == "completed"]
    asc = [e for e in events if e.function == ASC and e.kind == "queued"]
    assert [e.token_out for e in isc] == [len(t) for t in sent]
    assert [e.token_in for e in asc] == [e.token_out for e in isc][: len(asc)]
    assert {e.context for e in isc} == {1}
    assert {e.credential for e in isc} == {1}
    assert {e.context for e in events if e.kind == "completed" and e.function == ASC} == {2}
    assert all(e.token_out_hex is None for e in events)
    text = render_mermaid(events)
    assert f"    Client-)Server: token {len(sent[0])} bytes\n" in text
    assert "participant Caller" not in text


@pytest.mark.parametrize("package", PACKAGES)
async def test_trace_tokens_records_the_bytes_sent(package: str) -> None:
    """§9: with trace_tokens=True, token_out_hex is exactly the token each call produced."""
    emu, sent = await traced_handshake(package, trace_tokens=True)
    isc = [e for e in emu.trace_events() if e.function == ISC and e.kind == "completed"]
    assert [bytes.fromhex(e.token_out_hex or "") for e in isc] == sent
    assert all(e.token_out_hex is None for e in emu.trace_events() if e.kind != "completed")


def test_trace_tokens_implies_trace() -> None:
    """trace_tokens=True is a trace with token bytes."""
    assert Emulator(EmulatorSettings(trace_tokens=True)).tracing
    assert not Emulator().tracing


@pytest.mark.parametrize("package", PACKAGES)
async def test_no_secrets_or_plaintext_in_a_trace(package: str) -> None:
    """§11: neither the shared secret, the private key, nor message plaintext appear in a trace,
    even with token bytes; the event fields are the documented ones only."""
    emu = Emulator(EmulatorSettings(trace_tokens=True))
    plaintext = b"attack at dawn, plaintext 93c1"
    async with emu:
        k = kit(package)
        c = await acquire_credentials(k.package, "outbound", k.client_auth)
        s = await acquire_credentials(k.package, "inbound", k.server_auth)
        client, server = c.client_context(k.target), s.server_context()
        await handshake(client, server)
        assert server.decrypt(client.encrypt(plaintext)).data == plaintext
    jsonl = "".join(e.to_json() + "\n" for e in emu.trace_events())
    haystack = jsonl.lower()
    needles = [SECRET.encode(), plaintext]
    if package == "Schannel":
        key = pki().server.key_pem
        body = b"".join(key.splitlines()[1:-1])
        needles += [body[:40]]
    for needle in needles:
        assert needle.decode().lower() not in haystack
        assert needle.hex() not in haystack
    fields = set().union(*(json.loads(line) for line in jsonl.splitlines()))
    assert fields <= set(TraceEvent.model_fields)
    assert "token_out_hex" in fields


# --------------------------------------------------------------------------- JSON Lines


@pytest.mark.parametrize("package", PACKAGES)
async def test_jsonl_round_trip(package: str, tmp_path: Path) -> None:
    """§9: write_trace writes JSON Lines that load_trace reads back as the same events, which
    render the same diagrams."""
    emu, _ = await traced_handshake(package)
    path = tmp_path / "trace.jsonl"
    emu.write_trace(path)
    lines = path.read_text().splitlines()
    assert len(lines) == len(emu.trace_events())
    assert json.loads(lines[0])["kind"] == "queued"
    loaded = load_trace(path)
    assert loaded == emu.trace_events()
    assert render_mermaid(loaded) == render_mermaid(emu.trace_events())
    assert render_svg(loaded) == render_svg(emu.trace_events())
    assert render_text(loaded) == render_text(emu.trace_events())


async def test_without_trace_nothing_is_recorded(tmp_path: Path) -> None:
    """trace_events() is empty and write_trace writes an empty trace when not tracing."""
    emu = Emulator()
    async with emu:
        await peers(kit("SimTLS"))
    assert emu.trace_events() == []
    path = tmp_path / "empty.jsonl"
    emu.write_trace(path)
    assert path.read_text() == ""
    assert load_trace(path) == []


# --------------------------------------------------------------------------- particular calls


async def test_refused_calls_are_queued_events_with_the_refusal() -> None:
    """A4 refusals are traced as `queued` with the refusal status and no completion: a pending
    context (SEC_E_INVALID_PARAMETER), a closed emulator (SEC_E_SHUTDOWN_IN_PROGRESS)."""
    emu = Emulator(EmulatorSettings(trace=True))
    k = kit("SimTLS")
    async with emu:
        peer = await Peer("client").open()
        assert await peer.queue(peer.acquire(k)) == SEC_E_OK
        assert await peer.acquire(k)(peer.actx) == SEC_E_INVALID_PARAMETER
        assert await peer.result() == SEC_E_OK
    assert await peer.queue(peer.acquire(k)) == SEC_E_SHUTDOWN_IN_PROGRESS
    assert [(e.kind, e.queue_status or e.result) for e in emu.trace_events()] == [
        ("queued", "SEC_E_OK"),
        ("queued", "SEC_E_INVALID_PARAMETER"),
        ("completed", "SEC_E_OK"),
        ("callback", "SEC_E_OK"),
        ("queued", "SEC_E_SHUTDOWN_IN_PROGRESS"),
    ]
    assert "still pending" not in render_mermaid(emu.trace_events())


async def test_calls_without_callback_and_detached_calls() -> None:
    """A call without a notify callback has no callback event; a call whose context was freed
    while pending (A11) still has its completion."""
    emu = Emulator(EmulatorSettings(trace=True))
    k = kit("SimTLS")
    async with emu:
        polled = await Peer("polled").open(callback=False)
        polled.client = True
        assert await polled.queue(polled.acquire(k)) == SEC_E_OK
        assert await wait_async_call(polled.actx) == SEC_E_OK
        freed = await Peer("freed").open(callback=False)
        freed.client = True
        assert await freed.queue(freed.acquire(k)) == SEC_E_OK
        await SspiFreeAsyncContext(freed.actx)
    assert [(e.tag, e.kind) for e in emu.trace_events()] == [
        ("polled", "queued"),
        ("polled", "completed"),
        ("freed", "queued"),
        ("freed", "completed"),
    ]


async def test_eager_completion_is_traced_in_order() -> None:
    """completion="eager" (A7): queued, then completed before the coroutine returned, then the
    deferred callback."""
    emu = Emulator(EmulatorSettings(trace=True, completion="eager"))
    async with emu:
        await peers(kit("SimTLS"))
    assert [e.kind for e in emu.trace_events()] == ["queued", "completed", "callback"] * 2


async def test_pythonic_calls_are_traced_with_their_sides() -> None:
    """The Pythonic API goes through the same queued calls: its steps are traced with the side
    of the call; each security context runs all its steps on one async context of its own (no
    tag), reinitialised between them (A9), as the Windows samples do."""
    emu = Emulator(EmulatorSettings(trace=True))
    async with emu:
        k = kit("SimTLS")
        c = await acquire_credentials(k.package, "outbound", k.client_auth)
        s = await acquire_credentials(k.package, "inbound", k.server_auth)
        await handshake(c.client_context(k.target), s.server_context())
    events = emu.trace_events()
    assert [(e.function, e.side) for e in events if e.kind == "queued"] == [
        ("SspiAcquireCredentialsHandleAsync", "client"),
        ("SspiAcquireCredentialsHandleAsync", "server"),
        (ISC, "client"),
        (ASC, "server"),
        (ISC, "client"),
        (ASC, "server"),
    ]
    assert [e.actx for e in events if e.kind == "queued"] == [1, 2, 3, 4, 3, 4]
    assert all(e.tag is None for e in events)


async def test_async_context_ids_count_per_emulator() -> None:
    """Async-context ids start at 1 in every emulator, so two runs trace the same ids."""
    for _ in range(2):
        async with Emulator():
            first, second = await Peer("a").open(), await Peer("b").open()
            assert first.actx is not None
            assert second.actx is not None
            assert (first.actx.id, second.actx.id) == (1, 2)


async def test_svg_of_a_schannel_handshake() -> None:
    """§9: the SVG of a real Schannel handshake is well-formed XML with a lane per side."""
    emu, _ = await traced_handshake("Schannel")
    root = ET.fromstring(render_svg(emu.trace_events()))
    assert root.tag == f"{SVG}svg"
    lanes = root.findall(f"{SVG}g[@class='lane']")
    assert [lane.get("data-side") for lane in lanes] == ["client", "server"]
    assert root.findtext(f"{SVG}title") == f"sspi_async trace: {len(emu.trace_events())} events"
