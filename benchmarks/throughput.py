"""Throughput benchmark: EncryptMessage + DecryptMessage of 16 KiB records vs. raw OpenSSL.

Prints, in one run and side by side, MB/s of plaintext (TLS 1.3, the suite both stacks negotiate,
``TLS_AES_256_GCM_SHA384`` with a default OpenSSL):

* (a) raw OpenSSL — ``SSLObject.write`` on the client, the record moved between the
  ``ssl.MemoryBIO``\\ s, ``SSLObject.read`` on the server: the anchor;
* (b) the flat facade — ``EncryptMessage`` on the client over ``[STREAM_HEADER, DATA,
  STREAM_TRAILER, EMPTY]`` (views of one buffer, as a C caller lays them out) and
  ``DecryptMessage`` on the server over ``[DATA, EMPTY, EMPTY, EMPTY]``: its ratio to (a) and the
  goal (>= 0.8x);
* for information, the Pythonic ``SecurityContext.encrypt`` + ``.decrypt``.

It reports and exits 0 whether or not the goal is met. The measuring code lives in the package
(``sspi_async._cli._bench_throughput``) so that ``sspi-async bench throughput`` runs the same
measurement; this script is that command with the same options.

Run: ``python benchmarks/throughput.py [--duration S] [--record-size BYTES] [--rounds N]
[--json]`` (the project must be installed, e.g. ``pip install -e .``).
"""

from __future__ import annotations

import sys

from sspi_async._cli import main


def run(argv: list[str] | None = None) -> int:
    """Run the benchmark with ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    return main(["bench", "throughput", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(run())
