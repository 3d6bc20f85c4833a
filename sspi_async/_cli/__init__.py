"""The ``sspi-async`` command line (SPEC §10); also ``python -m sspi_async``.

Commands:

* ``sspi-async demo [--package schannel|simtls] [--tls 1.3|1.2] [--rounds N] [--alpn h2,http/1.1]
  [--json] [--trace FILE] [--mermaid FILE] [--svg FILE] [--faults FILE]`` — a client and a server
  through the async SSPI API in one process, every call reported (default: Schannel, TLS 1.3,
  ephemeral certificates); optionally traced (JSON Lines, Mermaid, SVG) and under a fault plan.
* ``sspi-async serve [--port P] [--cert PEM --key PEM] [--handshake-timeout S] [--once]`` — a
  TLS echo server over TCP through the emulator (Schannel, ``SspiTLSListener``): a client that
  fails, resets or idles ends its own connection with one line saying why (E5).
* ``sspi-async connect HOST:PORT [--cafile PEM] [--send TEXT]`` — a TLS client through the
  emulator: handshake, one message, the reply.
* ``sspi-async packages [--json]`` — the registered security packages.
* ``sspi-async trace render FILE [--format mermaid|svg|text] [-o OUT]`` — a JSON Lines trace as a
  Mermaid sequence diagram, an SVG timeline or text.
* ``sspi-async bench dispatch|handshake|throughput [options] [--json]`` — the benchmarks
  (``benchmarks/README.md``).
* ``sspi-async --version``.

Conventions: ``--help`` on every command; a user mistake (unknown command or option, bad value)
prints ONE line on stderr — ``<prog>: error: <what is wrong>`` — and exits 2, never a traceback.
A run that fails for another reason prints one line ``<prog>: failed: <why>`` and exits 1.
When the reader of stdout goes away (``sspi-async demo | head -3``), every command stops quietly
with exit status 141, what a shell reports for a Unix tool killed by SIGPIPE (E11).

The CLI is the top layer: it uses only the public ``sspi_async`` and ``sspi_async.sspi`` names,
and nothing in the library imports it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import anyio

from sspi_async import ConfigurationError, SspiError, TraceEvent, __version__

from ._bench import BENCHMARKS, add_benchmarks, run_benchmark
from ._demo import (
    DEFAULT_ALPN,
    DEFAULT_PACKAGE,
    DEFAULT_TLS,
    DemoError,
    DemoEvent,
    DemoOptions,
    UnavailablePackageError,
    resolve_package,
    run_demo,
)
from ._packages import format_packages, package_records
from ._tls import ConnectOptions, ServeOptions, connect, serve
from ._trace import (
    TraceOutputError,
    add_demo_trace_options,
    add_trace_command,
    load_fault_plan,
    run_trace,
    write_trace_outputs,
)

__all__ = ("main",)

PROG = "sspi-async"
#: Exit code of a user mistake (argparse's convention).
EXIT_USAGE = 2
#: Exit code of a run that failed for another reason.
EXIT_FAILURE = 1
#: Exit code when stdout's reader went away: 128 + SIGPIPE, as a shell reports ``yes | head``.
EXIT_BROKEN_PIPE = 128 + 13
_MAX_ROUNDS = 8
_MAX_SECONDS = 600.0


class UsageError(Exception):
    """A user mistake on the command line; the message is the complete error line."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors become :class:`UsageError` (one line, exit 2) instead of
    usage text plus ``sys.exit``. Sub-parsers inherit the class."""

    def error(self, message: str) -> NoReturn:
        """Raise :class:`UsageError` with ``<prog>: error: <message> (see --help)``."""
        raise UsageError(f"{self.prog}: error: {message} (see '{self.prog} --help')")


# --------------------------------------------------------------------------- argument types


def _rounds(text: str) -> int:
    """``--rounds``: an integer from 1 to 8."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= _MAX_ROUNDS:
        raise argparse.ArgumentTypeError(
            f"must be an integer from 1 to {_MAX_ROUNDS}, not {text!r}"
        )
    return value


def _alpn(text: str) -> tuple[str, ...]:
    """``--alpn``: comma-separated protocol ids, each 1 to 255 bytes; ``""`` means no ALPN."""
    if not text.strip():
        return ()
    ids = tuple(part.strip() for part in text.split(","))
    for ident in ids:
        if not 0 < len(ident.encode()) < 256:
            raise argparse.ArgumentTypeError(
                f"each protocol id must be 1 to 255 bytes, got {ident!r} in {text!r}"
            )
    return ids


def _seconds(text: str) -> float:
    """``--seconds``: a positive number of seconds, at most 600."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= _MAX_SECONDS:
        raise argparse.ArgumentTypeError(
            f"must be a number of seconds > 0 and <= {_MAX_SECONDS:g}, not {text!r}"
        )
    return value


# --------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    """The ``sspi-async`` argument parser with its sub-commands."""
    parser = _Parser(
        prog=PROG,
        description="The Windows asynchronous SSPI API emulated on asyncio.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="run a client and a server through the async SSPI API",
        description=(
            "Run a client and a server through the async SSPI API in one process. Each call is "
            "printed with its queueing status, the status right after the await (pending) and "
            "the result read in the notify callback; then the negotiated protocol and ALPN, the "
            "peer names and one encrypted message each way."
        ),
    )
    demo.add_argument(
        "--package",
        default=DEFAULT_PACKAGE,
        help=f"security package: schannel (real TLS, ephemeral certificates) or simtls "
        f"(case-insensitive; default {DEFAULT_PACKAGE})",
    )
    demo.add_argument(
        "--tls",
        choices=("1.2", "1.3"),
        default=None,
        help=f"Schannel only: the TLS version to negotiate (default {DEFAULT_TLS})",
    )
    demo.add_argument(
        "--rounds",
        type=_rounds,
        default=None,
        metavar="N",
        help=f"SimTLS only: handshake round trips, 1 (TLS 1.3 shape, default) to {_MAX_ROUNDS} "
        "(2 and more: the TLS 1.2 shape)",
    )
    demo.add_argument(
        "--alpn",
        type=_alpn,
        default=DEFAULT_ALPN,
        metavar="LIST",
        help=f"comma-separated ALPN ids the client offers (default {','.join(DEFAULT_ALPN)}; "
        "'' for none)",
    )
    demo.add_argument(
        "--json", action="store_true", help="print one JSON object per line instead of text"
    )
    add_demo_trace_options(demo)

    _add_serve(commands)
    _add_connect(commands)

    packages = commands.add_parser(
        "packages",
        help="list the registered security packages",
        description="List the registered security packages (EnumerateSecurityPackages).",
    )
    packages.add_argument("--json", action="store_true", help="print a JSON array")

    bench = commands.add_parser(
        "bench",
        help="run a benchmark",
        description="Run a benchmark of the emulator.",
    )
    add_benchmarks(bench.add_subparsers(dest="benchmark", metavar="BENCHMARK"))
    add_trace_command(commands)
    return parser


def _port(text: str) -> int:
    """``--port``: 0 (ephemeral) to 65535."""
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"must be a port number from 0 to 65535, not {text!r}")
    return int(text)


def _address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:443`` for IPv6)."""
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"must be HOST:PORT, not {text!r}")
    return host, int(port)


def _tls_versions(text: str) -> tuple[str, ...]:
    """``--tls``: ``1.2``, ``1.3`` or ``both``."""
    choices = {"1.2": ("tls1.2",), "1.3": ("tls1.3",), "both": ("tls1.2", "tls1.3")}
    if text not in choices:
        raise argparse.ArgumentTypeError(f"must be 1.2, 1.3 or both, not {text!r}")
    return choices[text]


def _add_serve(commands: Any) -> None:
    serve_cmd = commands.add_parser(
        "serve",
        help="run a TLS echo server over TCP through the emulator",
        description=(
            "Accept TLS connections on HOST:PORT and echo what each client sends. Every handshake "
            "runs AcceptSecurityContext through the async SSPI calls (Schannel package). Without "
            "--cert an ephemeral certificate for localhost/127.0.0.1 is issued and its CA "
            "certificate written to a file (printed), for openssl s_client -CAfile or curl "
            "--cacert."
        ),
    )
    serve_cmd.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    serve_cmd.add_argument(
        "--port", type=_port, default=0, help="port to listen on (default 0: any free port)"
    )
    serve_cmd.add_argument("--cert", type=Path, help="PEM certificate chain (with --key)")
    serve_cmd.add_argument("--key", type=Path, help="PEM private key (default: in --cert)")
    serve_cmd.add_argument(
        "--ca-out", type=Path, help="where to write the ephemeral CA certificate"
    )
    serve_cmd.add_argument(
        "--alpn", type=_alpn, default=(), metavar="LIST", help="ALPN ids, best first"
    )
    serve_cmd.add_argument(
        "--tls",
        type=_tls_versions,
        default=("tls1.2", "tls1.3"),
        help="1.2, 1.3 or both (default both)",
    )
    serve_cmd.add_argument(
        "--request-client-cert",
        action="store_true",
        help="ask clients for a certificate (ASC_REQ_MUTUAL_AUTH)",
    )
    serve_cmd.add_argument(
        "--handshake-timeout",
        type=_seconds,
        default=60.0,
        metavar="S",
        help="drop a client whose TLS handshake is not done within S seconds (default 60)",
    )
    serve_cmd.add_argument(
        "--once",
        action="store_true",
        help="exit after serving one connection (failed handshakes do not count)",
    )


def _add_connect(commands: Any) -> None:
    connect_cmd = commands.add_parser(
        "connect",
        help="connect to a TLS server through the emulator",
        description=(
            "Connect to HOST:PORT with InitializeSecurityContext through the async SSPI calls "
            "(Schannel package), print the negotiated protocol, cipher, ALPN and peer, send one "
            "message and print the first reply."
        ),
    )
    connect_cmd.add_argument("address", type=_address, metavar="HOST:PORT")
    connect_cmd.add_argument(
        "--cafile", type=Path, help="PEM roots to trust (default: the system store)"
    )
    connect_cmd.add_argument(
        "--servername", help="pszTargetName, checked against the certificate (default: HOST)"
    )
    connect_cmd.add_argument(
        "--insecure",
        action="store_true",
        help="skip certificate validation (ISC_REQ_MANUAL_CRED_VALIDATION)",
    )
    connect_cmd.add_argument("--alpn", type=_alpn, default=(), metavar="LIST", help="ALPN ids")
    connect_cmd.add_argument(
        "--tls",
        type=_tls_versions,
        default=("tls1.2", "tls1.3"),
        help="1.2, 1.3 or both (default both)",
    )
    connect_cmd.add_argument(
        "--send",
        default="hello from sspi-async\n",
        metavar="TEXT",
        help="text to send (\\n escapes allowed; '' sends nothing)",
    )
    connect_cmd.add_argument(
        "--timeout",
        type=_seconds,
        default=10.0,
        metavar="S",
        help="give up after S seconds (default 10)",
    )


# --------------------------------------------------------------------------- commands


def _print(text: str) -> None:
    print(text, flush=True)


def _cmd_demo(args: argparse.Namespace) -> int:
    try:
        package = resolve_package(args.package)
        faults = None if args.faults is None else load_fault_plan(args.faults)
    except (UnavailablePackageError, TraceOutputError) as exc:
        raise UsageError(f"{PROG} demo: error: {exc}") from None
    if package == "SimTLS" and args.tls is not None:
        raise UsageError(
            f"{PROG} demo: error: --tls applies to Schannel; SimTLS takes --rounds "
            "(1: the TLS 1.3 shape, 2: the TLS 1.2 shape)"
        )
    if package == "Schannel" and args.rounds is not None:
        raise UsageError(
            f"{PROG} demo: error: --rounds applies to SimTLS; Schannel takes --tls 1.2 or 1.3"
        )
    for option, path in (("--trace", args.trace), ("--mermaid", args.mermaid), ("--svg", args.svg)):
        if path is not None and not Path(path).parent.is_dir():
            # Checked before the run, not after it: the demo's output would be lost.
            raise UsageError(f"{PROG} demo: error: cannot write {option} {path}: no such directory")

    def emit(event: DemoEvent) -> None:
        _print(json.dumps(event.record()) if args.json else event.text)

    outputs = {"trace": args.trace, "mermaid": args.mermaid, "svg": args.svg}
    trace = any(path is not None for path in outputs.values())
    options = DemoOptions(
        package=package,
        rounds=1 if args.rounds is None else args.rounds,
        alpn=args.alpn,
        tls=DEFAULT_TLS if args.tls is None else args.tls,
        faults=faults,
        trace=trace,
    )

    unwritten: list[str] = []

    def write(events: list[TraceEvent]) -> None:
        # Also after a failed call (the trace shows what the fault plan did), so a write error
        # must not replace the run's own error: it is reported, then the run's error, if any.
        try:
            written = write_trace_outputs(events, **outputs)
        except TraceOutputError as exc:
            unwritten.append(str(exc))
            print(f"{PROG} demo: error: {exc}", file=sys.stderr)
            return
        for kind, path in written:
            text = f"{'':<8}{kind}: {len(events)} events written to {path}"
            data = {"format": kind, "path": str(path), "events": len(events)}
            emit(DemoEvent("trace", text, data))

    asyncio.run(run_demo(options, emit, write) if trace else run_demo(options, emit))
    return EXIT_USAGE if unwritten else 0


def _cmd_serve(args: argparse.Namespace) -> int:
    if args.key is not None and args.cert is None:
        raise UsageError(f"{PROG} serve: error: --key needs --cert")
    options = ServeOptions(
        host=args.host,
        port=args.port,
        cert=args.cert,
        key=args.key,
        ca_out=args.ca_out,
        alpn=args.alpn,
        tls=args.tls,
        request_client_certificate=args.request_client_cert,
        connections=1 if args.once else 0,
        handshake_timeout=args.handshake_timeout,
    )
    asyncio.run(serve(options, _print))
    return 0


def _cmd_connect(args: argparse.Namespace) -> int:
    host, port = args.address
    options = ConnectOptions(
        host=host,
        port=port,
        cafile=args.cafile,
        servername=args.servername,
        insecure=args.insecure,
        alpn=args.alpn,
        tls=args.tls,
        message=args.send.replace("\\n", "\n").encode(),
        timeout=args.timeout,
    )
    try:
        asyncio.run(connect(options, _print))
    except BrokenPipeError:  # our stdout, not the connection (anyio raises BrokenResourceError)
        raise
    except TimeoutError:
        print(
            f"{PROG}: failed: no answer from {host}:{port} within {args.timeout:g} s",
            file=sys.stderr,
        )
        return EXIT_FAILURE
    except OSError as exc:
        print(f"{PROG}: failed: cannot connect to {host}:{port}: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except (anyio.BrokenResourceError, anyio.EndOfStream) as exc:
        why = str(exc) or "the server closed the connection"
        print(f"{PROG}: failed: {host}:{port}: {why}", file=sys.stderr)
        return EXIT_FAILURE
    return 0


def _cmd_packages(args: argparse.Namespace) -> int:
    _print(json.dumps(package_records(), indent=2) if args.json else format_packages())
    return 0


def _dispatch(args: argparse.Namespace) -> int:
    if args.command is None:
        raise UsageError(
            f"{PROG}: error: a command is required: demo, serve, connect, packages, bench or trace "
            f"(see '{PROG} --help')"
        )
    if args.command == "demo":
        return _cmd_demo(args)
    if args.command == "packages":
        return _cmd_packages(args)
    if args.command == "serve":
        return _cmd_serve(args)
    if args.command == "connect":
        return _cmd_connect(args)
    if args.command == "trace":
        return run_trace(args, _print)
    if args.benchmark is None:  # bench
        raise UsageError(
            f"{PROG} bench: error: a benchmark is required: {', '.join(BENCHMARKS)} "
            f"(see '{PROG} bench --help')"
        )
    return run_benchmark(args, _print)


def main(argv: list[str] | None = None) -> int:
    """Run ``sspi-async`` with ``argv`` (default ``sys.argv[1:]``) and return the exit code.

    ``--help`` and ``--version`` print and raise ``SystemExit(0)`` (argparse's behaviour). A user
    mistake prints one error line on stderr and returns 2; a failed run prints one line and
    returns 1; Ctrl-C returns 130; a closed stdout (E11) returns 141 and prints nothing.
    """
    try:
        return _main(argv)
    except BaseException as exc:
        if not _is_broken_pipe(exc):
            raise
    _discard_stdout()
    return EXIT_BROKEN_PIPE


def _is_broken_pipe(exc: BaseException) -> bool:
    """A BrokenPipeError, or an exception group (from a task group) that holds one."""
    if isinstance(exc, BrokenPipeError):
        return True
    inner: Sequence[BaseException] = getattr(exc, "exceptions", ())
    return isinstance(inner, tuple) and any(_is_broken_pipe(each) for each in inner)


def _discard_stdout() -> None:
    """Point stdout at /dev/null, so that the interpreter's final flush of what is still
    buffered does not fail again (the recipe of the Python docs, "Note on SIGPIPE")."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no real stdout (captured, or already closed)
        pass


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    arguments: Sequence[str] = sys.argv[1:] if argv is None else argv
    try:
        args = parser.parse_args(list(arguments))
        return _dispatch(args)
    except UsageError as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    except ConfigurationError as exc:  # settings built from the arguments did not validate
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (DemoError, SspiError) as exc:
        print(f"{PROG}: failed: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
