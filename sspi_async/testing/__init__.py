"""Test helpers for people who write or test code against sspi_async.

``check_package(factory)`` is the conformance suite every security package must pass (SPEC §8),
modelled on trio's ``check_*_stream`` helpers: it drives the package through the sans-IO protocol
directly, with no event loop, and raises ``AssertionError`` naming the broken contract.

``CertificateAuthority`` issues throw-away X.509 certificates (through ``cryptography``) for
Schannel credentials in tests and examples.
"""

from __future__ import annotations

from ._certs import CertificateAuthority, IssuedCertificate
from ._conformance import check_package

__all__ = ("CertificateAuthority", "IssuedCertificate", "check_package")
