"""A trace as an SVG timeline (SPEC §9): the Mermaid diagram's steps, drawn without Mermaid.

One vertical lane per side (``<g class="lane" data-side="client|server|none">``) and one for the
LSA (``<g class="lsa">``); time flows down, one row per :class:`~._trace_steps.Step`. A pending call
is a bar on its caller's lane from the row it was queued to the row it completed (to the bottom,
dashed, when it never did). Each step is a ``<g class="step KIND" data-seq="N">`` with a
``<title>`` (the browser's tooltip) giving the whole event. Error statuses are red.

Plain, well-formed SVG 1.1 with an embedded stylesheet: no script, no external resource, every
text escaped. Deterministic: integer coordinates, fixed-precision times (golden-file friendly).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final
from xml.sax.saxutils import escape, quoteattr

from ._trace import TraceEvent
from ._trace_steps import Lane, Step, diagram_steps, participants

__all__ = ("render_svg",)

_FONT: Final = 11
_CHAR: Final = 6.6  # monospace advance at 11 px (0.6 em), for sizing lanes to their labels
_MIN_GAP: Final = 300
_HEADER_W: Final = 150
_TOP: Final = 16
_HEADER_H: Final = 30
_FIRST_ROW: Final = 84
_ROW: Final = 30

_STYLE: Final = """
.lane rect, .lsa rect { fill: #f4f6fb; stroke: #56627a; }
.lane text, .lsa text { font-weight: bold; text-anchor: middle; }
.lifeline { stroke: #9aa3b5; stroke-dasharray: 4 4; }
.bar { fill: #dfe7f7; stroke: #6d86c2; }
.bar.stalled { fill: #fbe3e3; stroke: #c0392b; stroke-dasharray: 3 3; }
.step line { stroke: #2d3a55; stroke-width: 1.2; }
.step.result line { stroke-dasharray: 6 3; }
.step.callback line { stroke-dasharray: 2 3; }
.step.token line { stroke: #1f6fbf; stroke-width: 2; }
.step text { text-anchor: middle; fill: #1b2333; }
.step.error text { fill: #c0392b; }
.step.note rect { fill: #fff8d6; stroke: #b59f3b; }
.step text.time { fill: #6b7280; text-anchor: end; }
"""

_DEFS: Final = (
    "<defs>"
    '<marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" '
    'markerUnits="userSpaceOnUse" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#2d3a55"/></marker>'
    '<marker id="open" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" '
    'markerUnits="userSpaceOnUse" orient="auto"><path d="M0,0 L10,5 L0,10" fill="none" stroke="#2d3a55"/></marker>'
    "</defs>"
)
_SIDE_OF_LANE: Final = {"Client": "client", "Server": "server", "Caller": "none"}


def _text_width(text: str) -> int:
    return round(len(text) * _CHAR)


def _lane_positions(lanes: list[Lane], steps: Sequence[Step], left: int) -> dict[Lane, int]:
    """x of each lane: gaps wide enough for the longest label drawn between two lanes."""
    index = {lane: i for i, lane in enumerate(lanes)}
    gap = _MIN_GAP
    for step in steps:
        span = abs(index[step.target] - index[step.source]) or 1
        gap = max(gap, (_text_width(step.label) + 24 + span - 1) // span)
    return {lane: left + _HEADER_W // 2 + i * gap for i, lane in enumerate(lanes)}


def _title(event: TraceEvent) -> str:
    fields = event.model_dump(exclude_none=True, exclude_defaults=True, exclude={"time"})
    if "faults" in fields:
        fields["faults"] = " + ".join(fields["faults"])
    return ", ".join(f"{key} {value}" for key, value in fields.items())


def _row_y(row: int) -> int:
    return _FIRST_ROW + row * _ROW


def render_svg(events: Sequence[TraceEvent], *, times: bool = True) -> str:
    """An SVG document of ``events`` (see the module docstring), newline-terminated. With
    ``times``, each event's row is labelled with milliseconds since the first event."""
    steps = diagram_steps(events)
    lanes = participants(steps)
    left = 96 if times else 16
    xs = _lane_positions(lanes, steps, left)
    width = xs[lanes[-1]] + _HEADER_W // 2 + 16
    bottom = _row_y(len(steps)) + 8
    height = bottom + 16
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" font-family="monospace" '
        f'font-size="{_FONT}">',
        f"<title>sspi_async trace: {len(events)} events</title>",
        f"<style>{_STYLE}</style>",
        _DEFS,
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
    ]
    for lane in lanes:
        x = xs[lane]
        group = (
            '<g class="lsa">'
            if lane == "LSA"
            else f'<g class="lane" data-side="{_SIDE_OF_LANE[lane]}">'
        )
        label = "LSA (emulator)" if lane == "LSA" else lane
        out += [
            group,
            f'<rect x="{x - _HEADER_W // 2}" y="{_TOP}" width="{_HEADER_W}" height="{_HEADER_H}" rx="4"/>',
            f'<text x="{x}" y="{_TOP + 19}">{escape(label)}</text>',
            f'<line class="lifeline" x1="{x}" y1="{_TOP + _HEADER_H}" x2="{x}" y2="{bottom}"/>',
            "</g>",
        ]
    out += _bars(steps, xs, bottom)
    start = events[0].time if events else 0.0
    for row, step in enumerate(steps):
        out += _step(step, row, xs, times, start, left, width)
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _bars(steps: Sequence[Step], xs: dict[Lane, int], bottom: int) -> list[str]:
    """The pending bars: from each queued call's row to its completion's row (or the bottom)."""
    out = ['<g class="bars">']
    open_rows: dict[tuple[int, str], int] = {}
    for row, step in enumerate(steps):
        event = step.event
        if event is None:
            continue
        key = (event.actx, event.function)
        if step.kind == "call" and not step.error:
            open_rows[key] = row
        elif step.kind == "result" and key in open_rows:
            top = _row_y(open_rows.pop(key))
            x = xs[step.target]
            out.append(
                f'<rect class="bar" x="{x - 4}" y="{top}" width="8" height="{_row_y(row) - top}"/>'
            )
    for row in open_rows.values():
        step = steps[row]
        top = _row_y(row)
        x = xs[step.source]
        out.append(
            f'<rect class="bar stalled" x="{x - 4}" y="{top}" width="8" height="{bottom - top}"/>'
        )
    out.append("</g>")
    return out


def _step(
    step: Step, row: int, xs: dict[Lane, int], times: bool, start: float, left: int, width: int
) -> list[str]:
    """One step: a group with a tooltip, an arrow (or a note box) and its label."""
    y = _row_y(row)
    classes = f"step {step.kind}" + (" error" if step.error else "")
    seq = f' data-seq="{step.event.seq}"' if step.event is not None and step.kind != "note" else ""
    out = [f"<g class={quoteattr(classes)}{seq}>"]
    if step.event is not None:
        out.append(f"<title>{escape(_title(step.event))}</title>")
    label = escape(step.label)
    if step.kind == "note":
        w = _text_width(step.label) + 16
        # Centred on its lane, but kept inside the picture (a note on an outer lane).
        x = min(max(xs[step.source], 4 + w // 2), width - 4 - w // 2)
        out += [
            f'<rect x="{x - w // 2}" y="{y - 12}" width="{w}" height="18" rx="3"/>',
            f'<text x="{x}" y="{y + 1}">{label}</text>',
        ]
    else:
        x1, x2 = xs[step.source], xs[step.target]
        direction = 1 if x2 > x1 else -1
        marker = "open" if step.kind == "callback" else "arrow"
        out += [
            f'<line x1="{x1 + 5 * direction}" y1="{y}" x2="{x2 - 5 * direction}" y2="{y}" '
            f'marker-end="url(#{marker})"/>',
            f'<text x="{(x1 + x2) // 2}" y="{y - 5}">{label}</text>',
        ]
    if times and step.event is not None and step.kind != "note":
        ms = (step.event.time - start) * 1000
        out.append(f'<text class="time" x="{left - 8}" y="{y + 4}">+{ms:.3f} ms</text>')
    out.append("</g>")
    return out
