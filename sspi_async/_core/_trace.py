"""Traces (SPEC §9): one event per queued call, completion and callback dispatch; JSON Lines.

Recording is cheap — :class:`TraceRecorder` appends a slotted record holding plain values — and the
conversion to :class:`TraceEvent` (pydantic, the serialized form) happens on export. What a trace
holds: sequence number, monotonic time, kind, function, async-context id and tag, side, package,
credential and context handle ids, queue status, result, token lengths, the fault-plan actions that
applied. Handle ids are small numbers given in order of first appearance (``1``, ``2``…), not the
random handle values, so two runs of the same program give the same trace apart from times.

Never in a trace (SPEC §11): keys, secrets, plaintext. Token *bytes* appear only with
``trace_tokens=True`` (``token_out_hex``, the output token as the peer would see it — handshake
messages, which travel in the clear or encrypted on the wire anyway).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .._handles import SecHandle, SecIsValidHandle
from .._status import status_name
from ._callinfo import CallInfo, Side, token_bytes
from ._model import describe_validation_error

__all__ = (
    "TraceEvent",
    "TraceFormatError",
    "TraceKind",
    "TraceRecorder",
    "events_to_jsonl",
    "load_jsonl",
    "load_trace",
    "parse_jsonl",
)

#: What happened: the call was queued, it completed, or its notify callback was dispatched.
TraceKind = Literal["queued", "completed", "callback"]


class TraceFormatError(ValueError):
    """A trace file or line is not a trace; the message names the file and line."""


class TraceEvent(BaseModel):
    """One trace event (the serialized form; one JSON object per line).

    Attributes:
        seq: 1-based position in the trace.
        time: monotonic clock, seconds (only differences mean anything).
        kind: ``"queued"``, ``"completed"`` or ``"callback"``.
        function: the canonical ``Sspi…Async`` name.
        actx: the async context's id; ``tag`` its tag.
        side: ``"client"``, ``"server"`` or absent.
        package: the security package, when known.
        credential / context: small handle ids, by first appearance in the trace.
        queue_status: the queueing status (``queued`` events), by name.
        result: the call's result (``completed`` and ``callback`` events), by name.
        token_in / token_out: input and output token lengths, in bytes.
        token_out_hex: the output token, only when recorded with ``trace_tokens=True``.
        faults: the fault-plan actions that applied to the call (``queued`` events).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    seq: int = Field(ge=1)
    time: float
    kind: TraceKind
    function: str
    actx: int
    tag: str | None = None
    side: Side | None = None
    package: str | None = None
    credential: int | None = None
    context: int | None = None
    queue_status: str | None = None
    result: str | None = None
    token_in: int | None = Field(default=None, ge=0)
    token_out: int | None = Field(default=None, ge=0)
    token_out_hex: str | None = Field(default=None, pattern=r"^(?:[0-9a-f]{2})*$")
    faults: tuple[str, ...] = ()

    def to_json(self) -> str:
        """One line of JSON: fields that are unset (``None`` or no faults) are left out."""
        return self.model_dump_json(exclude_none=True, exclude_defaults=True)


class _Record:
    """What the recorder keeps per event: plain values, converted on export."""

    __slots__ = (
        "actx",
        "context",
        "credential",
        "faults",
        "function",
        "kind",
        "package",
        "side",
        "status",
        "tag",
        "time",
        "token_in",
        "token_out",
    )

    def __init__(self, kind: TraceKind, info: CallInfo, status: int, when: float) -> None:
        self.kind = kind
        self.time = when
        self.function = info.function
        self.actx = info.actx
        self.tag = info.tag
        self.side = info.side
        self.package = info.package
        self.credential = _key(info.credential)
        self.context = _key(info.context)
        self.status = status
        self.token_in: int | None = None
        self.token_out: bytes | int | None = None
        self.faults: tuple[str, ...] = ()


def _key(handle: SecHandle | None) -> tuple[int, int] | None:
    """The handle's value now, or None for no handle or one not written yet (invalid or zero: the
    values a caller's fresh ``SecHandle`` holds)."""
    if handle is None or not SecIsValidHandle(handle) or handle.key() == (0, 0):
        return None
    return handle.key()


class TraceRecorder:
    """Collects trace events from the emulator's hooks (SPEC §9).

    Args:
        trace_tokens: keep the output token bytes too (``token_out_hex``).
        clock: the monotonic clock (``time.monotonic``); tests pass their own.

    The three recording methods run on the event loop, at the moment they name, and only append.
    """

    __slots__ = ("_clock", "_records", "trace_tokens")

    def __init__(
        self, *, trace_tokens: bool = False, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.trace_tokens = trace_tokens
        self._clock = clock
        self._records: list[_Record] = []

    def __len__(self) -> int:
        return len(self._records)

    def queued(self, info: CallInfo, queue_status: int) -> None:
        """The queueing coroutine is about to return ``queue_status`` for ``info``'s call."""
        record = _Record("queued", info, queue_status, self._clock())
        record.token_in = info.token_in
        if info.decision is not None:
            record.faults = info.decision.labels
        self._records.append(record)

    def completed(self, info: CallInfo, result: int) -> None:
        """The call completed with ``result``; its out-parameters are written (A6), so the output
        token and the new handles are read now."""
        record = _Record("completed", info, result, self._clock())
        if info.output is not None:
            token = token_bytes(info.output)
            record.token_out = token if self.trace_tokens else len(token)
        self._records.append(record)

    def callback(self, info: CallInfo, status: int) -> None:
        """The notify callback of ``info``'s call is being dispatched; ``status`` is the context's
        status the callback will read."""
        self._records.append(_Record("callback", info, status, self._clock()))

    def clear(self) -> None:
        """Forget every recorded event."""
        self._records.clear()

    def events(self) -> list[TraceEvent]:
        """The recorded events as :class:`TraceEvent` objects, in order (``seq`` from 1)."""
        credentials: dict[tuple[int, int], int] = {}
        contexts: dict[tuple[int, int], int] = {}
        events = []
        for seq, record in enumerate(self._records, 1):
            token_out = record.token_out
            status = status_name(record.status)
            events.append(
                TraceEvent(
                    seq=seq,
                    time=record.time,
                    kind=record.kind,
                    function=record.function,
                    actx=record.actx,
                    tag=record.tag,
                    side=record.side,
                    package=record.package,
                    credential=_small_id(credentials, record.credential),
                    context=_small_id(contexts, record.context),
                    queue_status=status if record.kind == "queued" else None,
                    result=None if record.kind == "queued" else status,
                    token_in=record.token_in,
                    token_out=len(token_out) if isinstance(token_out, bytes) else token_out,
                    token_out_hex=token_out.hex() if isinstance(token_out, bytes) else None,
                    faults=record.faults,
                )
            )
        return events

    def to_jsonl(self) -> str:
        """The trace as JSON Lines (one event per line, each line ending in a newline)."""
        return events_to_jsonl(self.events())

    def write_jsonl(self, path: str | Path) -> None:
        """Write :meth:`to_jsonl` to ``path`` (UTF-8), replacing the file."""
        Path(path).write_text(self.to_jsonl(), encoding="utf-8")


def _small_id(ids: dict[tuple[int, int], int], key: tuple[int, int] | None) -> int | None:
    if key is None:
        return None
    return ids.setdefault(key, len(ids) + 1)


def events_to_jsonl(events: Iterable[TraceEvent]) -> str:
    """JSON Lines for ``events``: one compact object per line, each line newline-terminated."""
    return "".join(event.to_json() + "\n" for event in events)


def parse_jsonl(text: str, source: str = "<trace>") -> list[TraceEvent]:
    """The events of a JSON Lines trace; blank lines are skipped.

    Raises:
        TraceFormatError: a line is not JSON or not a trace event: ``<source>:<line>: <why>``.
    """
    events = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except ValueError as exc:
            raise TraceFormatError(f"{source}:{number}: not JSON: {exc}") from None
        try:
            events.append(TraceEvent.model_validate(data))
        except ValidationError as exc:
            raise TraceFormatError(
                f"{source}:{number}: not a trace event: {describe_validation_error(exc)}"
            ) from None
    return events


def load_trace(path: str | Path) -> list[TraceEvent]:
    """The events of the JSON Lines trace file at ``path`` (UTF-8), as written by
    ``Emulator.write_trace`` or ``sspi-async demo --trace``.

    Raises:
        TraceFormatError: a line is not a trace event (the message names the file and line), or
            the file is not UTF-8 text.
        OSError: the file cannot be read.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise TraceFormatError(f"{path}: not a UTF-8 text file ({exc.reason})") from None
    return parse_jsonl(text, str(path))


#: The part-1 name of :func:`load_trace`.
load_jsonl = load_trace
