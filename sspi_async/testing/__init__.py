"""Test helpers for people who write or test code against sspi_async.

``check_package(factory)`` is the conformance suite every security package must pass (SPEC §8),
modelled on trio's ``check_*_stream`` helpers: it drives the package through the sans-IO protocol
directly, with no event loop, and raises ``AssertionError`` naming the broken contract.
"""

from __future__ import annotations

from ._conformance import check_package

__all__ = ("check_package",)
