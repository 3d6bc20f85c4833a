"""Soak: many handshakes in a row, at once and cancelled, watching for leaks (SPEC E1, E2).

For each package (Schannel, SimTLS) one ``Emulator`` runs these rounds of ``--n`` handshakes:

* ``api-seq``     — Pythonic API, one at a time: ``client_context``/``server_context``,
  ``sspi_async.handshake``, both contexts closed;
* ``api-conc``    — the same, ``--concurrency`` (64) in flight;
* ``tcp-seq``     — ``SspiTLSStream`` over TCP on 127.0.0.1 (ephemeral port, the script's own
  listener): connect, handshake, 4-byte echo, close_notify both ways, one at a time;
* ``tcp-conc``    — the same, ``--concurrency`` in flight;
* ``api-cancel``  — Pythonic handshakes, one at a time, each cancelled at a random point
  (``anyio.move_on_after`` with a timeout drawn from 0 to 1.5x the mean ``api-seq`` handshake, or
  to ``--cancel-max-ms``), contexts closed afterwards: about a third complete, the rest are cut
  at every step;
* ``tcp-cancel``  — stream connections (handshake and echo) cancelled the same way on the client
  side (timeouts scaled to ``tcp-seq``);
* ``api-cancel-conc``, ``tcp-cancel-conc`` — the same with ``--concurrency`` in flight (timeouts
  scaled to the latency of one handshake in the concurrent round).

Every ``--sample-every`` handshakes it samples the process RSS (``VmRSS``), open file descriptors
(``/proc/self/fd``) and threads (``Threads``, from ``/proc/self/status``). After each round it
waits for the server side to finish, runs the garbage collector and prints
``Emulator.statistics()``; after the package's last round it closes the emulator and prints the
statistics again. The table at the end gives, per round, the rate and the first/last/peak
samples; the last line is ``uptime``. It never asserts: it reports.

Run: ``python benchmarks/soak.py [--n N] [--packages schannel,simtls] [--concurrency C]
[--sample-every K] [--cancel-max-ms MS] [--budget SECONDS] [--seed S]``. Each round stops
starting handshakes once it has used its share of ``--budget`` (90 s), so the default run ends
within about two minutes even on a loaded machine; the table says how many each round started.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field

import anyio
from anyio.abc import SocketStream

from sspi_async import (
    Credentials,
    Emulator,
    SchannelCred,
    SspiError,
    SspiTLSStream,
    acquire_credentials,
    handshake,
)
from sspi_async.testing import CertificateAuthority

SECRET = "soak secret"
ROUND_NAMES = (
    "api-seq",
    "api-conc",
    "tcp-seq",
    "tcp-conc",
    "api-cancel",
    "tcp-cancel",
    "api-cancel-conc",
    "tcp-cancel-conc",
)
PING = b"ping"
#: What ends one connection without ending the soak (the peer went away, a cancelled peer, ...).
CONNECTION_ERRORS = (
    SspiError,
    anyio.BrokenResourceError,
    anyio.ClosedResourceError,
    anyio.EndOfStream,
    OSError,
    TimeoutError,
)


# --------------------------------------------------------------------------- process samples


@dataclass(frozen=True)
class Sample:
    """One look at the process."""

    rss_kib: int
    fds: int
    threads: int


def sample() -> Sample:
    """RSS, open file descriptors and threads of this process, from ``/proc``."""
    fields: dict[str, int] = {}
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "Threads"):
                fields[key] = int(value.split()[0])
    return Sample(fields["VmRSS"], len(os.listdir("/proc/self/fd")), fields["Threads"])


@dataclass
class Round:
    """The figures of one round."""

    package: str
    name: str
    n: int
    seconds: float = 0.0
    completed: int = 0
    failed: int = 0
    samples: list[Sample] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=dict)
    cancel_max: float | None = None  # the cancel rounds' largest timeout, in seconds

    def tick(self, done: int, every: int) -> None:
        if done % every == 0:
            self.samples.append(sample())


# --------------------------------------------------------------------------- credentials


@dataclass(frozen=True)
class Setup:
    """One package's credentials and the name its server answers to."""

    package: str
    client: Credentials
    server: Credentials
    target: str


async def make_setup(package: str, ca: CertificateAuthority | None) -> Setup:
    """Acquire the client and server credentials of ``package`` in the current emulator."""
    if package == "schannel":
        assert ca is not None
        server_cert = ca.issue("localhost")
        client = await acquire_credentials(
            "Schannel", "outbound", SchannelCred(trusted_roots=ca.cert_pem)
        )
        server = await acquire_credentials("Schannel", "inbound", server_cert.schannel_cred())
        return Setup(package, client, server, "localhost")
    client = await acquire_credentials(
        "SimTLS", "outbound", {"principal": "alice", "secret": SECRET}
    )
    server = await acquire_credentials(
        "SimTLS", "inbound", {"principal": "server", "secret": SECRET}
    )
    return Setup(package, client, server, "server")


# --------------------------------------------------------------------------- one handshake


async def api_handshake(setup: Setup) -> None:
    """One in-memory handshake through the Pythonic API; both contexts closed."""
    async with (
        setup.client.client_context(setup.target) as client,
        setup.server.server_context() as server,
    ):
        await handshake(client, server)


async def tcp_handshake(setup: Setup, port: int) -> None:
    """Connect, handshake, echo ``PING``, close (close_notify)."""
    async with AsyncExitStack() as stack:
        sock = await anyio.connect_tcp("127.0.0.1", port)
        stack.push_async_callback(sock.aclose)
        stream = await SspiTLSStream.wrap_client(sock, setup.client, setup.target)
        stack.push_async_callback(stream.aclose)
        await stream.send(PING)
        echoed = await stream.receive()
        if echoed != PING:
            raise SspiError(f"echo mismatch: {echoed!r}")


class Server:
    """The script's TLS echo server; tracks live connections so a round can wait for them."""

    def __init__(self, setup: Setup) -> None:
        self.setup = setup
        self.live = 0
        self.errors = 0
        self._idle = anyio.Event()
        self._idle.set()

    async def handle(self, sock: SocketStream) -> None:
        self.live += 1
        self._idle = anyio.Event() if self.live == 1 else self._idle
        try:
            with anyio.fail_after(30):
                stream = await SspiTLSStream.wrap_server(sock, self.setup.server)
                async with stream:
                    await stream.send(await stream.receive())
                    while await stream.receive():  # until the client's close_notify
                        pass
        except anyio.EndOfStream:
            pass
        except CONNECTION_ERRORS:
            self.errors += 1
        finally:
            await sock.aclose()
            self.live -= 1
            if self.live == 0:
                self._idle.set()

    async def wait_idle(self) -> None:
        """Return once no connection is being served."""
        await self._idle.wait()


# --------------------------------------------------------------------------- rounds


async def run_round(
    result: Round,
    one: Callable[[], Awaitable[None]],
    concurrency: int,
    every: int,
    cancel_max: float | None,
    rng: random.Random,
    seconds: float,
) -> None:
    """Run ``result.n`` calls of ``one``, ``concurrency`` at a time, each optionally under a
    random ``move_on_after`` deadline; stop starting new ones after ``seconds`` (``result.n``
    then says how many were started)."""
    limiter = anyio.Semaphore(concurrency)
    done = 0

    async def worker() -> None:
        nonlocal done
        try:
            if cancel_max is None:
                await one()
            else:
                with anyio.move_on_after(rng.uniform(0, cancel_max)) as scope:
                    await one()
                if scope.cancelled_caught:
                    result.failed += 1
                    return
            result.completed += 1
        except CONNECTION_ERRORS:
            result.failed += 1
        finally:
            limiter.release()
            done += 1
            result.tick(done, every)

    result.samples.append(sample())
    start = time.perf_counter()
    started = 0
    async with anyio.create_task_group() as group:
        while started < result.n and time.perf_counter() - start < seconds:
            await limiter.acquire()
            group.start_soon(worker)
            started += 1
    result.n = started
    result.seconds = time.perf_counter() - start


async def soak_package(package: str, args: argparse.Namespace, rng: random.Random) -> list[Round]:
    """Every round for one package in one emulator; prints statistics as it goes."""
    ca = CertificateAuthority() if package == "schannel" else None
    rounds: list[Round] = []
    emu = Emulator()
    async with emu:
        setup = await make_setup(package, ca)
        server = Server(setup)
        async with anyio.create_task_group() as group:
            listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
            port = listener.extra(anyio.abc.SocketAttribute.local_port)
            group.start_soon(listener.serve, server.handle)
            plan: list[tuple[str, Callable[[], Awaitable[None]], int, str | None]] = [
                ("api-seq", lambda: api_handshake(setup), 1, None),
                ("api-conc", lambda: api_handshake(setup), args.concurrency, None),
                ("tcp-seq", lambda: tcp_handshake(setup, port), 1, None),
                ("tcp-conc", lambda: tcp_handshake(setup, port), args.concurrency, None),
                ("api-cancel", lambda: api_handshake(setup), 1, "api-seq"),
                ("tcp-cancel", lambda: tcp_handshake(setup, port), 1, "tcp-seq"),
                ("api-cancel-conc", lambda: api_handshake(setup), args.concurrency, "api-conc"),
                (
                    "tcp-cancel-conc",
                    lambda: tcp_handshake(setup, port),
                    args.concurrency,
                    "tcp-conc",
                ),
            ]
            assert tuple(name for name, *_ in plan) == ROUND_NAMES
            for name, one, concurrency, like in plan:
                cancel_max = None
                if like is not None:  # cancel points spread over a whole handshake of that kind
                    seq = next(r for r in rounds if r.name == like)
                    latency = seq.seconds / max(seq.n, 1) * min(concurrency, seq.n)
                    cancel_max = args.cancel_max or 1.5 * latency
                result = Round(package, name, args.n, cancel_max=cancel_max)
                await run_round(
                    result, one, concurrency, args.sample_every, cancel_max, rng, args.round_budget
                )
                if name.startswith("tcp"):
                    # Connections the clients gave up on may still sit in the accept queue: one
                    # more connection is served after them (FIFO), then every handler has started.
                    await tcp_handshake(setup, port)
                await server.wait_idle()
                gc.collect()
                result.samples.append(sample())
                result.stats = emu.statistics()
                rounds.append(result)
                print(
                    f"{package:8} {name:15} {result.completed:5} ok {result.failed:5} cut "
                    f"{result.seconds:6.2f} s  statistics {result.stats}",
                    flush=True,
                )
            group.cancel_scope.cancel()
        await listener.aclose()
        await setup.client.aclose()
        await setup.server.aclose()
        print(f"{package:8} credentials closed         statistics {emu.statistics()}")
    gc.collect()
    print(f"{package:8} after Emulator.aclose()    statistics {emu.statistics()}")
    print(f"{package:8} server-side connection errors: {server.errors}", flush=True)
    return rounds


# --------------------------------------------------------------------------- report


def table(rounds: list[Round]) -> str:
    """The figures as a Markdown table. ``contexts left`` is what ``Emulator.statistics()`` counts
    after the round (cumulative: one emulator per package), with the round's own share."""
    lines = [
        "| package | round | ok | cut/failed | s | attempts/s | RSS MiB first→last (peak) "
        "| fds first→last (peak) | threads first→last (peak) | contexts left (+this round) |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- | --- | --- | ---: |",
    ]
    before: dict[str, int] = {}
    for r in rounds:
        first, last = r.samples[0], r.samples[-1]
        peak_rss = max(s.rss_kib for s in r.samples)
        peak_fds = max(s.fds for s in r.samples)
        peak_threads = max(s.threads for s in r.samples)
        rate = r.n / r.seconds if r.seconds else 0.0
        cut = "" if r.cancel_max is None else f" (≤{r.cancel_max * 1000:.1f} ms)"
        left = r.stats.get("contexts", 0)
        lines.append(
            f"| {r.package} | {r.name}{cut} | {r.completed} | {r.failed} | {r.seconds:.2f} "
            f"| {rate:,.0f} | {first.rss_kib / 1024:.1f}→{last.rss_kib / 1024:.1f} "
            f"({peak_rss / 1024:.1f}) | {first.fds}→{last.fds} ({peak_fds}) "
            f"| {first.threads}→{last.threads} ({peak_threads}) "
            f"| {left} (+{left - before.get(r.package, 0)}) |"
        )
        before[r.package] = left
    return "\n".join(lines)


def uptime() -> str:
    """``uptime``'s line, or the load averages when the command is missing."""
    try:
        return subprocess.run(
            ["uptime"], capture_output=True, text=True, check=True, timeout=5
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "load average: " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=1000, help="handshakes per round (1000)")
    parser.add_argument(
        "--packages", default="schannel,simtls", help="comma-separated: schannel, simtls"
    )
    parser.add_argument("--concurrency", type=int, default=64, help="in flight at once (64)")
    parser.add_argument(
        "--sample-every", type=int, default=100, help="sample RSS/fds/threads every K (100)"
    )
    parser.add_argument(
        "--cancel-max-ms",
        type=float,
        default=None,
        help="cancel rounds draw each timeout from 0 to this many ms (default: 1.5x the mean "
        "handshake time of the matching sequential round)",
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=90.0,
        help="seconds for the whole run (90): each round stops starting handshakes after its "
        "share, and the table shows how many it started",
    )
    parser.add_argument("--seed", type=int, default=11, help="random seed for the cancel points")
    args = parser.parse_args(argv)
    args.cancel_max = None if args.cancel_max_ms is None else args.cancel_max_ms / 1000
    args.package_list = [p.strip().lower() for p in args.packages.split(",") if p.strip()]
    unknown = set(args.package_list) - {"schannel", "simtls"}
    if unknown:
        parser.error(f"unknown package(s): {', '.join(sorted(unknown))}")
    args.round_budget = args.budget / (len(ROUND_NAMES) * max(len(args.package_list), 1))
    return args


async def amain(args: argparse.Namespace) -> list[Round]:
    rng = random.Random(args.seed)
    rounds: list[Round] = []
    for package in args.package_list:
        rounds += await soak_package(package, args, rng)
    return rounds


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    start = time.perf_counter()
    print(f"soak: n={args.n} concurrency={args.concurrency} packages={args.package_list}")
    print(f"before: {sample()}  {uptime()}", flush=True)
    rounds = anyio.run(amain, args)
    gc.collect()
    print()
    print(table(rounds))
    print()
    print(f"after: {sample()}  total {time.perf_counter() - start:.1f} s")
    print(uptime())
    return 0


if __name__ == "__main__":
    sys.exit(main())
