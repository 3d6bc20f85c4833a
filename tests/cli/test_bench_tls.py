"""`sspi-async bench handshake` and `bench throughput` (and `benchmarks/*.py`): smoke tests with
tiny durations. They check that every row, ratio and goal is reported; never the speed."""

from __future__ import annotations

import importlib.util
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType

import pytest

from sspi_async._cli import main
from sspi_async._cli._bench_floors import floor_handshake
from sspi_async._cli._bench_handshake import HOST, TlsSetup

ROOT = Path(__file__).resolve().parents[2]
TINY = ("--duration", "0.06", "--rounds", "1")


def run_main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], list[str]]:
    """``main(argv)`` in-process: (exit code, stdout lines, stderr lines)."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out.splitlines(), err.splitlines()


def _script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        f"bench_{name}", ROOT / "benchmarks" / f"{name}.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _row(lines: list[str], start: str) -> str:
    found = [line for line in lines if line.startswith(start)]
    assert len(found) == 1, (start, lines)
    return found[0]


# --------------------------------------------------------------------------- handshake


def test_bench_handshake_text(capsys: pytest.CaptureFixture[str]) -> None:
    """Text output: the five figures side by side, each emulator row with its ratio and goal."""
    code, out, err = run_main(capsys, "bench", "handshake", *TINY, "--concurrency", "4")
    assert code == 0, err
    assert err == []
    assert out[0].startswith("sspi_async handshake benchmark")
    assert any(line.startswith("tls       TLSv1.3 ") for line in out)
    assert "1.00x" in _row(out, "(a) raw OpenSSL SSLObject pair, one thread (anchor)")
    assert _row(out, "(a2) raw OpenSSL, 2 threads at once (ceiling for (c))").endswith("x")
    sequential = _row(out, "(b) emulator, sequential, crypto_workers=0")
    assert "x  >= 0.9x: " in sequential
    assert sequential.endswith(("met", "NOT met"))
    assert "x  >= 1.5x: " in _row(out, "(c) emulator, 4 concurrent, crypto_workers=2")
    assert _row(out, "(e) asyncio TLS on loopback, 4 concurrent (asyncio anchor)").endswith("x")
    assert "max < 5 ms: " in _row(out, "(d) during (c), the emulator")
    assert _row(out, "    during (e), asyncio TLS (asyncio anchor)")
    assert _row(out, "(f) floor: thinnest async-SSPI shape, sequential").endswith(
        "x  the most (b) can reach here"
    )
    assert _row(out, "(g) floor: the same, 4 concurrent, 2 threads").endswith(
        "x  the most (c) can reach here"
    )
    assert _row(out, "    during (g), the floor")


def test_bench_handshake_json_rsa(capsys: pytest.CaptureFixture[str]) -> None:
    """`--json` reports every figure; `--key-type rsa` and `--workers` are honoured."""
    code, out, err = run_main(
        capsys,
        "bench",
        "handshake",
        *TINY,
        "--concurrency",
        "3",
        "--workers",
        "1",
        "--key-type",
        "rsa",
        "--json",
    )
    assert code == 0, err
    result = json.loads("\n".join(out))
    assert result["certificate"] == "RSA 2048"
    assert (result["concurrency"], result["workers"], result["rounds"]) == (3, 1, 1)
    assert result["protocol"] == "TLSv1.3"
    assert result["cipher_suite"] == result["emulator_cipher_suite"]
    rates = ("raw_threads", "sequential", "concurrent", "asyncio", "floor", "floor_concurrent")
    for rate in ("raw", *rates):
        assert result[f"{rate}_per_second"] > 0, rate
    for ratio in rates:
        assert result[f"{ratio}_ratio"] > 0, ratio
    assert (result["sequential_goal"], result["concurrent_goal"], result["lag_goal_ms"]) == (
        0.9,
        1.5,
        5.0,
    )
    for flag in ("sequential_met", "concurrent_met", "lag_met"):
        assert isinstance(result[flag], bool)
    assert result["concurrent_max_lag_ms"] >= result["concurrent_steady_max_lag_ms"] >= 0
    assert result["asyncio_max_lag_ms"] >= 0
    assert result["floor_max_lag_ms"] >= result["floor_p99_lag_ms"] >= 0
    assert result["structlog_configured"] is False


def test_benchmarks_handshake_script(capsys: pytest.CaptureFixture[str]) -> None:
    """`benchmarks/handshake.py` is the same command."""
    code = _script("handshake").run([*TINY, "--concurrency", "2", "--json"])
    out, _ = capsys.readouterr()
    assert code == 0
    assert json.loads(out)["concurrency"] == 2


# --------------------------------------------------------------------------- throughput


def test_bench_throughput_text(capsys: pytest.CaptureFixture[str]) -> None:
    """Text output: the anchor, the flat loop with its ratio and goal, the Pythonic loop."""
    code, out, err = run_main(capsys, "bench", "throughput", *TINY)
    assert code == 0, err
    assert err == []
    assert out[0].startswith("sspi_async throughput benchmark")
    assert any("16,384-byte records" in line for line in out)
    assert "1.00x" in _row(out, "(a) raw SSLObject.write + peer SSLObject.read (anchor)")
    flat = _row(out, "(b) flat EncryptMessage + DecryptMessage")
    assert "x  >= 0.8x: " in flat
    assert flat.endswith(("met", "NOT met"))
    assert _row(out, "    SecurityContext.encrypt + .decrypt (information)").endswith("x")
    assert _row(out, "(f) floor: thinnest SSPI-shaped Encrypt + Decrypt").endswith(
        "x  the most (b) can reach here"
    )


def test_bench_throughput_json_small_records(capsys: pytest.CaptureFixture[str]) -> None:
    """`--json --record-size 100` reports every figure for 100-byte records."""
    code, out, err = run_main(
        capsys, "bench", "throughput", *TINY, "--record-size", "100", "--json"
    )
    assert code == 0, err
    result = json.loads("\n".join(out))
    assert result["record_size"] == 100
    assert result["cipher_suite"] == result["emulator_cipher_suite"]
    for loop in ("raw", "flat", "api"):
        assert result[f"{loop}_mb_per_second"] > 0, loop
        assert result[f"{loop}_records_per_second"] > 0, loop
    assert result["flat_ratio"] > 0
    assert result["floor_mb_per_second"] > 0
    assert result["floor_ratio"] > 0
    assert result["goal_ratio"] == 0.8
    assert isinstance(result["within_goal"], bool)


def test_benchmarks_throughput_script(capsys: pytest.CaptureFixture[str]) -> None:
    """`benchmarks/throughput.py` is the same command."""
    code = _script("throughput").run([*TINY, "--json"])
    out, _ = capsys.readouterr()
    assert code == 0
    assert json.loads(out)["record_size"] == 16384


# --------------------------------------------------------------------------- mistakes, help


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["bench"], "a benchmark is required: dispatch, handshake, throughput"),
        (["bench", "handshake", "--concurrency", "0"], "argument --concurrency"),
        (["bench", "handshake", "--workers", "many"], "argument --workers"),
        (["bench", "handshake", "--duration", "0"], "argument --duration"),
        (["bench", "handshake", "--key-type", "dsa"], "argument --key-type"),
        (["bench", "throughput", "--record-size", "16385"], "argument --record-size"),
        (["bench", "throughput", "--rounds", "0"], "argument --rounds"),
    ],
)
def test_bench_tls_user_mistake(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad option is one error line on stderr and exit 2."""
    code, out, err = run_main(capsys, *argv)
    assert code == 2
    assert out == []
    assert len(err) == 1, err
    assert message in err[0]


@pytest.mark.parametrize("benchmark", ["handshake", "throughput"])
def test_bench_tls_help(benchmark: str, capsys: pytest.CaptureFixture[str]) -> None:
    """`--help` describes the figures and the goal."""
    with pytest.raises(SystemExit) as exc:
        main(["bench", benchmark, "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith(f"usage: sspi-async bench {benchmark}")
    assert "goal" in text


@pytest.mark.parametrize("workers", [0, 1])
async def test_the_handshake_floor_does_the_whole_tls_work(workers: int) -> None:
    """(f)/(g) must do every bit of OpenSSL work the emulator's handshake does: both sides
    finish TLS 1.3, the server's certificate is verified for the host, and the client reads
    both session tickets (OpenSSL then knows a session to resume)."""
    setup = TlsSetup.create("ec")
    pool = ThreadPoolExecutor(workers) if workers else None
    try:
        client, server = await floor_handshake(
            setup.client_context, setup.server_context, HOST, pool
        )
    finally:
        if pool is not None:
            pool.shutdown()
    assert (client.version(), server.version()) == ("TLSv1.3", "TLSv1.3")
    assert ("DNS", HOST) in client.getpeercert()["subjectAltName"]
    assert client.session is not None
    assert client.session.has_ticket
