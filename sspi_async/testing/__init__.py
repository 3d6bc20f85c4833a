"""Test helpers for people who write or test code against sspi_async.

``check_package(factory)`` is the conformance suite every security package must pass (SPEC §8),
modelled on trio's ``check_*_stream`` helpers: it drives the package through the sans-IO protocol
directly, with no event loop, and raises ``AssertionError`` naming the broken contract.

``CertificateAuthority`` issues throw-away X.509 certificates (through ``cryptography``) for
Schannel credentials in tests and examples; ``TlsPki`` is a CA with a server and a client
certificate and ready ``SchannelCred``s.

The pytest plugin (``sspi_async.testing._plugin``, registered under the ``pytest11`` entry point,
see docs/testing.md) builds its fixtures from the classes here: ``ContextPair`` (``simtls_pair``,
``schannel_pair``) with its ``Connection``, ``TlsPki`` (``tls_pki``) and ``FaultPlanInstaller``
(``fault_plan``). This module does not import pytest.
"""

from __future__ import annotations

from ._certs import CertificateAuthority, IssuedCertificate
from ._conformance import check_package
from ._pairs import Connection, ContextPair
from ._pki import TlsPki
from ._plans import FaultPlanInstaller, as_fault_plan

__all__ = (
    "CertificateAuthority",
    "Connection",
    "ContextPair",
    "FaultPlanInstaller",
    "IssuedCertificate",
    "TlsPki",
    "as_fault_plan",
    "check_package",
)
