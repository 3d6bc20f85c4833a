"""The handshake benchmark: Schannel handshakes through the emulator next to raw OpenSSL and asyncio.

Five figures, measured in the same run on the same certificates (TLS 1.3 only, an ECDSA P-256
or RSA-2048 server certificate issued by an ephemeral CA, ``sspi_async.testing``):

* **(a) anchor** — raw OpenSSL: a client and a server :class:`ssl.SSLObject` over
  :class:`ssl.MemoryBIO` pairs, driven to completion in one thread, the client then reading the
  server's session tickets. The physical floor: every byte of cryptography and no dispatch.
* **(a2) ceiling** — the same raw handshakes from ``--workers`` threads at once (``ssl`` releases
  the GIL inside OpenSSL): what this machine's cores give for the work with no dispatch at all,
  the most (c) could ever reach here.
* **(b)** — the emulator, sequential, ``crypto_workers=0`` (package steps inline on the loop):
  credentials acquired once, then per handshake ``client_context``/``server_context``,
  ``sspi_async.handshake`` (every step through the queued async SSPI calls) and ``aclose`` of
  both contexts. Goal: at least :data:`GOAL_SEQUENTIAL` × (a).
* **(c)** — the emulator with ``--concurrency`` handshakes in flight and ``crypto_workers =
  --workers`` (package steps in worker threads). Goal: at least :data:`GOAL_CONCURRENT` × (a).
* **(d)** — the largest event-loop lag seen during (c): a ticker task sleeps :data:`TICK` and
  records how late it wakes up. Goal: below :data:`GOAL_LAG_MS` ms.
* **(f) and (g) floors** — the thinnest code with the shape of async SSPI (``_bench_floors``):
  the same OpenSSL work as (b) and (c), each ISC/ASC step and delete a queued call completed on a
  later loop turn, the steps of (g) in ``--workers`` threads, and nothing of the emulator's rules.
  (f) is sequential, (g) runs ``--concurrency`` at once (its loop lag is measured as in (d)). No
  implementation can beat them here: a goal above a floor cannot be met on this machine.
* **(e) asyncio anchor** — asyncio's own TLS (``asyncio.start_server(ssl=...)`` and
  ``asyncio.open_connection(ssl=...)`` on 127.0.0.1, same certificates), with the same
  concurrency: handshakes per second (each connection: TCP connect, handshake, close_notify
  exchange) and its largest loop lag, measured the same way.

Method: after a warm-up of each, the measurements take turns for ``rounds`` rounds, each window
lasting ``duration / rounds``; the best rate of each is reported. Every emulator round uses a
fresh emulator and fresh credentials, warmed by one handshake before the clock starts (the first
handshake on a credential builds its OpenSSL contexts; the raw and asyncio anchors build theirs
once, before everything). That first handshake is reported on its own, since it runs on the event
loop. The concurrent measurements start their tasks a ramp-up period before the window opens and
count only handshakes completed inside it; the ticker runs throughout (ramp-up, window and
drain), and the lag figures pool every round.

This module is the measuring code behind ``sspi-async bench handshake`` and
``benchmarks/handshake.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import ssl
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Final, Literal

import structlog

from sspi_async import (
    Credentials,
    Emulator,
    EmulatorSettings,
    SchannelCred,
    acquire_credentials,
    handshake,
)
from sspi_async.sspi import SECPKG_ATTR_CIPHER_INFO, SecPkgContext_CipherInfo
from sspi_async.testing import CertificateAuthority

from ._bench_floors import floor_handshake
from ._progress import Progress, best_of_rounds

__all__ = (
    "DEFAULT_CONCURRENCY",
    "DEFAULT_DURATION",
    "DEFAULT_ROUNDS",
    "DEFAULT_WORKERS",
    "GOAL_CONCURRENT",
    "GOAL_LAG_MS",
    "GOAL_SEQUENTIAL",
    "HandshakeOptions",
    "HandshakeResult",
    "RawPair",
    "TlsSetup",
    "format_handshake_report",
    "measure_handshakes",
    "raw_handshake",
)

#: Default measuring time of each measurement, in seconds (split over the rounds).
DEFAULT_DURATION: Final = 2.0
#: Default number of handshakes in flight in (c) and (e).
DEFAULT_CONCURRENCY: Final = 64
#: Default ``crypto_workers`` in (c).
DEFAULT_WORKERS: Final = 2
#: Default number of interleaved rounds; the best one is reported.
DEFAULT_ROUNDS: Final = 3
#: Goal of (b): sequential emulator handshakes per second / raw OpenSSL handshakes per second.
GOAL_SEQUENTIAL: Final = 0.9
#: Goal of (c): concurrent emulator handshakes per second / raw OpenSSL handshakes per second.
GOAL_CONCURRENT: Final = 1.5
#: Goal of (d): the largest event-loop lag during (c), in milliseconds.
GOAL_LAG_MS: Final = 5.0
#: The ticker's sleep, in seconds.
TICK: Final = 0.001
#: The host name in the certificate and in ``pszTargetName`` / ``server_hostname``.
HOST: Final = "localhost"

KeyType = Literal["ec", "rsa"]
_KEY_NAMES: Final = {"ec": "ECDSA P-256", "rsa": "RSA 2048"}


@dataclass(frozen=True, slots=True)
class HandshakeOptions:
    """What to measure.

    Attributes:
        duration: measuring time of each measurement in seconds (split over ``rounds``).
        concurrency: handshakes in flight in (c) and (e).
        workers: ``crypto_workers`` in (c).
        key_type: the server certificate's key: ``"ec"`` (P-256) or ``"rsa"`` (2048 bits).
        rounds: interleaved rounds; the best rate of each measurement is reported.
    """

    duration: float = DEFAULT_DURATION
    concurrency: int = DEFAULT_CONCURRENCY
    workers: int = DEFAULT_WORKERS
    key_type: KeyType = "ec"
    rounds: int = DEFAULT_ROUNDS

    def __post_init__(self) -> None:
        if not self.duration > 0:
            raise ValueError(f"duration must be > 0, not {self.duration!r}")
        if self.concurrency < 1 or self.workers < 0 or self.rounds < 1:
            raise ValueError("concurrency and rounds must be >= 1 and workers >= 0")
        if self.key_type not in _KEY_NAMES:
            raise ValueError(f"key_type must be 'ec' or 'rsa', not {self.key_type!r}")


@dataclass(frozen=True, slots=True)
class HandshakeResult:
    """One benchmark run (rates in handshakes per second, lags in milliseconds).

    Attributes:
        python, implementation, platform, cpus: the environment.
        duration, rounds, concurrency, workers, key_type: the options.
        certificate: the server key, e.g. ``"ECDSA P-256"``.
        protocol, cipher_suite: what the raw anchor negotiated (``"TLSv1.3"``, IANA name).
        emulator_cipher_suite: what the emulator negotiated (``szCipherSuite``).
        first_handshake_ms: the first emulator handshake on fresh credentials, which builds
            their OpenSSL contexts on the event loop (excluded from every other figure).
        raw_per_second: (a).
        raw_threads_per_second, raw_threads_ratio: (a2), raw OpenSSL in ``workers`` threads at
            once: the machine's ceiling for (c).
        sequential_per_second, sequential_ratio, sequential_goal, sequential_met: (b).
        concurrent_per_second, concurrent_ratio, concurrent_goal, concurrent_met: (c).
        concurrent_max_lag_ms, lag_goal_ms, lag_met: (d), over the whole concurrent runs
            (ramp-up with every first step queued at once, window, drain).
        concurrent_steady_max_lag_ms, concurrent_p99_lag_ms: (d) inside the windows only.
        floor_per_second, floor_ratio: (f), the thinnest async-SSPI shape, sequential.
        floor_concurrent_per_second, floor_concurrent_ratio: (g), the same with ``concurrency``
            in flight and its steps in ``workers`` threads.
        floor_max_lag_ms, floor_p99_lag_ms: the loop lag during (g), as for (d).
        asyncio_per_second, asyncio_ratio: (e).
        asyncio_max_lag_ms, asyncio_steady_max_lag_ms, asyncio_p99_lag_ms: (e)'s lag, likewise.
        structlog_configured: True if structlog was configured (then logging cost is included).
    """

    python: str
    implementation: str
    platform: str
    cpus: int
    duration: float
    rounds: int
    concurrency: int
    workers: int
    key_type: str
    certificate: str
    protocol: str
    cipher_suite: str
    emulator_cipher_suite: str
    first_handshake_ms: float
    raw_per_second: float
    raw_threads_per_second: float
    raw_threads_ratio: float
    sequential_per_second: float
    sequential_ratio: float
    sequential_goal: float
    sequential_met: bool
    concurrent_per_second: float
    concurrent_ratio: float
    concurrent_goal: float
    concurrent_met: bool
    concurrent_max_lag_ms: float
    concurrent_steady_max_lag_ms: float
    concurrent_p99_lag_ms: float
    lag_goal_ms: float
    lag_met: bool
    floor_per_second: float
    floor_ratio: float
    floor_concurrent_per_second: float
    floor_concurrent_ratio: float
    floor_max_lag_ms: float
    floor_p99_lag_ms: float
    asyncio_per_second: float
    asyncio_ratio: float
    asyncio_max_lag_ms: float
    asyncio_steady_max_lag_ms: float
    asyncio_p99_lag_ms: float
    structlog_configured: bool

    def as_dict(self) -> dict[str, object]:
        """The result as a JSON-ready dict (the field names above)."""
        return asdict(self)


# --------------------------------------------------------------------------- certificates


@dataclass(frozen=True, slots=True)
class TlsSetup:
    """The certificates of one run, as emulator credentials and as raw OpenSSL contexts.

    Attributes:
        key_type: ``"ec"`` or ``"rsa"``.
        server_cred: the server's Schannel credential data (TLS 1.3 only).
        client_cred: the client's (trusts the ephemeral CA; TLS 1.3 only).
        server_context: the raw OpenSSL server context (same chain and key, TLS 1.3 only).
        client_context: the raw OpenSSL client context (same roots, host name checked).
    """

    key_type: KeyType
    server_cred: SchannelCred
    client_cred: SchannelCred
    server_context: ssl.SSLContext
    client_context: ssl.SSLContext

    @classmethod
    def create(cls, key_type: KeyType = "ec") -> TlsSetup:
        """Issue a CA and a ``localhost`` server certificate and build both sides of both stacks.

        The raw server context loads the chain and key from files (``load_cert_chain`` reads
        only files) in a private temporary directory, removed before this returns.
        """
        authority = CertificateAuthority(key_type=key_type)
        issued = authority.issue(HOST)
        server_cred = issued.schannel_cred(enabled_protocols=("tls1.3",))
        client_cred = SchannelCred(trusted_roots=authority.cert_pem, enabled_protocols=("tls1.3",))
        server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        client_context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED, check_hostname
        for context in (server_context, client_context):
            context.minimum_version = ssl.TLSVersion.TLSv1_3
            context.maximum_version = ssl.TLSVersion.TLSv1_3
        with tempfile.TemporaryDirectory(prefix="sspi-async-bench-") as folder:
            cert_path, key_path = issued.write(Path(folder), "server")
            server_context.load_cert_chain(cert_path, key_path)
        client_context.load_verify_locations(cadata=authority.cert_pem.decode("ascii"))
        return cls(key_type, server_cred, client_cred, server_context, client_context)


# --------------------------------------------------------------------------- (a) raw OpenSSL


def _advance(side: ssl.SSLObject) -> bool:
    """One ``do_handshake`` call; True once that side finished."""
    try:
        side.do_handshake()
    except ssl.SSLWantReadError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class RawPair:
    """A client and a server ``SSLObject`` and the memory BIOs between them."""

    client: ssl.SSLObject
    server: ssl.SSLObject
    client_in: ssl.MemoryBIO
    client_out: ssl.MemoryBIO
    server_in: ssl.MemoryBIO
    server_out: ssl.MemoryBIO


def raw_handshake(setup: TlsSetup) -> RawPair:
    """One complete handshake between raw ``SSLObject``\\ s over memory BIOs, in this thread.

    The client then reads what the server sent last (TLS 1.3 session tickets), as
    ``sspi_async.handshake`` makes the emulator's client do.
    """
    client_in, client_out = ssl.MemoryBIO(), ssl.MemoryBIO()
    server_in, server_out = ssl.MemoryBIO(), ssl.MemoryBIO()
    client = setup.client_context.wrap_bio(client_in, client_out, server_hostname=HOST)
    server = setup.server_context.wrap_bio(server_in, server_out, server_side=True)
    client_done = server_done = False
    while not (client_done and server_done):
        if not client_done:
            client_done = _advance(client)
            server_in.write(client_out.read())
        if not server_done:
            server_done = _advance(server)
            client_in.write(server_out.read())
    if client_in.pending:
        with contextlib.suppress(ssl.SSLWantReadError):
            client.read(16384)
    return RawPair(client, server, client_in, client_out, server_in, server_out)


async def _raw_round(seconds: float, setup: TlsSetup) -> float:
    """Raw OpenSSL handshakes per second, for ``seconds`` (blocks the loop: nothing else runs)."""
    count = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        raw_handshake(setup)
        count += 1
        now = time.perf_counter()
        if now >= deadline:
            return count / (now - start)


def _raw_threads(seconds: float, setup: TlsSetup, threads: int) -> float:
    """Raw OpenSSL handshakes per second from ``threads`` threads at once (blocking).

    ``ssl`` releases the GIL inside OpenSSL, so this is what the machine's cores give for this
    work with no dispatch at all: the ceiling any concurrent figure can reach here.
    """
    counts = [0] * threads
    deadline = time.perf_counter() + seconds

    def work(slot: int) -> None:
        while time.perf_counter() < deadline:
            raw_handshake(setup)
            counts[slot] += 1

    start = time.perf_counter()
    pool = [threading.Thread(target=work, args=(slot,)) for slot in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return sum(counts) / (time.perf_counter() - start)


async def _raw_threads_round(seconds: float, setup: TlsSetup, threads: int) -> float:
    """(a2): :func:`_raw_threads` with one thread per crypto worker (blocks the loop)."""
    return _raw_threads(seconds, setup, max(1, threads))


# --------------------------------------------------------------------------- emulator


async def _emulator_handshake(client: Credentials, server: Credentials) -> None:
    """One handshake through the Pythonic API: two contexts, ``handshake``, both closed."""
    client_ctx = client.client_context(target_name=HOST)
    server_ctx = server.server_context()
    try:
        await handshake(client_ctx, server_ctx)
    finally:
        await client_ctx.aclose()
        await server_ctx.aclose()


async def _acquire_pair(setup: TlsSetup) -> tuple[Credentials, Credentials]:
    client = await acquire_credentials("Schannel", "outbound", setup.client_cred)
    server = await acquire_credentials("Schannel", "inbound", setup.server_cred)
    return client, server


async def _first_handshake(setup: TlsSetup) -> tuple[str, float]:
    """The first handshake on fresh credentials: the suite the emulator negotiates
    (``szCipherSuite``) and how long that handshake took in seconds. It builds the credentials'
    OpenSSL contexts, which happens on the event loop; the measurements below exclude it (each
    round warms its fresh credentials with one handshake first)."""
    async with Emulator(EmulatorSettings(crypto_workers=0)):
        client, server = await _acquire_pair(setup)
        client_ctx = client.client_context(target_name=HOST)
        server_ctx = server.server_context()
        start = time.perf_counter()
        await handshake(client_ctx, server_ctx)
        elapsed = time.perf_counter() - start
        info = client_ctx.query(SECPKG_ATTR_CIPHER_INFO)
        await client_ctx.aclose()
        await server_ctx.aclose()
        await client.aclose()
        await server.aclose()
    suite = info.szCipherSuite if isinstance(info, SecPkgContext_CipherInfo) else "?"
    return suite, elapsed


async def _warm_pair(setup: TlsSetup) -> tuple[Credentials, Credentials]:
    """Acquire credentials and run one handshake on them (builds their OpenSSL contexts)."""
    client, server = await _acquire_pair(setup)
    await _emulator_handshake(client, server)
    return client, server


async def _sequential_round(seconds: float, setup: TlsSetup) -> float:
    """(b): emulator handshakes per second, one at a time, ``crypto_workers=0``."""
    async with Emulator(EmulatorSettings(crypto_workers=0)):
        client, server = await _warm_pair(setup)
        count = 0
        start = time.perf_counter()
        deadline = start + seconds
        while True:
            await _emulator_handshake(client, server)
            count += 1
            now = time.perf_counter()
            if now >= deadline:
                break
        await client.aclose()
        await server.aclose()
    return count / (now - start)


async def _floor_round(seconds: float, setup: TlsSetup) -> float:
    """(f): thinnest async-SSPI-shaped handshakes per second, one at a time."""
    count = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        await floor_handshake(setup.client_context, setup.server_context, HOST)
        count += 1
        now = time.perf_counter()
        if now >= deadline:
            return count / (now - start)


# --------------------------------------------------------------------------- concurrency + lag


class _Ticker:
    """Records how late a task that sleeps :data:`TICK` wakes up: the event loop's lag.

    ``samples`` holds ``(when the sleep started, lateness)`` pairs, in seconds.
    """

    __slots__ = ("running", "samples")

    def __init__(self) -> None:
        self.samples: list[tuple[float, float]] = []
        self.running = True

    async def run(self) -> None:
        clock = time.perf_counter
        while self.running:
            before = clock()
            await asyncio.sleep(TICK)
            self.samples.append((before, max(0.0, clock() - before - TICK)))


@dataclass(slots=True)
class _Lags:
    """Lag samples (seconds) of the concurrent rounds: all of them, and those of the windows."""

    whole: list[float]
    window: list[float]


async def _concurrent(
    seconds: float, concurrency: int, one: Callable[[], Awaitable[None]], lags: _Lags
) -> float:
    """Run ``one`` in ``concurrency`` loops; return completions per second inside the window.

    The loops start a ramp-up period before the window (which opens with ``concurrency``
    first steps queued at once) and drain after it. The ticker's samples of the whole run go to
    ``lags.whole``, those taken inside the window to ``lags.window``.
    """
    ramp = min(0.25, seconds / 2)
    state = {"counting": False, "stop": False, "count": 0}
    counted = asyncio.Event()  # a window that closes with nothing counted waits for the first

    async def loop() -> None:
        while not state["stop"]:
            await one()
            if state["counting"]:
                state["count"] += 1
                counted.set()

    ticker = _Ticker()
    tick_task = asyncio.ensure_future(ticker.run())
    tasks = [asyncio.ensure_future(loop()) for _ in range(concurrency)]
    try:
        await asyncio.sleep(ramp)
        state["count"], state["counting"] = 0, True
        start = time.perf_counter()
        await asyncio.sleep(seconds)
        if not state["count"]:
            # A very short window (or a very slow machine) ended before any handshake that
            # started in time finished: stretch it to the first completion, so the rate is real.
            await counted.wait()
        state["counting"] = False
        end = time.perf_counter()
        completed = state["count"]
        state["stop"] = True
        await asyncio.gather(*tasks)
    finally:
        state["stop"] = True
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        ticker.running = False
        await tick_task
    lags.whole.extend(lag for _, lag in ticker.samples)
    lags.window.extend(lag for when, lag in ticker.samples if start <= when <= end)
    return completed / (end - start)


async def _emulator_concurrent_round(
    seconds: float, setup: TlsSetup, options: HandshakeOptions, lags: _Lags
) -> float:
    """(c) and (d): concurrent emulator handshakes per second with ``crypto_workers``."""
    async with Emulator(EmulatorSettings(crypto_workers=options.workers)):
        client, server = await _warm_pair(setup)
        rate = await _concurrent(
            seconds, options.concurrency, lambda: _emulator_handshake(client, server), lags
        )
        await client.aclose()
        await server.aclose()
    return rate


async def _floor_one(setup: TlsSetup, pool: ThreadPoolExecutor) -> None:
    await floor_handshake(setup.client_context, setup.server_context, HOST, pool)


async def _floor_concurrent_round(
    seconds: float, setup: TlsSetup, options: HandshakeOptions, lags: _Lags
) -> float:
    """(g): (f) with ``concurrency`` handshakes in flight, steps in ``workers`` threads."""
    with ThreadPoolExecutor(max(1, options.workers)) as pool:
        return await _concurrent(
            seconds,
            options.concurrency,
            lambda: _floor_one(setup, pool),
            lags,
        )


async def _asyncio_round(seconds: float, setup: TlsSetup, concurrency: int, lags: _Lags) -> float:
    """(e): asyncio TLS connections (handshake + close) per second on loopback."""
    handlers: set[asyncio.Task[object]] = set()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        handlers.add(task)
        try:
            await reader.read()  # until the client's close_notify
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, ssl.SSLError):
                await writer.wait_closed()
            handlers.discard(task)

    server = await asyncio.start_server(
        serve, "127.0.0.1", 0, ssl=setup.server_context, backlog=max(100, 2 * concurrency)
    )
    port = server.sockets[0].getsockname()[1]

    async def one() -> None:
        _, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=setup.client_context, server_hostname=HOST
        )
        writer.close()
        with contextlib.suppress(ConnectionError, ssl.SSLError):
            await writer.wait_closed()

    try:
        return await _concurrent(seconds, concurrency, one, lags)
    finally:
        server.close()
        await server.wait_closed()
        while handlers:
            await asyncio.gather(*handlers, return_exceptions=True)


# --------------------------------------------------------------------------- the run


def _percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def _measure(
    options: HandshakeOptions, setup: TlsSetup, progress: Progress | None = None
) -> HandshakeResult:
    emulator_suite, first = await _first_handshake(setup)
    client = raw_handshake(setup).client
    protocol = client.version() or "?"
    suite = (client.cipher() or ("?",))[0]
    lags = {"concurrent": _Lags([], []), "asyncio": _Lags([], []), "floor": _Lags([], [])}

    def forget_warmup_lags() -> None:
        for pooled in lags.values():
            pooled.whole.clear()
            pooled.window.clear()

    loops: dict[str, Callable[[float], Awaitable[float]]] = {
        "raw": lambda s: _raw_round(s, setup),
        "raw_threads": lambda s: _raw_threads_round(s, setup, options.workers),
        "sequential": lambda s: _sequential_round(s, setup),
        "concurrent": lambda s: _emulator_concurrent_round(s, setup, options, lags["concurrent"]),
        "floor": lambda s: _floor_round(s, setup),
        "floor_concurrent": lambda s: _floor_concurrent_round(s, setup, options, lags["floor"]),
        "asyncio": lambda s: _asyncio_round(s, setup, options.concurrency, lags["asyncio"]),
    }
    best = await best_of_rounds(
        loops,
        warmup=min(0.2, options.duration / 10),
        window=options.duration / options.rounds,
        rounds=options.rounds,
        progress=progress,
        after_warmup=forget_warmup_lags,  # the warm-ups' lag samples are not figures
    )
    raw = best["raw"]
    sequential = best["sequential"] / raw
    concurrent = best["concurrent"] / raw
    ours, theirs, floor = lags["concurrent"], lags["asyncio"], lags["floor"]
    max_lag = _ms(max(ours.whole, default=0.0))
    return HandshakeResult(
        python=platform.python_version(),
        implementation=platform.python_implementation(),
        platform=platform.platform(),
        cpus=os.cpu_count() or 0,
        duration=options.duration,
        rounds=options.rounds,
        concurrency=options.concurrency,
        workers=options.workers,
        key_type=options.key_type,
        certificate=_KEY_NAMES[options.key_type],
        protocol=protocol,
        cipher_suite=suite,
        emulator_cipher_suite=emulator_suite,
        first_handshake_ms=_ms(first),
        raw_per_second=round(raw, 1),
        raw_threads_per_second=round(best["raw_threads"], 1),
        raw_threads_ratio=round(best["raw_threads"] / raw, 3),
        sequential_per_second=round(best["sequential"], 1),
        sequential_ratio=round(sequential, 3),
        sequential_goal=GOAL_SEQUENTIAL,
        sequential_met=sequential >= GOAL_SEQUENTIAL,
        concurrent_per_second=round(best["concurrent"], 1),
        concurrent_ratio=round(concurrent, 3),
        concurrent_goal=GOAL_CONCURRENT,
        concurrent_met=concurrent >= GOAL_CONCURRENT,
        concurrent_max_lag_ms=max_lag,
        concurrent_steady_max_lag_ms=_ms(max(ours.window, default=0.0)),
        concurrent_p99_lag_ms=_ms(_percentile(ours.window, 0.99)),
        lag_goal_ms=GOAL_LAG_MS,
        lag_met=max_lag < GOAL_LAG_MS,
        floor_per_second=round(best["floor"], 1),
        floor_ratio=round(best["floor"] / raw, 3),
        floor_concurrent_per_second=round(best["floor_concurrent"], 1),
        floor_concurrent_ratio=round(best["floor_concurrent"] / raw, 3),
        floor_max_lag_ms=_ms(max(floor.whole, default=0.0)),
        floor_p99_lag_ms=_ms(_percentile(floor.window, 0.99)),
        asyncio_per_second=round(best["asyncio"], 1),
        asyncio_ratio=round(best["asyncio"] / raw, 3),
        asyncio_max_lag_ms=_ms(max(theirs.whole, default=0.0)),
        asyncio_steady_max_lag_ms=_ms(max(theirs.window, default=0.0)),
        asyncio_p99_lag_ms=_ms(_percentile(theirs.window, 0.99)),
        structlog_configured=structlog.is_configured(),
    )


def _ms(seconds: float) -> float:
    return round(seconds * 1e3, 3)


def measure_handshakes(
    options: HandshakeOptions | None = None, progress: Progress | None = None
) -> HandshakeResult:
    """Run the benchmark in a fresh event loop (``asyncio.run``) and return the figures;
    ``progress`` is told about each measurement as it starts."""
    options = options or HandshakeOptions()
    setup = TlsSetup.create(options.key_type)
    return asyncio.run(_measure(options, setup, progress))


def _verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def format_handshake_report(result: HandshakeResult) -> str:
    """The human-readable report: environment, the five figures side by side, the goals."""
    r = result
    width = 58
    lines = [
        "sspi_async handshake benchmark (Schannel through the async SSPI calls)",
        f"python    {r.implementation} {r.python} ({sys.executable})",
        f"platform  {r.platform}, {r.cpus} CPUs",
        f"tls       {r.protocol} {r.cipher_suite}, {r.certificate} server certificate "
        f"(emulator negotiated {r.emulator_cipher_suite})",
        f"method    best of {r.rounds} interleaved rounds, {r.duration:g} s per measurement; "
        f"{r.concurrency} in flight in (c) and (e)",
    ]
    if r.emulator_cipher_suite != r.cipher_suite:
        lines.append("warning   the emulator and the anchor negotiated different suites")
    if r.structlog_configured:
        lines.append("warning   structlog is configured: figures include logging cost")
    lines += [
        "",
        f"{'measurement':<{width}}{'handshakes/s':>13}{'ratio':>9}  goal",
        f"{'(a) raw OpenSSL SSLObject pair, one thread (anchor)':<{width}}"
        f"{r.raw_per_second:>13,.0f}{1.0:>8.2f}x",
        f"{f'(a2) raw OpenSSL, {max(1, r.workers)} threads at once (ceiling for (c))':<{width}}"
        f"{r.raw_threads_per_second:>13,.0f}{r.raw_threads_ratio:>8.2f}x",
        f"{'(b) emulator, sequential, crypto_workers=0':<{width}}"
        f"{r.sequential_per_second:>13,.0f}{r.sequential_ratio:>8.2f}x"
        f"  >= {r.sequential_goal:g}x: {_verdict(r.sequential_met)}",
        f"{f'(c) emulator, {r.concurrency} concurrent, crypto_workers={r.workers}':<{width}}"
        f"{r.concurrent_per_second:>13,.0f}{r.concurrent_ratio:>8.2f}x"
        f"  >= {r.concurrent_goal:g}x: {_verdict(r.concurrent_met)}",
        f"{f'(e) asyncio TLS on loopback, {r.concurrency} concurrent (asyncio anchor)':<{width}}"
        f"{r.asyncio_per_second:>13,.0f}{r.asyncio_ratio:>8.2f}x",
        f"{'(f) floor: thinnest async-SSPI shape, sequential':<{width}}"
        f"{r.floor_per_second:>13,.0f}{r.floor_ratio:>8.2f}x  the most (b) can reach here",
        f"{f'(g) floor: the same, {r.concurrency} concurrent, {max(1, r.workers)} threads':<{width}}"
        f"{r.floor_concurrent_per_second:>13,.0f}{r.floor_concurrent_ratio:>8.2f}x"
        "  the most (c) can reach here",
        "",
        f"{'event-loop lag (a task sleeping 1 ms)':<{width}}{'max ms':>9}{'steady':>8}"
        f"{'p99':>7}  goal",
        f"{'(d) during (c), the emulator':<{width}}{r.concurrent_max_lag_ms:>9.1f}"
        f"{r.concurrent_steady_max_lag_ms:>8.1f}{r.concurrent_p99_lag_ms:>7.1f}"
        f"  max < {r.lag_goal_ms:g} ms: {_verdict(r.lag_met)}",
        f"{'    during (e), asyncio TLS (asyncio anchor)':<{width}}{r.asyncio_max_lag_ms:>9.1f}"
        f"{r.asyncio_steady_max_lag_ms:>8.1f}{r.asyncio_p99_lag_ms:>7.1f}",
        f"{'    during (g), the floor':<{width}}{r.floor_max_lag_ms:>9.1f}{'':>8}"
        f"{r.floor_p99_lag_ms:>7.1f}",
        "(max: the whole run, ramp-up and drain included; steady and p99: the measuring windows)",
        "",
        f"first emulator handshake on fresh credentials (builds their OpenSSL contexts on the "
        f"event loop; excluded above): {r.first_handshake_ms:.1f} ms",
    ]
    return "\n".join(lines)
