"""SPEC §9 trace renderings: Mermaid sequenceDiagram (golden file of a SimTLS handshake), the SVG
timeline (well-formed XML, one lane per side), plain text, escaping and pending calls.

The SimTLS handshake trace is built by hand, through the recorder, in the shape the emulator's
hooks produce (ACH, ISC, ASC: queued / completed / callback; token sizes of a one-round SimTLS
handshake). Golden files live in ``tests/core/golden/``; after an intended change of the output,
regenerate them with ``SSPI_ASYNC_REGOLDEN=1 pytest tests/core/test_trace_render.py`` and review
the diff.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from sspi_async._buffers import SecBuffer, SecBufferDesc
from sspi_async._core._callinfo import CallInfo, Side
from sspi_async._core._trace import TraceEvent, TraceRecorder, parse_jsonl
from sspi_async._core._trace_render import FORMATS, render, render_mermaid, render_text
from sspi_async._core._trace_steps import diagram_steps, is_error
from sspi_async._core._trace_svg import render_svg
from sspi_async._flags import SECBUFFER_TOKEN
from sspi_async._handles import SecHandle
from sspi_async._status import SecurityStatus

S = SecurityStatus
GOLDEN = Path(__file__).parent / "golden"
SVG = "{http://www.w3.org/2000/svg}"
ACH = "SspiAcquireCredentialsHandleAsync"
ISC = "SspiInitializeSecurityContextAsync"
ASC = "SspiAcceptSecurityContextAsync"


class StepClock:
    """A monotonic clock that advances 0.25 ms per reading (one rounding per reading, so the
    values print short in JSON)."""

    def __init__(self) -> None:
        self.ticks = 4_000_000

    def __call__(self) -> float:
        self.ticks += 1
        return self.ticks / 4000


def simtls_handshake() -> list[TraceEvent]:
    """A one-round SimTLS handshake as the emulator records it: each side acquires a credential,
    then ISC → ASC → ISC → ASC with tokens of 66, 98, 41 and 0 bytes; every call has a callback."""
    recorder = TraceRecorder(clock=StepClock())
    handles = iter(range(0x51, 0x100))

    def call(
        function: str,
        actx: int,
        side: Side,
        result: int,
        *,
        credential: SecHandle | None = None,
        context: SecHandle | None = None,
        token_in: int | None = None,
        token_out: int | None = None,
    ) -> None:
        output = None if token_out is None else SecBufferDesc([SecBuffer(SECBUFFER_TOKEN)])
        info = CallInfo(
            function,
            actx,
            tag=side,
            side=side,
            package="SimTLS",
            credential=credential,
            context=context,
            token_in=token_in,
            output=output,
        )
        recorder.queued(info, S.SEC_E_OK)
        # The engine writes the out-parameters at completion (A6).
        for handle in (credential, context):
            if handle is not None and handle.dwUpper != 2:
                handle.dwLower, handle.dwUpper = next(handles) << 40, 2
        if output is not None and token_out is not None:
            output.pBuffers[0] = SecBuffer.of(SECBUFFER_TOKEN, bytes(token_out))
        recorder.completed(info, result)
        recorder.callback(info, result)

    client_cred, server_cred = SecHandle(), SecHandle()
    client_ctx, server_ctx = SecHandle(), SecHandle()
    call(ACH, 1, "client", S.SEC_E_OK, credential=client_cred)
    call(ACH, 2, "server", S.SEC_E_OK, credential=server_cred)
    call(
        ISC,
        1,
        "client",
        S.SEC_I_CONTINUE_NEEDED,
        credential=client_cred,
        context=client_ctx,
        token_out=66,
    )
    call(
        ASC,
        2,
        "server",
        S.SEC_I_CONTINUE_NEEDED,
        credential=server_cred,
        context=server_ctx,
        token_in=66,
        token_out=98,
    )
    call(
        ISC,
        1,
        "client",
        S.SEC_E_OK,
        credential=client_cred,
        context=client_ctx,
        token_in=98,
        token_out=41,
    )
    call(
        ASC,
        2,
        "server",
        S.SEC_E_OK,
        credential=server_cred,
        context=server_ctx,
        token_in=41,
        token_out=0,
    )
    return recorder.events()


def faulty_trace() -> list[TraceEvent]:
    """A delayed ASC that fails, a corrupted ISC token, a stalled call and a call without side,
    with characters Mermaid and XML must escape in a tag."""
    base = {"time": 5.0, "package": "Schannel"}
    return [
        TraceEvent(
            seq=1,
            kind="queued",
            function=ISC,
            actx=1,
            side="client",
            tag="a<b>&#c;d",
            queue_status="SEC_E_OK",
            faults=("corrupt 1 byte",),
            **base,
        ),
        TraceEvent(
            seq=2,
            kind="completed",
            function=ISC,
            actx=1,
            side="client",
            tag="a<b>&#c;d",
            result="SEC_I_CONTINUE_NEEDED",
            token_out=1,
            context=1,
            **base,
        ),
        TraceEvent(
            seq=3,
            kind="queued",
            function=ASC,
            actx=2,
            side="server",
            token_in=1,
            queue_status="SEC_E_OK",
            faults=("slow: delay 0.5 s", "fail SEC_E_INVALID_TOKEN at completion"),
            **base,
        ),
        TraceEvent(
            seq=4,
            kind="completed",
            function=ASC,
            actx=2,
            side="server",
            result="SEC_E_INVALID_TOKEN",
            token_out=0,
            **base,
        ),
        TraceEvent(
            seq=5,
            kind="callback",
            function=ASC,
            actx=2,
            side="server",
            result="SEC_E_INVALID_TOKEN",
            **base,
        ),
        TraceEvent(
            seq=6,
            kind="queued",
            function=ACH,
            actx=3,
            queue_status="SEC_E_OK",
            faults=("stall",),
            **base,
        ),
        TraceEvent(
            seq=7,
            kind="queued",
            function=ISC,
            actx=4,
            side="client",
            queue_status="SEC_E_LOGON_DENIED",
            faults=("fail SEC_E_LOGON_DENIED at queue",),
            **base,
        ),
    ]


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("SSPI_ASYNC_REGOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"{name} differs from the golden file"


# --------------------------------------------------------------------------- golden files


def test_simtls_trace_jsonl_golden() -> None:
    """§9: the recorded SimTLS handshake exports to the same JSON Lines, byte for byte."""
    events = simtls_handshake()
    text = "".join(e.to_json() + "\n" for e in events)
    check_golden("simtls_handshake.jsonl", text)
    assert parse_jsonl(text) == events


def test_simtls_mermaid_golden() -> None:
    """§9: a SimTLS handshake renders as this Mermaid sequenceDiagram (participants, each token
    with its size, each status)."""
    text = render_mermaid(simtls_handshake())
    check_golden("simtls_handshake.mmd", text)
    assert text.startswith(
        "sequenceDiagram\n    participant Client\n    participant LSA as LSA (emulator)\n    participant Server\n"
    )
    assert "    Client-)Server: token 66 bytes\n" in text
    assert "    Server-)Client: token 98 bytes\n" in text
    assert "    Client-)Server: token 41 bytes\n" in text
    assert text.count("token 0 bytes") == 1  # in the result; an empty token travels nowhere


def test_simtls_text_and_svg_golden() -> None:
    """§9: the text and SVG renderings of the SimTLS handshake are stable."""
    events = simtls_handshake()
    check_golden("simtls_handshake.txt", render_text(events))
    check_golden("simtls_handshake.svg", render_svg(events))


def test_golden_jsonl_renders_like_the_recorded_events() -> None:
    """§9: rendering the trace loaded from the golden JSON Lines file reproduces the diagram."""
    events = parse_jsonl((GOLDEN / "simtls_handshake.jsonl").read_text())
    assert render(events, "mermaid") == (GOLDEN / "simtls_handshake.mmd").read_text()


# --------------------------------------------------------------------------- SVG


def test_svg_is_well_formed_with_one_lane_per_side() -> None:
    """§9: the SVG parses as XML, has one lane per side (plus the LSA column), one arrow group per
    diagram step, and no script."""
    events = simtls_handshake()
    root = ET.fromstring(render_svg(events))
    assert root.tag == f"{SVG}svg"
    lanes = root.findall(f"{SVG}g[@class='lane']")
    assert [lane.get("data-side") for lane in lanes] == ["client", "server"]
    assert len(root.findall(f"{SVG}g[@class='lsa']")) == 1
    steps = [g for g in root.iter(f"{SVG}g") if (g.get("class") or "").startswith("step")]
    assert len(steps) == len(diagram_steps(events))
    assert root.find(f".//{SVG}script") is None
    assert root.findtext(f"{SVG}title") == "sspi_async trace: 18 events"


def test_svg_of_faults_escapes_text_and_draws_a_stall() -> None:
    """§9: user text is XML-escaped, a call without side gets its own lane, a stalled call a
    dashed bar to the bottom, and error steps are marked."""
    svg = render_svg(faulty_trace())
    root = ET.fromstring(svg)
    assert [lane.get("data-side") for lane in root.findall(f"{SVG}g[@class='lane']")] == [
        "none",
        "client",
        "server",
    ]
    assert len(root.findall(f".//{SVG}rect[@class='bar stalled']")) == 1
    errors = [g for g in root.iter(f"{SVG}g") if "error" in (g.get("class") or "").split()]
    assert len(errors) == 4  # ASC result, ASC callback, refused ISC, the "still pending" note
    titles = [t.text or "" for t in root.iter(f"{SVG}title")]
    assert any("tag a<b>&#c;d" in t for t in titles)
    assert "a&lt;b&gt;&amp;#c;d" in svg


def test_svg_without_times_has_no_time_labels() -> None:
    """§9: times=False leaves the time labels out (stable output across runs)."""
    events = simtls_handshake()
    assert 'class="time"' in render_svg(events)
    assert 'class="time"' not in render_svg(events, times=False)


# --------------------------------------------------------------------------- Mermaid and text details


def test_mermaid_of_faults_escapes_and_notes() -> None:
    """§9: Mermaid statement characters are escaped in one pass; faults become notes over the LSA;
    a call without side comes from a Caller participant; a stalled call is noted at the end."""
    text = render_mermaid(faulty_trace())
    assert text == (
        "sequenceDiagram\n"
        "    participant Caller\n"
        "    participant Client\n"
        "    participant LSA as LSA (emulator)\n"
        "    participant Server\n"
        f"    Client->>LSA: {ISC} (actx 1) queued SEC_E_OK\n"
        "    Note over LSA: fault corrupt 1 byte\n"
        "    LSA-->>Client: SEC_I_CONTINUE_NEEDED, token 1 byte, ctx 1\n"
        "    Client-)Server: token 1 byte\n"
        f"    Server->>LSA: {ASC} (actx 2, token 1 byte) queued SEC_E_OK\n"
        "    Note over LSA: fault slow: delay 0.5 s + fail SEC_E_INVALID_TOKEN at completion\n"
        "    LSA-->>Server: SEC_E_INVALID_TOKEN, token 0 bytes\n"
        "    LSA--)Server: callback (actx 2) SEC_E_INVALID_TOKEN\n"
        f"    Caller->>LSA: {ACH} (actx 3) queued SEC_E_OK\n"
        "    Note over LSA: fault stall\n"
        f"    Client->>LSA: {ISC} (actx 4) queued SEC_E_LOGON_DENIED\n"
        "    Note over LSA: fault fail SEC_E_LOGON_DENIED at queue\n"
        f"    Note over Caller: still pending {ACH} (actx 3)\n"
    )
    tagged = [
        TraceEvent(seq=1, time=0, kind="callback", function="x;y#z<w>", actx=1, result="SEC_E_OK")
    ]
    assert render_mermaid(tagged).endswith("    LSA--)Caller: callback (actx 1) SEC_E_OK\n")
    note = diagram_steps(tagged)[0]
    assert note.kind == "callback"


def test_mermaid_escapes_statement_characters() -> None:
    """§9: '#', ';', '<', '>' and line breaks in labels cannot break the diagram."""
    events = [
        TraceEvent(
            seq=1,
            time=0,
            kind="queued",
            function="F",
            actx=1,
            side="client",
            queue_status="SEC_E_OK",
            faults=("a;b#c<d>\ne",),
        ),
    ]
    assert "    Note over LSA: fault a#59;b#35;c#lt;d#gt; e\n" in render_mermaid(events)


def test_text_rendering() -> None:
    """§9: the text listing has one line per event (with times unless times=False) and a line per
    call still pending."""
    text = render_text(faulty_trace(), times=False)
    lines = text.splitlines()
    assert len(lines) == 8
    assert lines[0] == (
        f"   1  client  queued     {ISC}  actx 1 [a<b>&#c;d]  Schannel, -> SEC_E_OK, fault corrupt 1 byte"
    )
    assert (
        lines[5] == f"   6  -       queued     {ACH}   actx 3  Schannel, -> SEC_E_OK, fault stall"
    )
    assert lines[-1] == f"      still pending: {ACH} (actx 3)"
    assert render_text([]) == ""
    timed = render_text(simtls_handshake()).splitlines()
    assert timed[1].startswith("   2       0.250 ms  client  completed  ")


def test_render_dispatch() -> None:
    """§9: render() knows the three formats and names them when given another."""
    events = simtls_handshake()
    assert FORMATS == ("mermaid", "svg", "text")
    assert render(events, "text", times=False) == render_text(events, times=False)
    assert render(events, "svg") == render_svg(events)
    with pytest.raises(
        ValueError, match=r"^unknown trace format 'png'; use one of mermaid, svg, text$"
    ):
        render(events, "png")


def test_renderings_of_an_empty_trace() -> None:
    """§9: an empty trace still renders: the participants only."""
    assert render_mermaid([]) == (
        "sequenceDiagram\n    participant Client\n    participant LSA as LSA (emulator)\n    participant Server\n"
    )
    root = ET.fromstring(render_svg([]))
    assert len(root.findall(f"{SVG}g[@class='lane']")) == 2


@pytest.mark.parametrize(
    ("status", "error"),
    [
        ("SEC_E_OK", False),
        ("SEC_I_CONTINUE_NEEDED", False),
        ("SEC_E_LOGON_DENIED", True),
        ("0x80091234", True),
        ("0x00091234", False),
        ("WHATEVER", False),
        (None, False),
    ],
)
def test_is_error(status: str | None, error: bool) -> None:
    """§2: error statuses are the SEC_E_* names and unnamed values with the top bit set."""
    assert is_error(status) is error
