"""The TLS cipher suites the Schannel package offers, and what QueryContextAttributes says of them.

Only AEAD suites are offered (TLS 1.3's three, and TLS 1.2's ECDHE/DHE with AES-GCM or
ChaCha20-Poly1305): their records have a fixed overhead, so ``SECPKG_ATTR_STREAM_SIZES`` is exact
and ``EncryptMessage`` can split every record into header, body and trailer as Schannel does
(M1). Windows also enables CBC suites for TLS 1.2; we do not (README, "Where we differ").

Names are IANA's, as Schannel reports them in ``SecPkgContext_CipherInfo.szCipherSuite``; the
OpenSSL names are what :meth:`ssl.SSLContext.set_ciphers` and :meth:`ssl.SSLObject.cipher` use.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

__all__ = (
    "ALG_ID",
    "SUITES_BY_IANA",
    "SUITES_BY_OPENSSL",
    "Suite",
    "record_overhead",
)


@dataclass(frozen=True, slots=True)
class Suite:
    """One cipher suite.

    Attributes:
        iana: the IANA name (``TLS_AES_256_GCM_SHA384``).
        openssl: OpenSSL's name for it.
        number: the two-byte suite number (``dwCipherSuite``).
        tls13: a TLS 1.3 suite (no key exchange or certificate type in the name).
        cipher: ``szCipher`` (``"AES"`` or ``"CHACHA20_POLY1305"``).
        bits: the cipher key length (``dwCipherLen``).
        hash: the PRF/HKDF hash name and length in bits.
        exchange: ``szExchange`` (``"ECDHE"``, ``"DH"``; TLS 1.3 negotiates it separately).
        certificate: ``szCertificate`` (``"RSA"``, ``"ECDSA"``; empty for TLS 1.3).
    """

    iana: str
    openssl: str
    number: int
    tls13: bool
    cipher: str
    bits: int
    hash: str
    hash_bits: int
    exchange: str
    certificate: str


_SUITES: Final = (
    Suite("TLS_AES_256_GCM_SHA384", "TLS_AES_256_GCM_SHA384", 0x1302, True, "AES", 256, "SHA384", 384, "", ""),
    Suite("TLS_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256", 0x1301, True, "AES", 128, "SHA256", 256, "", ""),
    Suite("TLS_CHACHA20_POLY1305_SHA256", "TLS_CHACHA20_POLY1305_SHA256", 0x1303, True, "CHACHA20_POLY1305", 256, "SHA256", 256, "", ""),
    Suite("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES256-GCM-SHA384", 0xC02C, False, "AES", 256, "SHA384", 384, "ECDH", "ECDSA"),
    Suite("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256", 0xC02B, False, "AES", 128, "SHA256", 256, "ECDH", "ECDSA"),
    Suite("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384", 0xC030, False, "AES", 256, "SHA384", 384, "ECDH", "RSA"),
    Suite("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256", 0xC02F, False, "AES", 128, "SHA256", 256, "ECDH", "RSA"),
    Suite("TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305", 0xCCA9, False, "CHACHA20_POLY1305", 256, "SHA256", 256, "ECDH", "ECDSA"),
    Suite("TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA-CHACHA20-POLY1305", 0xCCA8, False, "CHACHA20_POLY1305", 256, "SHA256", 256, "ECDH", "RSA"),
    Suite("TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", "DHE-RSA-AES256-GCM-SHA384", 0x009F, False, "AES", 256, "SHA384", 384, "DH", "RSA"),
    Suite("TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", "DHE-RSA-AES128-GCM-SHA256", 0x009E, False, "AES", 128, "SHA256", 256, "DH", "RSA"),
)  # fmt: skip

SUITES_BY_IANA: Final[Mapping[str, Suite]] = MappingProxyType({s.iana: s for s in _SUITES})
SUITES_BY_OPENSSL: Final[Mapping[str, Suite]] = MappingProxyType({s.openssl: s for s in _SUITES})

#: CryptoAPI ALG_IDs (wincrypt.h) for SecPkgContext_ConnectionInfo. ChaCha20 has none: 0.
ALG_ID: Final[Mapping[str, int]] = MappingProxyType(
    {
        "AES128": 0x0000660E,  # CALG_AES_128
        "AES256": 0x00006610,  # CALG_AES_256
        "ECDH": 0x0000AE06,  # CALG_ECDH_EPHEM
        "DH": 0x0000AA02,  # CALG_DH_EPHEM
        "SHA256": 0x0000800C,  # CALG_SHA_256
        "SHA384": 0x0000800D,  # CALG_SHA_384
    }
)

#: AEAD tag length of every offered suite.
_TAG: Final = 16
#: TLS 1.2 AES-GCM carries an 8-byte explicit nonce after the header (RFC 5288 §3).
_EXPLICIT_NONCE: Final = 8


def record_overhead(suite: Suite) -> tuple[int, int]:
    """``(cbHeader, cbTrailer)`` of one application-data record under ``suite``.

    TLS 1.3: the 5-byte header; the trailer is the inner content type byte plus the tag (RFC 8446
    §5.2; OpenSSL adds no padding). TLS 1.2 AES-GCM: the header includes the explicit nonce, as
    Schannel reports (13); ChaCha20-Poly1305 has none (RFC 7905).
    """
    if suite.tls13:
        return 5, 1 + _TAG
    if suite.cipher == "AES":
        return 5 + _EXPLICIT_NONCE, _TAG
    return 5, _TAG
