"""The dispatch benchmark: what one queued async SSPI call costs next to a bare asyncio round trip.

Two loops run for the same wall-clock time on the same event loop:

* **anchor** — the cheapest asyncio round trip there is: create a future,
  ``loop.call_soon(fut.set_result, None)``, ``await fut``.
* **sspi** — one no-op async SSPI call with a notify callback, on one async context reused with
  ``SspiReinitAsyncContext``: reinit, ``await SspiFreeCredentialsHandleAsync(actx, CredHandle())``
  (an invalid handle, so the call completes ``SEC_E_INVALID_HANDLE``: the cheapest real call,
  with no security package involved), then await the future the notify callback resolves.

Their ratio (SSPI call cost / round-trip cost) is the emulator's dispatch overhead; the goal is
at most :data:`GOAL_RATIO`. The same SSPI loop also runs with ``completion="eager"`` (A7).

Method: one short warm-up of each loop, then three rounds in which the loops take turns (anchor,
deferred, eager), each round lasting a third of ``seconds``; the best rate of the three rounds is
reported for each loop. structlog is left alone: the library skips its logging while structlog is
unconfigured, and the result says whether it was configured (then logging cost is included).

This module is the measuring code behind both ``sspi-async bench dispatch`` and
``benchmarks/dispatch.py``, so the console script works without the repository's ``benchmarks``
folder. It also owns the ``bench`` sub-commands (:func:`add_benchmarks`, :func:`run_benchmark`):
``dispatch`` (here), ``handshake`` (:mod:`._bench_handshake`) and ``throughput``
(:mod:`._bench_throughput`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any, Final

import structlog

from sspi_async import Emulator, EmulatorSettings, SspiAsyncContext
from sspi_async.sspi import (
    SEC_E_INVALID_HANDLE,
    SEC_E_OK,
    STATUS_SUCCESS,
    CredHandle,
    SspiCreateAsyncContext,
    SspiFreeAsyncContext,
    SspiFreeCredentialsHandleAsync,
    SspiGetAsyncCallStatus,
    SspiReinitAsyncContext,
    SspiSetAsyncNotifyCallback,
)

from . import _bench_handshake as handshake_bench
from . import _bench_throughput as throughput_bench
from ._progress import Progress, ProgressLine, best_of_rounds

__all__ = (
    "BENCHMARKS",
    "DEFAULT_SECONDS",
    "GOAL_RATIO",
    "DispatchResult",
    "add_benchmarks",
    "format_report",
    "measure_dispatch",
    "run_benchmark",
)

#: Default measuring time of each loop, in seconds (split over the rounds).
DEFAULT_SECONDS: Final = 2.0
#: The stated goal: one queued async SSPI call costs at most this many bare round trips.
GOAL_RATIO: Final = 3.0
#: Rounds per loop; the best one is reported.
ROUNDS: Final = 3
#: Iterations between two clock reads (keeps the clock out of the measured cost).
_BATCH: Final = 64


@dataclass(frozen=True, slots=True)
class DispatchResult:
    """One benchmark run.

    Attributes:
        python: the Python version (``platform.python_version()``).
        implementation: ``platform.python_implementation()``.
        platform: ``platform.platform()``.
        seconds: the measuring time of each loop (split over ``rounds`` rounds).
        rounds: how many rounds each loop ran; the best is reported.
        anchor_per_second: bare asyncio round trips per second.
        sspi_per_second: queued async SSPI calls (with notify callback) per second, deferred
            completion (the default).
        ratio: SSPI call cost / round-trip cost (``anchor_per_second / sspi_per_second``).
        eager_per_second: the same SSPI loop with ``completion="eager"``.
        eager_ratio: its cost ratio.
        goal_ratio: the goal for ``ratio``.
        within_goal: whether ``ratio <= goal_ratio``.
        structlog_configured: True if structlog was configured (then logging cost is included).
    """

    python: str
    implementation: str
    platform: str
    seconds: float
    rounds: int
    anchor_per_second: float
    sspi_per_second: float
    ratio: float
    eager_per_second: float
    eager_ratio: float
    goal_ratio: float
    within_goal: bool
    structlog_configured: bool

    def as_dict(self) -> dict[str, object]:
        """The result as a JSON-ready dict (the field names above)."""
        return asdict(self)


class _Box:
    """The notify callback's data: the future of the current iteration."""

    __slots__ = ("future",)

    def __init__(self, future: asyncio.Future[None]) -> None:
        self.future = future


def _wake(actx: SspiAsyncContext, box: _Box) -> None:
    """Notify callback: resolve the current iteration's future."""
    box.future.set_result(None)


async def _anchor_round(seconds: float) -> float:
    """Bare asyncio round trips per second, measured for ``seconds``."""
    loop = asyncio.get_running_loop()
    count = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(_BATCH):
            fut: asyncio.Future[None] = loop.create_future()
            loop.call_soon(fut.set_result, None)
            await fut
        count += _BATCH
        now = time.perf_counter()
        if now >= deadline:
            return count / (now - start)


async def _sspi_round(seconds: float, settings: EmulatorSettings) -> float:
    """Queued no-op async SSPI calls per second under ``settings``, measured for ``seconds``.

    Raises:
        RuntimeError: the calls did not behave as the benchmark assumes (queue ``SEC_E_OK``,
            result ``SEC_E_INVALID_HANDLE``, reinit ``STATUS_SUCCESS``).
    """
    loop = asyncio.get_running_loop()
    async with Emulator(settings):
        actx = await SspiCreateAsyncContext()
        box = _Box(loop.create_future())
        cred = CredHandle()  # never acquired: the call completes SEC_E_INVALID_HANDLE
        await SspiSetAsyncNotifyCallback(actx, _wake, box)
        # One checked call first, so the timed loop measures what it claims to.
        reinit = await SspiReinitAsyncContext(actx)
        queued = await SspiFreeCredentialsHandleAsync(actx, cred)
        await box.future
        result = await SspiGetAsyncCallStatus(actx)
        if (reinit, queued, result) != (STATUS_SUCCESS, SEC_E_OK, SEC_E_INVALID_HANDLE):
            raise RuntimeError(
                "dispatch benchmark: unexpected statuses "
                f"(reinit {reinit:#x}, queue {queued:#x}, result {result:#x})"
            )
        count = 0
        start = time.perf_counter()
        deadline = start + seconds
        while True:
            for _ in range(_BATCH):
                box.future = loop.create_future()
                await SspiReinitAsyncContext(actx)
                await SspiFreeCredentialsHandleAsync(actx, cred)
                await box.future
            count += _BATCH
            now = time.perf_counter()
            if now >= deadline:
                break
        await SspiFreeAsyncContext(actx)
    return count / (now - start)


async def _measure(seconds: float, progress: Progress | None = None) -> DispatchResult:
    deferred = EmulatorSettings()
    eager = EmulatorSettings(completion="eager")
    loops: dict[str, Callable[[float], Awaitable[float]]] = {
        "anchor": _anchor_round,
        "deferred": lambda s: _sspi_round(s, deferred),
        "eager": lambda s: _sspi_round(s, eager),
    }
    best = await best_of_rounds(
        loops,
        warmup=min(0.2, seconds / 10),
        window=seconds / ROUNDS,
        rounds=ROUNDS,
        progress=progress,
    )
    ratio = best["anchor"] / best["deferred"]
    return DispatchResult(
        python=platform.python_version(),
        implementation=platform.python_implementation(),
        platform=platform.platform(),
        seconds=seconds,
        rounds=ROUNDS,
        anchor_per_second=round(best["anchor"], 1),
        sspi_per_second=round(best["deferred"], 1),
        ratio=round(ratio, 3),
        eager_per_second=round(best["eager"], 1),
        eager_ratio=round(best["anchor"] / best["eager"], 3),
        goal_ratio=GOAL_RATIO,
        within_goal=ratio <= GOAL_RATIO,
        structlog_configured=structlog.is_configured(),
    )


def measure_dispatch(
    seconds: float = DEFAULT_SECONDS, progress: Progress | None = None
) -> DispatchResult:
    """Run the benchmark in a fresh event loop (``asyncio.run``) and return the figures.

    Args:
        seconds: measuring time of each loop (must be > 0), split over :data:`ROUNDS` rounds.
        progress: told about each measurement as it starts.

    Raises:
        ValueError: ``seconds`` is not positive.
    """
    if not seconds > 0:
        raise ValueError(f"seconds must be > 0, not {seconds!r}")
    return asyncio.run(_measure(seconds, progress))


def format_report(result: DispatchResult) -> str:
    """The human-readable report: environment, the three loops side by side, the goal."""
    verdict = "met" if result.within_goal else "NOT met"
    lines = [
        "sspi_async dispatch benchmark",
        f"python    {result.implementation} {result.python} ({sys.executable})",
        f"platform  {result.platform}",
        f"method    best of {result.rounds} interleaved rounds, {result.seconds:g} s per loop",
    ]
    if result.structlog_configured:
        lines.append("warning   structlog is configured: figures include logging cost")
    lines += [
        "",
        f"{'loop':<44}{'per second':>14}{'cost ratio':>12}",
        f"{'(a) bare asyncio round trip (anchor)':<44}{result.anchor_per_second:>14,.0f}{1.0:>11.2f}x",
        f"{'(b) async SSPI call + notify (deferred)':<44}{result.sspi_per_second:>14,.0f}{result.ratio:>11.2f}x",
        f"{'    async SSPI call + notify (eager)':<44}{result.eager_per_second:>14,.0f}{result.eager_ratio:>11.2f}x",
        "",
        f"(c) ratio {result.ratio:.2f}x; goal <= {result.goal_ratio:g}x: {verdict}",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------- the bench commands

#: The ``bench`` sub-commands, in the order ``--help`` lists them.
BENCHMARKS: Final = ("dispatch", "handshake", "throughput")
_MAX_SECONDS: Final = 600.0


def _positive_seconds(text: str) -> float:
    """``--seconds`` / ``--duration``: a positive number of seconds, at most 600."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= _MAX_SECONDS:
        raise argparse.ArgumentTypeError(
            f"must be a number of seconds > 0 and <= {_MAX_SECONDS:g}, not {text!r}"
        )
    return value


def _int_range(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = low - 1
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"must be an integer from {low} to {high}, not {text!r}"
            )
        return value

    return parse


def _add_common(parser: argparse.ArgumentParser, default: float, what: str) -> None:
    parser.add_argument(
        "--duration",
        "--seconds",
        dest="duration",
        type=_positive_seconds,
        default=default,
        metavar="S",
        help=f"measuring time of each {what} in seconds, split over the rounds (default {default:g})",
    )
    parser.add_argument(
        "--rounds",
        type=_int_range(1, 20),
        default=handshake_bench.DEFAULT_ROUNDS,
        metavar="N",
        help=f"interleaved rounds, the best reported (default {handshake_bench.DEFAULT_ROUNDS})",
    )
    parser.add_argument(
        "--key-type",
        choices=("ec", "rsa"),
        default="ec",
        help="server certificate key: ec (ECDSA P-256, default) or rsa (RSA 2048)",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    _add_progress(parser)


def _add_progress(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="report each measurement on stderr as it starts (default: only on a terminal)",
    )


def add_benchmarks(benchmarks: Any) -> None:
    """Add ``dispatch``, ``handshake`` and ``throughput`` to the ``bench`` sub-parsers action."""
    dispatch = benchmarks.add_parser(
        "dispatch",
        help="async SSPI call + notify vs. a bare asyncio round trip",
        description=(
            "Measure no-op queued async SSPI calls with a notify callback per second against "
            f"bare asyncio future round trips per second, and their cost ratio (goal <= {GOAL_RATIO:g}x)."
        ),
    )
    dispatch.add_argument(
        "--seconds",
        type=_positive_seconds,
        default=DEFAULT_SECONDS,
        metavar="S",
        help=f"measuring time of each loop in seconds (default {DEFAULT_SECONDS:g})",
    )
    dispatch.add_argument(
        "--json", action="store_true", help="print the figures as one JSON object"
    )
    _add_progress(dispatch)

    handshake = benchmarks.add_parser(
        "handshake",
        help="Schannel handshakes/s vs. raw OpenSSL and asyncio TLS, and event-loop lag",
        description=(
            "Measure, side by side in one run: (a) raw OpenSSL handshakes/s (SSLObject pairs over "
            "MemoryBIO, one thread; the anchor); (a2) the same from --workers threads at once (the "
            "machine's ceiling for (c)); (b) the emulator's sequential handshakes/s with "
            f"crypto_workers=0 (goal >= {handshake_bench.GOAL_SEQUENTIAL:g}x (a)); (c) its "
            "handshakes/s with --concurrency handshakes in flight and crypto_workers=--workers "
            f"(goal >= {handshake_bench.GOAL_CONCURRENT:g}x (a)); (d) the largest event-loop lag "
            f"during (c) (goal < {handshake_bench.GOAL_LAG_MS:g} ms); (e) asyncio's own TLS on "
            "loopback with the same concurrency, and its lag (the asyncio anchor). TLS 1.3 only."
        ),
    )
    _add_common(handshake, handshake_bench.DEFAULT_DURATION, "measurement")
    handshake.add_argument(
        "--concurrency",
        type=_int_range(1, 1024),
        default=handshake_bench.DEFAULT_CONCURRENCY,
        metavar="N",
        help=f"handshakes in flight in (c) and (e) (default {handshake_bench.DEFAULT_CONCURRENCY})",
    )
    handshake.add_argument(
        "--workers",
        type=_int_range(0, 64),
        default=handshake_bench.DEFAULT_WORKERS,
        metavar="N",
        help=f"crypto_workers in (c) (default {handshake_bench.DEFAULT_WORKERS})",
    )

    throughput = benchmarks.add_parser(
        "throughput",
        help="EncryptMessage + DecryptMessage MB/s vs. raw OpenSSL",
        description=(
            "Measure MB/s of plaintext through flat EncryptMessage (client) + DecryptMessage "
            "(server) of full records against raw SSLObject.write + peer SSLObject.read over "
            "MemoryBIO with the same TLS 1.3 suite (goal >= "
            f"{throughput_bench.GOAL_RATIO:g}x); SecurityContext.encrypt/.decrypt for information."
        ),
    )
    _add_common(throughput, throughput_bench.DEFAULT_DURATION, "loop")
    throughput.add_argument(
        "--record-size",
        type=_int_range(1, throughput_bench.MAX_RECORD_SIZE),
        default=throughput_bench.DEFAULT_RECORD_SIZE,
        metavar="BYTES",
        help=f"plaintext bytes per record (default {throughput_bench.DEFAULT_RECORD_SIZE})",
    )


def run_benchmark(args: argparse.Namespace, emit: Callable[[str], None]) -> int:
    """Run the benchmark ``args.benchmark`` names and ``emit`` its report; returns 0 (a
    benchmark reports its goals, it never fails on them)."""
    result: DispatchResult | handshake_bench.HandshakeResult | throughput_bench.ThroughputResult
    line = ProgressLine(sys.stderr, f"bench {args.benchmark}")
    progress = line if args.progress or (args.progress is None and sys.stderr.isatty()) else None
    try:
        result, text = _measure_one(args, progress)
    finally:
        line.close()
    emit(json.dumps(result.as_dict(), indent=2) if args.json else text)
    return 0


def _measure_one(
    args: argparse.Namespace, progress: Progress | None
) -> tuple[
    DispatchResult | handshake_bench.HandshakeResult | throughput_bench.ThroughputResult, str
]:
    """Run the benchmark ``args`` names: its result and its text report."""
    result: DispatchResult | handshake_bench.HandshakeResult | throughput_bench.ThroughputResult
    if args.benchmark == "dispatch":
        result = measure_dispatch(args.seconds, progress)
        text = format_report(result)
    elif args.benchmark == "handshake":
        result = handshake_bench.measure_handshakes(
            handshake_bench.HandshakeOptions(
                duration=args.duration,
                concurrency=args.concurrency,
                workers=args.workers,
                key_type=args.key_type,
                rounds=args.rounds,
            ),
            progress,
        )
        text = handshake_bench.format_handshake_report(result)
    else:
        result = throughput_bench.measure_throughput(
            throughput_bench.ThroughputOptions(
                duration=args.duration,
                record_size=args.record_size,
                rounds=args.rounds,
                key_type=args.key_type,
            ),
            progress,
        )
        text = throughput_bench.format_throughput_report(result)
    return result, text
