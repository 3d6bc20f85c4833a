"""SPEC §10 / issue 5: long ``bench`` runs show progress on stderr; stdout keeps only the report."""

from __future__ import annotations

import io
import json
from collections.abc import Awaitable, Callable

import pytest

from sspi_async._cli._progress import ProgressLine, best_of_rounds

from .test_bench_tls import TINY, run_main


async def test_best_of_rounds_warms_up_then_takes_turns_and_keeps_the_best() -> None:
    """Each loop warms up once, ``after_warmup`` runs before the rounds, the loops take turns in
    every round, each measurement is announced before it starts, and the best rate is kept."""
    calls: list[tuple[str, float]] = []
    announced: list[tuple[int, int, str]] = []
    rates = {"a": iter([0.0, 5.0, 3.0]), "b": iter([0.0, 1.0, 7.0])}

    def loop(name: str) -> Callable[[float], Awaitable[float]]:
        async def run(seconds: float) -> float:
            calls.append((name, seconds))
            return next(rates[name])

        return run

    marks: list[int] = []
    best = await best_of_rounds(
        {"a": loop("a"), "b": loop("b")},
        warmup=0.01,
        window=0.5,
        rounds=2,
        progress=lambda step, total, label: announced.append((step, total, label)),
        after_warmup=lambda: marks.append(len(calls)),
    )
    assert best == {"a": 5.0, "b": 7.0}
    assert calls == [("a", 0.01), ("b", 0.01), ("a", 0.5), ("b", 0.5), ("a", 0.5), ("b", 0.5)]
    assert marks == [2]
    assert announced == [
        (1, 6, "warm-up: a"),
        (2, 6, "warm-up: b"),
        (3, 6, "round 1/2: a"),
        (4, 6, "round 1/2: b"),
        (5, 6, "round 2/2: a"),
        (6, 6, "round 2/2: b"),
    ]


def test_progress_line_redraws_one_line_on_a_terminal_and_wipes_it() -> None:
    """On a terminal: carriage returns, padding over a longer previous label, wiped at close."""
    stream = io.StringIO()
    line = ProgressLine(stream, "bench x", tty=True)
    line(1, 2, "warm-up: longer label")
    line(2, 2, "round 1/1: a")
    line.close()
    text = stream.getvalue()
    assert "\n" not in text
    first, second, wipe = text.split("\r")[1:4]
    assert first == "bench x: [1/2] warm-up: longer label"
    assert second.startswith("bench x: [2/2] round 1/1: a")
    assert len(second) == len(first)
    assert wipe.strip() == ""
    assert text.endswith("\r")


def test_progress_line_writes_lines_elsewhere() -> None:
    """Not a terminal (a CI log): one line per measurement, nothing to wipe."""
    stream = io.StringIO()
    line = ProgressLine(stream, "bench x", tty=False)
    line(1, 2, "warm-up: a")
    line(2, 2, "round 1/1: a")
    line.close()
    assert stream.getvalue().splitlines() == [
        "bench x: [1/2] warm-up: a",
        "bench x: [2/2] round 1/1: a",
    ]


@pytest.mark.parametrize("benchmark", ["dispatch", "throughput"])
def test_bench_progress_goes_to_stderr_and_json_stays_clean(
    capsys: pytest.CaptureFixture[str], benchmark: str
) -> None:
    """``--progress`` reports every measurement on stderr; stdout is still one JSON object."""
    extra = ("--seconds", "0.06") if benchmark == "dispatch" else TINY
    code, out, err = run_main(capsys, "bench", benchmark, *extra, "--json", "--progress")
    assert code == 0
    assert json.loads("\n".join(out))
    assert err
    assert all(line.startswith(f"bench {benchmark}: [") for line in err)
    step, total = err[-1].split("[")[1].split("]")[0].split("/")
    assert step == total  # the last measurement announced is the last one


def test_bench_no_progress_when_not_a_terminal_or_asked_not_to(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """By default progress shows only on a terminal (captured stderr is not one), and
    ``--no-progress`` turns it off everywhere."""
    for flags in ((), ("--no-progress",)):
        code, _, err = run_main(capsys, "bench", "dispatch", "--seconds", "0.03", *flags)
        assert code == 0
        assert err == []
