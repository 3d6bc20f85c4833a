"""The package conformance checker (SPEC §8): SimTLS passes it; broken packages fail it."""

from __future__ import annotations

from typing import Any

import pytest

from sspi_async.packages import DecryptResult, PackageContext, PackageCredential
from sspi_async.packages.simtls import SimTLSConfig, SimTLSPackage
from sspi_async.sspi import SEC_E_OK
from sspi_async.testing import check_package

CLIENT = SimTLSConfig(principal="alice", secret=b"s3cret")
SERVER = SimTLSConfig(principal="server", secret=b"s3cret")


def test_simtls_passes_check_package() -> None:
    """SPEC §8: the SimTLS package honours every contract of the package seam."""
    check_package(
        SimTLSPackage, client_auth_data=CLIENT, server_auth_data=SERVER, target_name="server"
    )


def test_simtls_tls12_shape_passes_check_package() -> None:
    """SPEC §8: SimTLS in its TLS 1.2 shape (rounds=2) passes too."""
    client = SimTLSConfig(principal="alice", secret=b"s3cret", rounds=2)
    check_package(SimTLSPackage, client_auth_data=client, server_auth_data=SERVER)


class _Permissive:
    """A context wrapper whose decrypt accepts anything: a broken package."""

    def __init__(self, inner: PackageContext) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    @property
    def complete(self) -> bool:
        return self._inner.complete

    def decrypt(self, record: bytes) -> DecryptResult:
        result = self._inner.decrypt(record)
        return result if result.status == SEC_E_OK else DecryptResult(SEC_E_OK, b"")


class _AcceptsTampering(SimTLSPackage):
    def new_context(self, credential: PackageCredential, request: Any) -> Any:
        return _Permissive(super().new_context(credential, request))


class _AcceptsAnyUse(SimTLSPackage):
    def acquire_credentials(self, principal: str | None, use: int, auth_data: object | None) -> Any:
        return super().acquire_credentials(principal, use or 2, auth_data)


def test_check_package_rejects_a_package_that_accepts_tampered_records() -> None:
    """SPEC §8: the checker fails a package whose decrypt accepts a tampered record."""
    with pytest.raises(AssertionError, match="tampered record was accepted"):
        check_package(_AcceptsTampering, client_auth_data=CLIENT, server_auth_data=SERVER)


def test_check_package_rejects_a_package_that_ignores_credential_use() -> None:
    """SPEC §8, C1: the checker fails a package that accepts fCredentialUse=0."""
    with pytest.raises(AssertionError, match="fCredentialUse=0"):
        check_package(_AcceptsAnyUse, client_auth_data=CLIENT, server_auth_data=SERVER)


def test_check_package_rejects_something_that_is_not_a_package() -> None:
    """SPEC §8: the checker names the missing SecurityPackage shape."""
    with pytest.raises(AssertionError, match="lacks the SecurityPackage methods"):
        check_package(object)  # type: ignore[arg-type]
