"""``sspi-async trace render FILE [--format mermaid|svg|text] [-o OUT] [--no-times]`` (SPEC §10),
and the trace and fault-plan options of ``sspi-async demo``.

Reads a JSON Lines trace (``Emulator.write_trace``, ``sspi-async demo --trace``) and prints or
writes it as a Mermaid ``sequenceDiagram`` (the default), an SVG timeline or a plain listing. The
demo writes the same renderings with ``--mermaid``/``--svg`` (byte for byte what ``trace render``
makes of its ``--trace`` file) and runs under a fault plan with ``--faults FILE``.

A user mistake — a missing or unreadable file, a line that is not a trace event, an output path
that cannot be written — prints one line on stderr, ``sspi-async trace render: error: <why>``, and
exits 2; never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final

from sspi_async import (
    FaultPlan,
    FaultPlanError,
    TraceEvent,
    TraceFormatError,
    load_trace,
    render_mermaid,
    render_svg,
    render_text,
)

__all__ = (
    "EXIT_USAGE",
    "FORMATS",
    "TraceOutputError",
    "add_demo_trace_options",
    "add_trace_command",
    "load_fault_plan",
    "render",
    "run_trace",
    "write_trace_outputs",
)

#: Exit code of a user mistake (argparse's convention, as in the rest of the CLI).
EXIT_USAGE: Final = 2
_PROG: Final = "sspi-async trace"
#: The rendering formats of ``trace render --format``.
FORMATS: Final = ("mermaid", "svg", "text")


class TraceOutputError(Exception):
    """A trace file or diagram cannot be written, or a fault plan cannot be read; the message is
    the complete reason (one line)."""


def render(events: Sequence[TraceEvent], fmt: str, *, times: bool = True) -> str:
    """``events`` as ``mermaid``, ``svg`` or ``text`` (``times``: svg and text only)."""
    if fmt == "mermaid":
        return render_mermaid(events)
    if fmt == "svg":
        return render_svg(events, times=times)
    return render_text(events, times=times)


# --------------------------------------------------------------------------- demo options


def add_demo_trace_options(demo: argparse.ArgumentParser) -> None:
    """``--trace``, ``--mermaid``, ``--svg`` and ``--faults`` for ``sspi-async demo``."""
    demo.add_argument(
        "--trace",
        type=Path,
        metavar="FILE",
        help="write the trace of every queued call, completion and callback as JSON Lines "
        "(render it later with 'sspi-async trace render FILE')",
    )
    demo.add_argument(
        "--mermaid",
        type=Path,
        metavar="FILE",
        help="write the trace as a Mermaid sequenceDiagram (client, LSA, server)",
    )
    demo.add_argument("--svg", type=Path, metavar="FILE", help="write the trace as an SVG timeline")
    demo.add_argument(
        "--faults",
        type=Path,
        metavar="FILE",
        help="run under a fault plan (a .json or .toml file: latency, failures, stalls, token "
        "corruption; see the README)",
    )


def load_fault_plan(path: Path) -> FaultPlan:
    """The fault plan in ``path``.

    Raises:
        TraceOutputError: the file is missing, unreadable or not a valid plan (one line naming
            the file, and the rule and field for a plan mistake).
    """
    try:
        return FaultPlan.load(path)
    except FileNotFoundError:
        raise TraceOutputError(f"{path}: no such fault plan file") from None
    except IsADirectoryError:
        raise TraceOutputError(f"{path}: is a directory, not a fault plan file") from None
    except UnicodeDecodeError as exc:
        raise TraceOutputError(f"{path}: not a UTF-8 text file ({exc.reason})") from None
    except OSError as exc:
        raise TraceOutputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except FaultPlanError as exc:
        raise TraceOutputError(" ".join(str(exc).split())) from None


def _jsonl(events: Sequence[TraceEvent]) -> str:
    return "".join(event.to_json() + "\n" for event in events)


def write_trace_outputs(
    events: Sequence[TraceEvent],
    *,
    trace: Path | None = None,
    mermaid: Path | None = None,
    svg: Path | None = None,
) -> list[tuple[str, Path]]:
    """Write ``events`` as JSON Lines, Mermaid and SVG to the paths given; returns
    ``(format, path)`` for each file written. The diagrams are exactly what
    ``sspi-async trace render`` makes of the JSON Lines file.

    Raises:
        TraceOutputError: a file cannot be written (one line naming it).
    """
    outputs: tuple[tuple[str, Path | None, Callable[[Sequence[TraceEvent]], str]], ...] = (
        ("trace", trace, _jsonl),
        ("mermaid", mermaid, render_mermaid),
        ("svg", svg, render_svg),
    )
    written = []
    for kind, path, text in outputs:
        if path is None:
            continue
        try:
            path.write_text(text(events), encoding="utf-8")
        except OSError as exc:
            raise TraceOutputError(f"cannot write {path}: {exc.strerror or exc}") from None
        written.append((kind, path))
    return written


# --------------------------------------------------------------------------- trace render


def add_trace_command(commands: Any) -> None:
    """Add ``trace`` (with its ``render`` sub-command) to the CLI's sub-parsers action."""
    trace = commands.add_parser(
        "trace",
        help="work with trace files (render them as diagrams)",
        description="Work with JSON Lines trace files written by the emulator.",
    )
    actions = trace.add_subparsers(dest="trace_command", metavar="TRACE_COMMAND")
    render_cmd = actions.add_parser(
        "render",
        help="render a trace as a Mermaid diagram, an SVG timeline or text",
        description=(
            "Render a JSON Lines trace: 'mermaid' is a sequenceDiagram of client, LSA (the "
            "emulator) and server with every status and token size; 'svg' draws the same "
            "timeline as a standalone SVG image; 'text' lists one event per line."
        ),
    )
    render_cmd.add_argument("file", type=Path, metavar="FILE", help="the JSON Lines trace")
    render_cmd.add_argument(
        "--format",
        choices=FORMATS,
        default="mermaid",
        help="output format (default mermaid)",
    )
    render_cmd.add_argument(
        "-o", "--output", type=Path, metavar="OUT", help="write to OUT instead of stdout"
    )
    render_cmd.add_argument(
        "--no-times",
        action="store_true",
        help="svg and text: leave out the milliseconds since the first event (stable output)",
    )


def _error(command: str, message: str) -> int:
    print(f"{command}: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def run_trace(args: argparse.Namespace, emit: Callable[[str], None]) -> int:
    """Run ``trace <command>``: render the trace and ``emit`` it (or write it to ``--output``).

    Returns the exit code: 0, or 2 after one error line on stderr.
    """
    if args.trace_command is None:
        return _error(_PROG, f"a trace command is required: render (see '{_PROG} --help')")
    command = f"{_PROG} {args.trace_command}"
    try:
        events = load_trace(args.file)
    except FileNotFoundError:
        return _error(command, f"{args.file}: no such file")
    except IsADirectoryError:
        return _error(command, f"{args.file}: is a directory, not a trace file")
    except OSError as exc:
        return _error(command, f"{args.file}: cannot read: {exc.strerror or exc}")
    except TraceFormatError as exc:
        return _error(command, str(exc))
    text = render(events, args.format, times=not args.no_times)
    if args.output is None:
        emit(text.removesuffix("\n"))
        return 0
    try:
        args.output.write_text(text, encoding="utf-8")
    except OSError as exc:
        return _error(command, f"cannot write {args.output}: {exc.strerror or exc}")
    return 0
