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

import typing

from .._lazy import lazy_names as _lazy_names

if typing.TYPE_CHECKING:
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

#: Where each name lives; imported on first use (PEP 562), like ``sspi_async`` itself, so that
#: loading the pytest plugin (``sspi_async.testing._plugin``) stays cheap.
_LAZY: dict[str, str] = {
    "CertificateAuthority": "._certs",
    "Connection": "._pairs",
    "ContextPair": "._pairs",
    "FaultPlanInstaller": "._plans",
    "IssuedCertificate": "._certs",
    "TlsPki": "._pki",
    "as_fault_plan": "._plans",
    "check_package": "._conformance",
}


__getattr__, __dir__ = _lazy_names(__name__, _LAZY)
