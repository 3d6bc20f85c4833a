"""The diagram of a trace as a list of steps, shared by the Mermaid and SVG renderings (SPEC §9).

A pure function of the events (golden-file friendly): no clock, no randomness.

The picture has three participants — the **Client**, the **LSA** (the emulator, doing the work of
the calls, SPEC §3 A14) and the **Server** — plus a **Caller** for calls without a side (a
credential for both directions). Per call:

* queued: caller → LSA, ``<function> (actx N[, token K bytes]) queued <queue status>``, then a note
  over the LSA for the fault-plan actions that applied;
* completed: LSA ⇢ caller, ``<result>[, token K bytes][, cred N][, ctx N]``;
* output token: Client → Server (or back), ``token K bytes``, drawn right after the completion that
  produced it (the emulator does not see the transport);
* callback: LSA ⇢ caller (open arrow), ``callback (actx N) <status>``;
* at the end, a note for every call still pending (a stall, or a trace cut short).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

from .._status import SEC_SUCCESS, SecurityStatus
from ._trace import TraceEvent

__all__ = (
    "Lane",
    "Step",
    "byte_count",
    "diagram_steps",
    "is_error",
    "lane_of",
    "participants",
    "pending_calls",
    "result_label",
)

Lane = Literal["Caller", "Client", "LSA", "Server"]
_LANE_OF_SIDE: Final[dict[str | None, Lane]] = {
    "client": "Client",
    "server": "Server",
    None: "Caller",
}
_PEER: Final[dict[Lane, Lane]] = {"Client": "Server", "Server": "Client"}


def lane_of(side: str | None) -> Lane:
    """The participant of a side: ``Client``, ``Server``, or ``Caller`` for no side."""
    return _LANE_OF_SIDE.get(side, "Caller")


@dataclass(frozen=True, slots=True)
class Step:
    """One statement of the diagram.

    Attributes:
        kind: ``call`` (queued), ``result`` (completed), ``callback``, ``token`` (an output token
            on its way to the peer) or ``note``.
        source / target: the participants (the same one for a note).
        label: the text.
        error: the status shown is an error (drawn in red in the SVG).
        event: the trace event the step comes from, if any.
    """

    kind: Literal["call", "result", "callback", "token", "note"]
    source: Lane
    target: Lane
    label: str
    error: bool = False
    event: TraceEvent | None = None


def is_error(status: str | None) -> bool:
    """Whether a status as a trace shows it (a winerror.h name, or ``0x…`` for a value without
    one) is an error (SPEC §2: ``SEC_SUCCESS`` is false). Unknown names are not errors."""
    if status is None:
        return False
    member = SecurityStatus.__members__.get(status)
    if member is not None:
        return not SEC_SUCCESS(member)
    try:
        return not SEC_SUCCESS(int(status, 16))
    except ValueError:
        return False


def byte_count(count: int) -> str:
    """``1 byte``, ``66 bytes``."""
    return f"{count} byte" if count == 1 else f"{count} bytes"


def _call_label(event: TraceEvent) -> str:
    token = f", token {byte_count(event.token_in)}" if event.token_in else ""
    return f"{event.function} (actx {event.actx}{token}) queued {event.queue_status}"


def result_label(event: TraceEvent) -> str:
    """``<result>[, token K bytes][, cred N][, ctx N]`` for a completed event."""
    parts = [event.result or "?"]
    if event.token_out is not None:
        parts.append(f"token {byte_count(event.token_out)}")
    if event.credential is not None:
        parts.append(f"cred {event.credential}")
    if event.context is not None:
        parts.append(f"ctx {event.context}")
    return ", ".join(parts)


def pending_calls(events: Sequence[TraceEvent]) -> list[TraceEvent]:
    """The ``queued`` events (queued successfully) with no ``completed`` event after them, in
    order: calls still pending when the trace ends (a stall, or a trace cut short)."""
    pending: dict[tuple[int, str], TraceEvent] = {}
    for event in events:
        if event.kind == "queued" and not is_error(event.queue_status):
            pending[event.actx, event.function] = event
        elif event.kind == "completed":
            pending.pop((event.actx, event.function), None)
    return list(pending.values())


def diagram_steps(events: Sequence[TraceEvent]) -> list[Step]:
    """The diagram of ``events`` as a list of steps, in trace order (see the module docstring)."""
    steps: list[Step] = []
    for event in events:
        lane = lane_of(event.side)
        if event.kind == "queued":
            steps.append(
                Step("call", lane, "LSA", _call_label(event), is_error(event.queue_status), event)
            )
            if event.faults:
                steps.append(Step("note", "LSA", "LSA", "fault " + " + ".join(event.faults)))
        elif event.kind == "completed":
            steps.append(
                Step("result", "LSA", lane, result_label(event), is_error(event.result), event)
            )
            peer = _PEER.get(lane)
            if peer is not None and event.token_out:
                steps.append(Step("token", lane, peer, f"token {byte_count(event.token_out)}"))
        else:
            label = f"callback (actx {event.actx}) {event.result}"
            steps.append(Step("callback", "LSA", lane, label, is_error(event.result), event))
    for event in pending_calls(events):
        lane = lane_of(event.side)
        label = f"still pending {event.function} (actx {event.actx})"
        steps.append(Step("note", lane, lane, label, error=True, event=event))
    return steps


def participants(steps: Sequence[Step]) -> list[Lane]:
    """The participants to draw, left to right: Caller (only when used), Client, LSA, Server."""
    used = {step.source for step in steps} | {step.target for step in steps}
    return [
        lane for lane in ("Caller", "Client", "LSA", "Server") if lane != "Caller" or lane in used
    ]
