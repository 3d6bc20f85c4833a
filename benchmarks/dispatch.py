"""Dispatch benchmark: a queued async SSPI call with notify callback vs. a bare asyncio round trip.

Prints, in one run and side by side: (a) bare asyncio round trips per second (create a future,
``loop.call_soon(fut.set_result, None)``, ``await fut``); (b) no-op queued async SSPI calls per
second on one async context with a notify callback (``SspiReinitAsyncContext``, ``await
SspiFreeCredentialsHandleAsync(actx, CredHandle())`` — an invalid handle, completing
``SEC_E_INVALID_HANDLE`` — and await the future the callback resolves), also with
``completion="eager"``; and (c) their cost ratio, against the goal of at most 3x. Each loop runs
for ``--seconds`` (default 2) as the best of 3 interleaved rounds, after a warm-up.

The measuring code lives in the package (``sspi_async._cli._bench``) so that the installed
console script ``sspi-async bench dispatch`` runs the same measurement; this script is that
command with the same options (``--seconds S``, ``--json``).

Run: ``python benchmarks/dispatch.py [--seconds S] [--json]`` (the project must be installed,
e.g. ``pip install -e .``).
"""

from __future__ import annotations

import sys

from sspi_async._cli import main


def run(argv: list[str] | None = None) -> int:
    """Run the benchmark with ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    return main(["bench", "dispatch", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(run())
