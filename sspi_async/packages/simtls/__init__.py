"""SimTLS: a deterministic, pure-Python, TLS-shaped security package (SPEC §4).

Both sides hold a :class:`SimTLSConfig` with a principal and a shared secret. The handshake
proves, with HMAC-SHA256 over the transcript, that both know the same secret; the client checks
the server's principal against ``pszTargetName``; the server learns the client's principal.
Records use real TLS framing, so the emulator's Schannel buffer rules (T1-T7) apply unchanged,
and the message sequence follows TLS 1.3 (``rounds=1``, default), TLS 1.2 (``rounds=2``) or TLS
1.2 with extra round trips (``rounds=3..8``) (T8). Application data is HMAC-protected.

No public-key cryptography, no clock, no randomness except ``ContextRequest.random``: the same
inputs always give the same bytes.
"""

from __future__ import annotations

from ._config import SimTLSConfig, SimTLSCredential
from ._context import SimTLSContext
from ._package import SIMTLS_PACKAGE_NAME, SimTLSPackage

__all__ = (
    "SIMTLS_PACKAGE_NAME",
    "SimTLSConfig",
    "SimTLSContext",
    "SimTLSCredential",
    "SimTLSPackage",
)
