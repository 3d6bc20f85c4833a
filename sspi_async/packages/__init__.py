"""Sans-IO security packages (L2) and the protocol they implement (SPEC §8).

Nothing in this package imports asyncio, anyio, structlog or pydantic; ``tests/test_layering.py``
checks it.
"""

from __future__ import annotations

from ._protocol import (
    ContextRequest,
    DecryptResult,
    PackageContext,
    PackageCredential,
    PackageError,
    PackageFactory,
    PeerIdentity,
    SecurityPackage,
    StepResult,
)

__all__ = (
    "ContextRequest",
    "DecryptResult",
    "PackageContext",
    "PackageCredential",
    "PackageError",
    "PackageFactory",
    "PeerIdentity",
    "SecurityPackage",
    "StepResult",
)
