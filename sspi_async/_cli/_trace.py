"""``sspi-async trace render FILE [--format mermaid|svg|text] [-o OUT] [--no-times]`` (SPEC §10).

Reads a JSON Lines trace (``TraceRecorder.write_jsonl``, ``sspi-async demo --trace``) and prints or
writes it as a Mermaid ``sequenceDiagram`` (the default), an SVG timeline or a plain listing.

A user mistake — a missing or unreadable file, a line that is not a trace event, an output path
that cannot be written — prints one line on stderr, ``sspi-async trace render: error: <why>``, and
exits 2; never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

# Part 1 of issue 5: the trace API is not public yet; part 2 re-exports these from sspi_async.
from sspi_async._core._trace import TraceFormatError, load_jsonl
from sspi_async._core._trace_render import FORMATS, render

__all__ = ("EXIT_USAGE", "add_trace_command", "run_trace")

#: Exit code of a user mistake (argparse's convention, as in the rest of the CLI).
EXIT_USAGE: Final = 2
_PROG: Final = "sspi-async trace"


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
        events = load_jsonl(args.file)
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
