"""The throughput benchmark: EncryptMessage + DecryptMessage of full records next to raw OpenSSL.

Measured in the same run, on one TLS 1.3 connection each (same certificates and suite,
``TLS_AES_256_GCM_SHA384`` with the default OpenSSL build):

* **anchor** — raw OpenSSL: ``SSLObject.write(plaintext)`` on the client, the record read from its
  outgoing :class:`ssl.MemoryBIO`, written into the server's incoming one, and
  ``SSLObject.read()`` on the server.
* **flat** (the figure the goal is about) — the flat facade, as a C caller would write it: the
  client's ``EncryptMessage`` over ``[STREAM_HEADER, DATA, STREAM_TRAILER, EMPTY]`` whose three
  buffers are views of one bytearray (the record comes out contiguous, in place), then the
  server's ``DecryptMessage`` over ``[DATA, EMPTY, EMPTY, EMPTY]``; the plaintext is the
  ``SECBUFFER_DATA`` buffer. The ``SecBuffer`` objects are reused, their fields reset each time.
  Goal: at least :data:`GOAL_RATIO` × the anchor.
* **floor** — the thinnest code with the shape of EncryptMessage + DecryptMessage
  (``_bench_floors.FloorRecords``: one call each, a dict lookup, a four-buffer scan, the same
  OpenSSL calls and the copy into the caller's buffer, none of the rules) on another raw pair:
  the most (b) can reach here; a goal above it cannot be met on this machine.
* **api** (for information) — the Pythonic API: ``SecurityContext.encrypt(data)`` then
  ``SecurityContext.decrypt(record)``.

Figures are MB/s of plaintext (10**6 bytes per second). Method: best of ``rounds`` interleaved
rounds, each lasting ``duration / rounds``, after a warm-up; every loop checks the plaintext it
got back once before timing.

This module is the measuring code behind ``sspi-async bench throughput`` and
``benchmarks/throughput.py``.
"""

from __future__ import annotations

import asyncio
import os
import platform
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Final

import structlog

from sspi_async import Emulator, EmulatorSettings, SecurityContext, handshake
from sspi_async.sspi import (
    SEC_E_OK,
    SECBUFFER_DATA,
    SECBUFFER_EMPTY,
    SECBUFFER_STREAM_HEADER,
    SECBUFFER_STREAM_TRAILER,
    SECPKG_ATTR_CIPHER_INFO,
    DecryptMessage,
    EncryptMessage,
    SecBuffer,
    SecBufferDesc,
    SecPkgContext_CipherInfo,
)

from ._bench_floors import FloorRecords
from ._bench_handshake import HOST, KeyType, TlsSetup, _acquire_pair, raw_handshake
from ._progress import Progress, best_of_rounds

__all__ = (
    "DEFAULT_DURATION",
    "DEFAULT_RECORD_SIZE",
    "DEFAULT_ROUNDS",
    "GOAL_RATIO",
    "MAX_RECORD_SIZE",
    "ThroughputOptions",
    "ThroughputResult",
    "format_throughput_report",
    "measure_throughput",
)

#: Default measuring time of each loop, in seconds (split over the rounds).
DEFAULT_DURATION: Final = 2.0
#: Default plaintext bytes per record: a full TLS record (16 KiB).
DEFAULT_RECORD_SIZE: Final = 16384
#: The largest plaintext one record carries.
MAX_RECORD_SIZE: Final = 16384
#: Default number of interleaved rounds; the best one is reported.
DEFAULT_ROUNDS: Final = 3
#: The goal: flat EncryptMessage + DecryptMessage MB/s / raw OpenSSL MB/s.
GOAL_RATIO: Final = 0.8
#: What a loop returns: the plaintext the receiving side got (read in place where possible).
_Data = bytes | bytearray | memoryview
#: Records between two clock reads.
_BATCH: Final = 16


@dataclass(frozen=True, slots=True)
class ThroughputOptions:
    """What to measure.

    Attributes:
        duration: measuring time of each loop in seconds (split over ``rounds``).
        record_size: plaintext bytes per record, 1 to 16384.
        rounds: interleaved rounds; the best rate of each loop is reported.
        key_type: the server certificate's key (irrelevant to the record layer; kept for parity
            with the handshake benchmark).
    """

    duration: float = DEFAULT_DURATION
    record_size: int = DEFAULT_RECORD_SIZE
    rounds: int = DEFAULT_ROUNDS
    key_type: KeyType = "ec"

    def __post_init__(self) -> None:
        if not self.duration > 0:
            raise ValueError(f"duration must be > 0, not {self.duration!r}")
        if not 1 <= self.record_size <= MAX_RECORD_SIZE:
            raise ValueError(f"record_size must be 1 to {MAX_RECORD_SIZE}, not {self.record_size}")
        if self.rounds < 1:
            raise ValueError("rounds must be >= 1")


@dataclass(frozen=True, slots=True)
class ThroughputResult:
    """One benchmark run (rates in MB/s of plaintext, MB = 10**6 bytes).

    Attributes:
        python, implementation, platform, cpus: the environment.
        duration, rounds, record_size: the options.
        protocol, cipher_suite: what the raw anchor negotiated.
        emulator_cipher_suite: what the emulator negotiated (``szCipherSuite``).
        raw_mb_per_second: the anchor.
        flat_mb_per_second, flat_ratio, goal_ratio, within_goal: flat EncryptMessage +
            DecryptMessage, its ratio to the anchor, and the goal.
        api_mb_per_second, api_ratio: ``SecurityContext.encrypt`` + ``.decrypt``.
        floor_mb_per_second, floor_ratio: the thinnest SSPI-shaped loop (the most (b) can reach).
        raw_records_per_second, flat_records_per_second, api_records_per_second: the same
            rates in records per second.
        structlog_configured: True if structlog was configured (then logging cost is included).
    """

    python: str
    implementation: str
    platform: str
    cpus: int
    duration: float
    rounds: int
    record_size: int
    protocol: str
    cipher_suite: str
    emulator_cipher_suite: str
    raw_mb_per_second: float
    flat_mb_per_second: float
    flat_ratio: float
    goal_ratio: float
    within_goal: bool
    api_mb_per_second: float
    api_ratio: float
    floor_mb_per_second: float
    floor_ratio: float
    raw_records_per_second: float
    flat_records_per_second: float
    api_records_per_second: float
    structlog_configured: bool

    def as_dict(self) -> dict[str, object]:
        """The result as a JSON-ready dict (the field names above)."""
        return asdict(self)


def _rate(seconds: float, one: Callable[[], object]) -> float:
    """Calls of ``one`` per second, measured for ``seconds``."""
    count = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(_BATCH):
            one()
        count += _BATCH
        now = time.perf_counter()
        if now >= deadline:
            return count / (now - start)


def _timed(one: Callable[[], object]) -> Callable[[float], Awaitable[float]]:
    """``one`` as a loop for :func:`~._progress.best_of_rounds`: its rate over a window."""

    async def run(seconds: float) -> float:
        return _rate(seconds, one)

    return run


# --------------------------------------------------------------------------- the three loops


def _raw_loop(setup: TlsSetup, payload: bytes) -> Callable[[], bytes]:
    """The anchor: one record through a raw client/server SSLObject pair."""
    pair = raw_handshake(setup)
    client, server = pair.client, pair.server
    client_out, server_in = pair.client_out, pair.server_in
    size = len(payload)

    def one() -> bytes:
        client.write(payload)
        server_in.write(client_out.read())
        return server.read(size)

    return one


class _FlatLoop:
    """One record through flat EncryptMessage (client) and DecryptMessage (server)."""

    __slots__ = ("_client", "_decrypt", "_encrypt", "_payload", "_server", "_sizes", "_view")

    def __init__(self, client: SecurityContext, server: SecurityContext, payload: bytes) -> None:
        sizes = client.stream_sizes
        header, trailer = sizes.cbHeader, sizes.cbTrailer
        size = len(payload)
        self._client = client.handle
        self._server = server.handle
        self._payload = payload
        self._sizes = (header, size, trailer)
        # One contiguous buffer, as a C caller allocates it: header | data | trailer.
        self._view = memoryview(bytearray(header + size + trailer))
        self._encrypt = SecBufferDesc(
            [
                SecBuffer(SECBUFFER_STREAM_HEADER, header, self._view[:header]),
                SecBuffer(SECBUFFER_DATA, size, self._view[header : header + size]),
                SecBuffer(SECBUFFER_STREAM_TRAILER, trailer, self._view[header + size :]),
                SecBuffer(SECBUFFER_EMPTY),
            ]
        )
        self._decrypt = SecBufferDesc([SecBuffer(SECBUFFER_EMPTY) for _ in range(4)])

    def __call__(self) -> _Data:
        header, size, trailer = self._sizes
        head, data, tail, empty = self._encrypt.pBuffers
        head.cbBuffer, data.cbBuffer, tail.cbBuffer, empty.cbBuffer = header, size, trailer, 0
        view = self._view
        view[header : header + size] = self._payload
        status = EncryptMessage(self._client, 0, self._encrypt, 0)
        if status != SEC_E_OK:
            raise RuntimeError(f"throughput benchmark: EncryptMessage returned {status:#x}")
        record = view[: head.cbBuffer + data.cbBuffer + tail.cbBuffer]
        buffers = self._decrypt.pBuffers
        first = buffers[0]
        first.BufferType, first.cbBuffer, first.pvBuffer = SECBUFFER_DATA, len(record), record
        for buf in buffers[1:]:
            buf.BufferType, buf.cbBuffer, buf.pvBuffer = SECBUFFER_EMPTY, 0, None
        status = DecryptMessage(self._server, self._decrypt, 0, None)
        if status != SEC_E_OK:
            raise RuntimeError(f"throughput benchmark: DecryptMessage returned {status:#x}")
        for buf in buffers:  # Schannel's layout: HEADER, DATA, TRAILER (, EXTRA)
            if buf.BufferType == SECBUFFER_DATA and buf.pvBuffer is not None:
                # The caller reads pvBuffer[:cbBuffer] in place; no copy when that is all of it.
                plain = buf.pvBuffer
                return plain if len(plain) == buf.cbBuffer else plain[: buf.cbBuffer]
        return b""


def _api_loop(
    client: SecurityContext, server: SecurityContext, payload: bytes
) -> Callable[[], bytes]:
    """One record through ``SecurityContext.encrypt`` and ``.decrypt``."""

    def one() -> bytes:
        return server.decrypt(client.encrypt(payload)).data

    return one


def _floor_loop(setup: TlsSetup, client: SecurityContext, payload: bytes) -> FloorRecords:
    """The floor: the thinnest SSPI-shaped loop over a raw pair (same suite, same overhead)."""
    pair = raw_handshake(setup)
    sizes = client.stream_sizes
    return FloorRecords(
        (pair.client, pair.client_in, pair.client_out),
        (pair.server, pair.server_in, pair.server_out),
        payload,
        sizes.cbHeader,
        sizes.cbTrailer,
    )


def _checked(name: str, one: Callable[[], _Data], payload: bytes) -> Callable[[], _Data]:
    got = bytes(one())
    if got != payload:
        raise RuntimeError(
            f"throughput benchmark: the {name} loop returned {len(got)} bytes that are not the "
            f"{len(payload)} bytes sent"
        )
    return one


async def _measure(
    options: ThroughputOptions, setup: TlsSetup, progress: Progress | None = None
) -> ThroughputResult:
    payload = os.urandom(options.record_size)
    raw_client = raw_handshake(setup).client
    async with Emulator(EmulatorSettings(crypto_workers=0)):
        client_cred, server_cred = await _acquire_pair(setup)
        client = client_cred.client_context(target_name=HOST)
        server = server_cred.server_context()
        await handshake(client, server)
        info = client.query(SECPKG_ATTR_CIPHER_INFO)
        loops = {
            "raw": _checked("raw OpenSSL", _raw_loop(setup, payload), payload),
            "flat": _checked(
                "EncryptMessage/DecryptMessage", _FlatLoop(client, server, payload), payload
            ),
            "api": _checked("SecurityContext", _api_loop(client, server, payload), payload),
            "floor": _checked("floor", _floor_loop(setup, client, payload), payload),
        }
        best = await best_of_rounds(
            {name: _timed(one) for name, one in loops.items()},
            warmup=min(0.2, options.duration / 10),
            window=options.duration / options.rounds,
            rounds=options.rounds,
            progress=progress,
        )
        for ctx in (client, server):
            await ctx.aclose()
        await client_cred.aclose()
        await server_cred.aclose()
    mb = options.record_size / 1e6
    ratio = best["flat"] / best["raw"]
    return ThroughputResult(
        python=platform.python_version(),
        implementation=platform.python_implementation(),
        platform=platform.platform(),
        cpus=os.cpu_count() or 0,
        duration=options.duration,
        rounds=options.rounds,
        record_size=options.record_size,
        protocol=raw_client.version() or "?",
        cipher_suite=(raw_client.cipher() or ("?",))[0],
        emulator_cipher_suite=(
            info.szCipherSuite if isinstance(info, SecPkgContext_CipherInfo) else "?"
        ),
        raw_mb_per_second=round(best["raw"] * mb, 1),
        flat_mb_per_second=round(best["flat"] * mb, 1),
        flat_ratio=round(ratio, 3),
        goal_ratio=GOAL_RATIO,
        within_goal=ratio >= GOAL_RATIO,
        api_mb_per_second=round(best["api"] * mb, 1),
        api_ratio=round(best["api"] / best["raw"], 3),
        floor_mb_per_second=round(best["floor"] * mb, 1),
        floor_ratio=round(best["floor"] / best["raw"], 3),
        raw_records_per_second=round(best["raw"], 1),
        flat_records_per_second=round(best["flat"], 1),
        api_records_per_second=round(best["api"], 1),
        structlog_configured=structlog.is_configured(),
    )


def measure_throughput(
    options: ThroughputOptions | None = None, progress: Progress | None = None
) -> ThroughputResult:
    """Run the benchmark in a fresh event loop (``asyncio.run``) and return the figures;
    ``progress`` is told about each measurement as it starts."""
    options = options or ThroughputOptions()
    setup = TlsSetup.create(options.key_type)
    return asyncio.run(_measure(options, setup, progress))


def mb_per_record(result: ThroughputResult) -> float:
    """MB of plaintext per record."""
    return result.record_size / 1e6


def format_throughput_report(result: ThroughputResult) -> str:
    """The human-readable report: environment, the three loops side by side, the goal."""
    r = result
    verdict = "met" if r.within_goal else "NOT met"
    width = 58
    lines = [
        "sspi_async throughput benchmark (Schannel records, EncryptMessage + DecryptMessage)",
        f"python    {r.implementation} {r.python} ({sys.executable})",
        f"platform  {r.platform}, {r.cpus} CPUs",
        f"tls       {r.protocol} {r.cipher_suite} (emulator negotiated {r.emulator_cipher_suite}),"
        f" {r.record_size:,}-byte records",
        f"method    best of {r.rounds} interleaved rounds, {r.duration:g} s per loop; "
        "MB = 10^6 bytes of plaintext",
    ]
    if r.emulator_cipher_suite != r.cipher_suite:
        lines.append("warning   the emulator and the anchor negotiated different suites")
    if r.structlog_configured:
        lines.append("warning   structlog is configured: figures include logging cost")
    lines += [
        "",
        f"{'loop (encrypt on the client, decrypt on the server)':<{width}}{'MB/s':>9}"
        f"{'records/s':>11}{'ratio':>8}  goal",
        f"{'(a) raw SSLObject.write + peer SSLObject.read (anchor)':<{width}}"
        f"{r.raw_mb_per_second:>9,.1f}{r.raw_records_per_second:>11,.0f}{1.0:>7.2f}x",
        f"{'(b) flat EncryptMessage + DecryptMessage':<{width}}"
        f"{r.flat_mb_per_second:>9,.1f}{r.flat_records_per_second:>11,.0f}{r.flat_ratio:>7.2f}x"
        f"  >= {r.goal_ratio:g}x: {verdict}",
        f"{'    SecurityContext.encrypt + .decrypt (information)':<{width}}"
        f"{r.api_mb_per_second:>9,.1f}{r.api_records_per_second:>11,.0f}{r.api_ratio:>7.2f}x",
        f"{'(f) floor: thinnest SSPI-shaped Encrypt + Decrypt':<{width}}"
        f"{r.floor_mb_per_second:>9,.1f}{r.floor_mb_per_second / mb_per_record(r):>11,.0f}"
        f"{r.floor_ratio:>7.2f}x  the most (b) can reach here",
    ]
    return "\n".join(lines)
