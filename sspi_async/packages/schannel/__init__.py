"""Schannel: real TLS 1.2/1.3 through OpenSSL (``ssl.MemoryBIO``) with Schannel's token rules."""

from __future__ import annotations

from ._config import DEFAULT_PROTOCOLS, SchannelConfig
from ._context import SchannelContext
from ._credential import SchannelCredential
from ._package import SCHANNEL_MAX_TOKEN, SCHANNEL_PACKAGE_NAME, SchannelPackage
from ._suites import SUITES_BY_IANA

__all__ = (
    "DEFAULT_PROTOCOLS",
    "SCHANNEL_MAX_TOKEN",
    "SCHANNEL_PACKAGE_NAME",
    "SUITES_BY_IANA",
    "SchannelConfig",
    "SchannelContext",
    "SchannelCredential",
    "SchannelPackage",
)
