"""Shared setup for the sans-IO Schannel package tests: a test PKI, contexts, a driver."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Iterator
from functools import cache
from typing import Any

from sspi_async._flags import (
    SECPKG_CRED_INBOUND,
    SECPKG_CRED_OUTBOUND,
    SP_PROT_TLS1_2_CLIENT,
    SP_PROT_TLS1_2_SERVER,
    SP_PROT_TLS1_3_CLIENT,
    SP_PROT_TLS1_3_SERVER,
    Role,
)
from sspi_async._status import SEC_SUCCESS
from sspi_async._status import SecurityStatus as S
from sspi_async.packages import ContextRequest, StepResult
from sspi_async.packages._records import split_records
from sspi_async.packages.schannel import SchannelConfig, SchannelContext, SchannelPackage
from sspi_async.testing import CertificateAuthority, IssuedCertificate

CONTINUE, OK = S.SEC_I_CONTINUE_NEEDED, S.SEC_E_OK
PKG = SchannelPackage()
TARGET = "localhost"
TLS12 = SP_PROT_TLS1_2_CLIENT | SP_PROT_TLS1_2_SERVER
TLS13 = SP_PROT_TLS1_3_CLIENT | SP_PROT_TLS1_3_SERVER


@dataclasses.dataclass(frozen=True)
class Certs:
    ca: CertificateAuthority
    other: CertificateAuthority
    server: IssuedCertificate
    client: IssuedCertificate
    expired: IssuedCertificate
    not_yet_valid: IssuedCertificate
    stranger: IssuedCertificate


@cache
def certs() -> Certs:
    now, day = dt.datetime.now(dt.timezone.utc), dt.timedelta(days=1)
    ca, other = CertificateAuthority(), CertificateAuthority(name="untrusted CA")
    return Certs(
        ca,
        other,
        ca.issue(TARGET),
        ca.issue("alice", upn="alice@example.com"),
        ca.issue(TARGET, not_before=now - 9 * day, not_after=now - day),
        ca.issue(TARGET, not_before=now + day, not_after=now + 9 * day),
        other.issue("mallory"),
    )


def presenting(cert: IssuedCertificate, **fields: Any) -> SchannelConfig:
    """A config presenting ``cert`` and trusting the test CA."""
    fields.setdefault("trusted_roots", certs().ca.cert_pem)
    return SchannelConfig(certificate_chain=cert.chain_pem, private_key=cert.key_pem, **fields)


def acquire(use: int, config: SchannelConfig | None) -> Any:
    return PKG.acquire_credentials(None, use, config)


def client(
    config: SchannelConfig | None = None,
    *,
    target: str | None = TARGET,
    flags: int = 0,
    alpn: tuple[bytes, ...] | None = None,
) -> SchannelContext:
    cred = acquire(
        SECPKG_CRED_OUTBOUND, config or SchannelConfig(trusted_roots=certs().ca.cert_pem)
    )
    return PKG.new_context(cred, ContextRequest(Role.CLIENT, target, flags, alpn, os.urandom))


def server(
    config: SchannelConfig | None = None, *, flags: int = 0, alpn: tuple[bytes, ...] | None = None
) -> SchannelContext:
    cred = acquire(SECPKG_CRED_INBOUND, config or presenting(certs().server))
    return PKG.new_context(cred, ContextRequest(Role.SERVER, None, flags, alpn, os.urandom))


@dataclasses.dataclass
class Run:
    """Both sides' step results, and what the last step produced for the peer."""

    client: list[StepResult]
    server: list[StepResult]
    leftover: bytes

    @property
    def shape(self) -> tuple[list[int], list[int]]:
        return [r.status for r in self.client], [r.status for r in self.server]


def drive(c: SchannelContext, s: SchannelContext) -> Run:
    """Ping-pong tokens until both complete, or one fails (its alert then reaches the peer)."""
    run = Run([], [], b"")
    token, side, log, peer, peer_log = b"", c, run.client, s, run.server
    while True:
        result = side.step(token)
        log.append(result)
        for chunk in (result.output,):
            assert split_records(chunk)[0] == len(chunk), "output is not whole records"
        if not SEC_SUCCESS(result.status):
            if result.output and not peer.complete:
                peer_log.append(peer.step(result.output))
            return run
        if c.complete and s.complete:
            run.leftover = result.output
            return run
        token = result.output
        side, log, peer, peer_log = peer, peer_log, side, log


def connected(
    client_config: SchannelConfig | None = None, server_config: SchannelConfig | None = None
) -> tuple[SchannelContext, SchannelContext, Run]:
    c, s = client(client_config), server(server_config)
    run = drive(c, s)
    assert c.complete, run.shape
    assert s.complete, run.shape
    return c, s, run


def absorb_tickets(c: SchannelContext, run: Run) -> None:
    """Let the client read the TLS 1.3 tickets of ``run`` (they precede later server records)."""
    for ticket in record_list(run.leftover):
        assert c.decrypt(ticket).status == S.SEC_I_RENEGOTIATE
        assert c.step(b"").status == OK


def tls12_client(**fields: Any) -> SchannelConfig:
    return SchannelConfig(
        trusted_roots=certs().ca.cert_pem, protocols=SP_PROT_TLS1_2_CLIENT, **fields
    )


def record_list(data: bytes) -> Iterator[bytes]:
    pos = 0
    while pos < len(data):
        end = pos + 5 + int.from_bytes(data[pos + 3 : pos + 5], "big")
        yield data[pos:end]
        pos = end
