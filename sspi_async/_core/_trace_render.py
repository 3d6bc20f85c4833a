"""Traces as text (SPEC §9): a Mermaid ``sequenceDiagram``, a plain listing, and :func:`render`.

Deterministic functions of the events (golden-file friendly): no clock, no randomness, integers and
fixed-precision numbers only. The Mermaid diagram draws :func:`~._trace_steps.diagram_steps`, as
the SVG timeline (:mod:`._trace_svg`) does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from ._trace import TraceEvent
from ._trace_steps import byte_count, diagram_steps, participants, pending_calls, result_label
from ._trace_svg import render_svg

__all__ = ("FORMATS", "render", "render_mermaid", "render_text")

#: The rendering formats, as the command line names them.
FORMATS: Final = ("mermaid", "svg", "text")


# --------------------------------------------------------------------------- Mermaid


#: Mermaid message text: ``#`` and ``;`` (statement syntax) and ``<``/``>`` (HTML) become Mermaid
#: entity codes, in one pass (so that the ``;`` of ``#35;`` stays); line breaks become spaces.
_MERMAID_ESCAPES: Final = str.maketrans(
    {"#": "#35;", ";": "#59;", "<": "#lt;", ">": "#gt;", "\r": " ", "\n": " "}
)


_MERMAID_ARROWS: Final = {"call": "->>", "result": "-->>", "callback": "--)", "token": "-)"}


def render_mermaid(events: Sequence[TraceEvent]) -> str:
    """A Mermaid ``sequenceDiagram`` of ``events`` (see the module docstring), newline-terminated."""
    steps = diagram_steps(events)
    lines = ["sequenceDiagram"]
    lines += [
        "    participant LSA as LSA (emulator)" if lane == "LSA" else f"    participant {lane}"
        for lane in participants(steps)
    ]
    for step in steps:
        text = step.label.translate(_MERMAID_ESCAPES)
        if step.kind == "note":
            lines.append(f"    Note over {step.source}: {text}")
        else:
            lines.append(f"    {step.source}{_MERMAID_ARROWS[step.kind]}{step.target}: {text}")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- text


def render_text(events: Sequence[TraceEvent], *, times: bool = True) -> str:
    """One line per event — sequence number, time since the first event in milliseconds (unless
    ``times=False``), side, kind, function, async context, statuses, token sizes, handle ids and
    faults — then one line per call still pending. Newline-terminated ("" for no events)."""
    if not events:
        return ""
    start = events[0].time
    lines = []
    for event in events:
        when = f"{(event.time - start) * 1000:10.3f} ms  " if times else ""
        tag = f" [{event.tag}]" if event.tag else ""
        details: list[str] = []
        if event.kind == "queued":
            if event.package:
                details.append(event.package)
            if event.token_in is not None:
                details.append(f"in {byte_count(event.token_in)}")
            details.append(f"-> {event.queue_status}")
            details += [f"fault {fault}" for fault in event.faults]
        elif event.kind == "completed":
            details.append(result_label(event))
        else:
            details.append(f"callback sees {event.result}")
        lines.append(
            f"{event.seq:>4}  {when}{event.side or '-':<6}  {event.kind:<9}  "
            f"{event.function:<34}  actx {event.actx}{tag}  {', '.join(details)}"
        )
    lines += [
        f"      still pending: {event.function} (actx {event.actx})"
        for event in pending_calls(events)
    ]
    return "\n".join(lines) + "\n"


def render(events: Sequence[TraceEvent], fmt: str, *, times: bool = True) -> str:
    """``events`` rendered as ``mermaid``, ``svg`` or ``text`` (``times`` for svg and text).

    Raises:
        ValueError: an unknown format (the message lists :data:`FORMATS`).
    """
    if fmt == "mermaid":
        return render_mermaid(events)
    if fmt == "text":
        return render_text(events, times=times)
    if fmt == "svg":
        return render_svg(events, times=times)
    raise ValueError(f"unknown trace format {fmt!r}; use one of {', '.join(FORMATS)}")
