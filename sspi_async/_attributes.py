"""QueryContextAttributes value objects (L1), with the Win32 structure and field names.

Plain slotted dataclasses; packages build them, the facade hands them out (SPEC §5 M3).
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = (
    "SecPkgContext_ApplicationProtocol",
    "SecPkgContext_Bindings",
    "SecPkgContext_CipherInfo",
    "SecPkgContext_ConnectionInfo",
    "SecPkgContext_Names",
    "SecPkgContext_PackageInfo",
    "SecPkgContext_RemoteCertContext",
    "SecPkgContext_Sizes",
    "SecPkgContext_StreamSizes",
    "SecPkgInfo",
)


@dataclass(slots=True)
class SecPkgInfo:
    """``SecPkgInfoW``: what EnumerateSecurityPackages and QuerySecurityPackageInfo return."""

    fCapabilities: int
    wVersion: int
    wRPCID: int
    cbMaxToken: int
    Name: str
    Comment: str


@dataclass(slots=True)
class SecPkgContext_StreamSizes:
    """SECPKG_ATTR_STREAM_SIZES: how to size EncryptMessage buffers (M1)."""

    cbHeader: int
    cbTrailer: int
    cbMaximumMessage: int
    cBuffers: int
    cbBlockSize: int


@dataclass(slots=True)
class SecPkgContext_Sizes:
    """SECPKG_ATTR_SIZES."""

    cbMaxToken: int
    cbMaxSignature: int
    cbBlockSize: int
    cbSecurityTrailer: int


@dataclass(slots=True)
class SecPkgContext_Names:
    """SECPKG_ATTR_NAMES: the peer's name (the client's on a server context)."""

    sUserName: str


@dataclass(slots=True)
class SecPkgContext_PackageInfo:
    """SECPKG_ATTR_PACKAGE_INFO."""

    PackageInfo: SecPkgInfo


@dataclass(slots=True)
class SecPkgContext_ConnectionInfo:
    """SECPKG_ATTR_CONNECTION_INFO."""

    dwProtocol: int
    aiCipher: int
    dwCipherStrength: int
    aiHash: int
    dwHashStrength: int
    aiExch: int
    dwExchStrength: int


@dataclass(slots=True)
class SecPkgContext_CipherInfo:
    """SECPKG_ATTR_CIPHER_INFO (``SECPKGCONTEXT_CIPHERINFO_V1``)."""

    dwVersion: int = 1
    dwProtocol: int = 0
    dwCipherSuite: int = 0
    dwBaseCipherSuite: int = 0
    szCipherSuite: str = ""
    szCipher: str = ""
    dwCipherLen: int = 0
    dwCipherBlockLen: int = 0
    szHash: str = ""
    dwHashLen: int = 0
    szExchange: str = ""
    dwMinExchangeLen: int = 0
    dwMaxExchangeLen: int = 0
    szCertificate: str = ""
    dwKeyType: int = 0


@dataclass(slots=True)
class SecPkgContext_ApplicationProtocol:
    """SECPKG_ATTR_APPLICATION_PROTOCOL (T12)."""

    ProtoNegoStatus: int
    ProtoNegoExt: int
    ProtocolIdSize: int
    ProtocolId: bytes


@dataclass(slots=True)
class SecPkgContext_Bindings:
    """SECPKG_ATTR_ENDPOINT_BINDINGS / UNIQUE_BINDINGS: SEC_CHANNEL_BINDINGS bytes."""

    BindingsLength: int
    Bindings: bytes | bytearray


@dataclass(slots=True)
class SecPkgContext_RemoteCertContext:
    """SECPKG_ATTR_REMOTE_CERT_CONTEXT: the peer's certificate (DER) and its chain."""

    pbCertEncoded: bytes
    chain: list[bytes] = field(default_factory=list)
