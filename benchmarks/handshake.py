"""Handshake benchmark: Schannel handshakes through the emulator vs. raw OpenSSL and asyncio TLS.

Prints, in one run and side by side (TLS 1.3; an ECDSA P-256 server certificate, or RSA 2048 with
``--key-type rsa``, issued by an ephemeral CA):

* (a) raw OpenSSL handshakes per second — client and server ``ssl.SSLObject`` pairs over
  ``ssl.MemoryBIO`` in one thread, same certificates and protocol: the anchor, the physical floor;
* (b) the emulator's sequential handshakes per second with ``crypto_workers=0`` (credentials
  acquired once; per handshake ``client_context``/``server_context``, ``sspi_async.handshake``
  through the async SSPI calls, both contexts closed), its ratio to (a) and the goal (>= 0.9x);
* (c) the emulator's handshakes per second with ``--concurrency`` (64) handshakes in flight and
  ``crypto_workers=--workers`` (2), its ratio to (a) and the goal (>= 1.5x);
* (d) the largest event-loop lag during (c) (a task sleeping 1 ms records how late it wakes up),
  and the goal (< 5 ms);
* (e) asyncio's own TLS (``asyncio.start_server(ssl=...)`` + ``asyncio.open_connection(ssl=...)``
  on 127.0.0.1, same certificates and concurrency): handshakes per second and largest loop lag,
  the asyncio anchor.

It reports and exits 0 whether or not the goals are met. The measuring code lives in the package
(``sspi_async._cli._bench_handshake``) so that the installed console script ``sspi-async bench
handshake`` runs the same measurement; this script is that command with the same options.

Run: ``python benchmarks/handshake.py [--duration S] [--concurrency N] [--workers N]
[--key-type ec|rsa] [--rounds N] [--json]`` (the project must be installed, e.g.
``pip install -e .``).
"""

from __future__ import annotations

import sys

from sspi_async._cli import main


def run(argv: list[str] | None = None) -> int:
    """Run the benchmark with ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    return main(["bench", "handshake", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(run())
