"""Progress of the long-running ``bench`` commands, and the round-robin every benchmark uses.

A benchmark run is a list of measurements (each loop's warm-up, then ``rounds`` rounds in which
the loops take turns). :func:`best_of_rounds` runs them and reports each one, before it starts, to
an optional :data:`Progress` callback; :class:`ProgressLine` is the callback the command line uses:
on a terminal it redraws one status line on stderr (``[4/12] round 1/3: sequential``) and wipes
it at the end, elsewhere it writes one line per measurement. stdout keeps only the report, so
``--json`` output stays machine-readable.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import TextIO

__all__ = ("Progress", "ProgressLine", "best_of_rounds")

#: ``progress(step, total, label)``: measurement ``step`` of ``total`` (1-based) starts now.
Progress = Callable[[int, int, str], None]


async def best_of_rounds(
    loops: Mapping[str, Callable[[float], Awaitable[float]]],
    *,
    warmup: float,
    window: float,
    rounds: int,
    progress: Progress | None = None,
    after_warmup: Callable[[], None] | None = None,
) -> dict[str, float]:
    """Warm each loop up for ``warmup`` seconds, call ``after_warmup`` (e.g. to drop what the
    warm-ups recorded), then run ``rounds`` rounds in which the loops take turns for ``window``
    seconds each; return each loop's best rate. A loop returns its rate."""
    total = len(loops) * (rounds + 1)
    step = 0
    for name, run in loops.items():
        step += 1
        if progress is not None:
            progress(step, total, f"warm-up: {name}")
        await run(warmup)
    if after_warmup is not None:
        after_warmup()
    best = dict.fromkeys(loops, 0.0)
    for index in range(rounds):
        for name, run in loops.items():
            step += 1
            if progress is not None:
                progress(step, total, f"round {index + 1}/{rounds}: {name}")
            best[name] = max(best[name], await run(window))
            await asyncio.sleep(0)  # let anything the loop left behind finish between turns
    return best


class ProgressLine:
    """A :data:`Progress` callback writing to ``stream`` (a status line on a terminal)."""

    __slots__ = ("_prefix", "_stream", "_tty", "_width")

    def __init__(self, stream: TextIO, prefix: str, *, tty: bool | None = None) -> None:
        self._stream = stream
        self._prefix = prefix
        self._tty = stream.isatty() if tty is None else tty
        self._width = 0

    def __call__(self, step: int, total: int, label: str) -> None:
        text = f"{self._prefix}: [{step}/{total}] {label}"
        if self._tty:
            padding = " " * max(0, self._width - len(text))
            self._stream.write(f"\r{text}{padding}")
            self._width = len(text)
        else:
            self._stream.write(text + "\n")
        self._stream.flush()

    def close(self) -> None:
        """Wipe the status line (terminal only), so the report starts on a clean line."""
        if self._tty and self._width:
            self._stream.write("\r" + " " * self._width + "\r")
            self._stream.flush()
            self._width = 0
