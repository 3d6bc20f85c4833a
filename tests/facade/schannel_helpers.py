"""Shared setup for the Schannel facade tests (tests/facade/test_schannel_*.py).

One throw-away PKI per test process (:func:`pki`, cached: an RSA key takes a while to make), the
Schannel credential data the tests pass as ``pAuthData`` (:class:`sspi_async.SchannelCred`
models), and a few helpers on top of :mod:`tests.facade.helpers` (whose ``Side``/``handshake``
driver and message helpers work for any TLS-framed package):

* :func:`schannel_pair` acquires an OUTBOUND and an INBOUND Schannel credential on a form;
* :func:`connected` / :func:`connect` run a whole handshake (any form / classic, sync);
  :func:`make_connection` also lets the client read the TLS 1.3 tickets, and
  :func:`client_after_hello` is a client that has only sent its ClientHello;
* :func:`read_tickets` reads post-handshake records the way M2 prescribes;
* :func:`feed_in_pieces` plays a peer that delivers a flight a few bytes at a time, following the
  Schannel reader loop (INCOMPLETE → append; CONTINUE with EXTRA → keep the tail);
* :func:`records` and :func:`offered_versions` take TLS bytes apart.
"""

from __future__ import annotations

import datetime as dt
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from sspi_async import SchannelCred
from sspi_async.sspi import (
    SEC_E_INCOMPLETE_MESSAGE,
    SEC_E_OK,
    SEC_I_CONTINUE_NEEDED,
    SEC_I_RENEGOTIATE,
    SECBUFFER_DATA,
    SECBUFFER_MISSING,
    SECPKG_CRED_INBOUND,
    SECPKG_CRED_OUTBOUND,
    SECURITY_NATIVE_DREP,
    CredHandle,
    CtxtHandle,
    InitializeSecurityContext,
)
from sspi_async.testing import CertificateAuthority, IssuedCertificate
from tests.facade.helpers import (
    ASC_FLAGS,
    ISC_FLAGS,
    ClassicForm,
    Connection,
    Form,
    Side,
    Step,
    decrypt,
    handshake,
    record_length_field,
    run_sync,
    token_out,
)

SCHANNEL = "Schannel"
TARGET = "localhost"
TLS12 = ("tls1.2",)
TLS13 = ("tls1.3",)
CLOSE_NOTIFY_PLAIN = bytes.fromhex("15 03 03 00 02 01 00")
BAD_CERTIFICATE_PLAIN = bytes.fromhex("15 03 03 00 02 02 2a")


@dataclass(frozen=True)
class Pki:
    """The certificates every Schannel facade test draws from.

    Attributes:
        ca: the CA the clients and servers trust.
        other_ca: a CA nobody trusts.
        server: ``localhost`` (EC P-256), issued by ``ca``.
        server_rsa: ``localhost`` with an RSA key (CIPHER_INFO case 32 names RSA suites).
        client: CN ``alice``, UPN ``alice@example.com``, issued by ``ca``.
        stranger: CN ``mallory``, issued by ``other_ca``.
        expired: ``localhost``, notAfter yesterday.
        not_yet_valid: ``localhost``, notBefore tomorrow.
    """

    ca: CertificateAuthority
    other_ca: CertificateAuthority
    server: IssuedCertificate
    server_rsa: IssuedCertificate
    client: IssuedCertificate
    stranger: IssuedCertificate
    expired: IssuedCertificate
    not_yet_valid: IssuedCertificate


@cache
def pki() -> Pki:
    """The process-wide test PKI (made on first use)."""
    now = dt.datetime.now(dt.timezone.utc)
    day = dt.timedelta(days=1)
    ca = CertificateAuthority()
    other = CertificateAuthority(name="untrusted test CA")
    return Pki(
        ca=ca,
        other_ca=other,
        server=ca.issue(TARGET),
        server_rsa=ca.issue(TARGET, key_type="rsa"),
        client=ca.issue("alice", upn="alice@example.com"),
        stranger=other.issue("mallory"),
        expired=ca.issue(TARGET, not_before=now - 10 * day, not_after=now - day),
        not_yet_valid=ca.issue(TARGET, not_before=now + day, not_after=now + 10 * day),
    )


def client_cred(**options: Any) -> SchannelCred:
    """An anonymous Schannel client that trusts the test CA (unless ``trusted_roots`` is given)."""
    options.setdefault("trusted_roots", pki().ca.cert_pem)
    return SchannelCred(**options)


def client_cert_cred(cert: IssuedCertificate | None = None, **options: Any) -> SchannelCred:
    """A Schannel client presenting ``cert`` (default: alice) and trusting the test CA."""
    options.setdefault("trusted_roots", pki().ca.cert_pem)
    return (cert or pki().client).schannel_cred(**options)


def server_cred(cert: IssuedCertificate | None = None, **options: Any) -> SchannelCred:
    """A Schannel server presenting ``cert`` (default: localhost), trusting the test CA for
    client certificates."""
    options.setdefault("trusted_roots", pki().ca.cert_pem)
    return (cert or pki().server).schannel_cred(**options)


async def schannel_pair(
    form: Form, client: object | None = None, server: object | None = None
) -> tuple[CredHandle, CredHandle]:
    """An OUTBOUND and an INBOUND Schannel credential (defaults: :func:`client_cred`,
    :func:`server_cred`)."""
    status, ccred, _ = await form.acquire(
        SECPKG_CRED_OUTBOUND, client_cred() if client is None else client, package=SCHANNEL
    )
    assert status == SEC_E_OK, hex(status)
    status, scred, _ = await form.acquire(
        SECPKG_CRED_INBOUND, server_cred() if server is None else server, package=SCHANNEL
    )
    assert status == SEC_E_OK, hex(status)
    return ccred, scred


async def connected(
    form: Form, client: object | None = None, server: object | None = None, **options: Any
) -> Connection:
    """A complete Schannel connection on ``form`` (target ``localhost`` unless given)."""
    options.setdefault("target", TARGET)
    ccred, scred = await schannel_pair(form, client, server)
    conn = await handshake(form, ccred, scred, **options)
    assert not conn.failed, (conn.client.statuses, conn.server.statuses)
    return conn


def connect(
    client: object | None = None, server: object | None = None, **options: Any
) -> Connection:
    """A complete Schannel connection made with the classic functions (sync tests)."""
    return run_sync(connected(ClassicForm(), client, server, **options))


def make_connection(tls: str, **options: Any) -> Connection:
    """A complete connection whose TLS 1.3 tickets the client has already read."""
    client = options.pop("client", None) or (
        client_cred(enabled_protocols=TLS12) if tls == "tls12" else client_cred()
    )
    conn = connect(client, options.pop("server", None))
    read_tickets(conn.client, conn.leftover)
    return conn


def client_after_hello() -> tuple[CredHandle, CtxtHandle]:
    """A client context that has only sent its ClientHello (Wine's test_connection_shutdown)."""
    form = ClassicForm()
    ccred, _ = run_sync(schannel_pair(form))
    side = Side(True, ccred, ISC_FLAGS, TARGET)
    assert run_sync(side.step(form, None)).status == SEC_I_CONTINUE_NEEDED
    return ccred, side.handle


def sides(ccred: CredHandle, scred: CredHandle, **client_options: Any) -> tuple[Side, Side]:
    """A fresh client (target ``localhost``) and server :class:`Side`."""
    client_options.setdefault("target", TARGET)
    return Side(True, ccred, ISC_FLAGS, **client_options), Side(False, scred, ASC_FLAGS)


def read_tickets(client: Side, data: bytes) -> int:
    """Hand post-handshake records (TLS 1.3 session tickets) to the client as an application
    would (M2): each DecryptMessage → SEC_I_RENEGOTIATE with an empty DATA buffer, and the
    follow-up ISC with pInput None → SEC_E_OK with no output. Returns how many there were."""
    count = 0
    for kind, body in records(data):
        status, desc = decrypt(
            client.handle, bytes((kind, 3, 3)) + len(body).to_bytes(2, "big") + body
        )
        assert status == SEC_I_RENEGOTIATE, hex(status)
        assert desc.pBuffers[1].BufferType == SECBUFFER_DATA
        assert desc.pBuffers[1].cbBuffer == 0
        out = token_out(1000)
        status = InitializeSecurityContext(
            client.cred,
            client.ctx,
            None,
            0,
            0,
            SECURITY_NATIVE_DREP,
            None,
            0,
            client.ctx,
            out,
            None,
        )
        assert status == SEC_E_OK, hex(status)
        assert out.pBuffers[0].cbBuffer == 0
        count += 1
    return count


def expected_missing(received: bytes) -> int:
    """What MISSING must say for ``received`` (which starts at a record boundary) [22–24]."""
    if len(received) < 5:
        return 5 - len(received)
    return 5 + record_length_field(received) - len(received)


async def feed_in_pieces(
    form: Form, side: Side, flight: bytes, chunk: int
) -> tuple[list[Step], bytes]:
    """Deliver ``flight`` to ``side`` ``chunk`` bytes at a time, as a socket reader would.

    INCOMPLETE must leave phNewContext unwritten and report the exact MISSING count; the caller
    appends. CONTINUE/OK may leave an EXTRA tail, which starts the next read. Returns the steps
    and everything ``side`` produced for its peer.
    """
    steps: list[Step] = []
    produced = b""
    pending = b""
    pos = 0
    while pos < len(flight) or pending:
        if pos < len(flight):
            pending += flight[pos : pos + chunk]
            pos += chunk
        step = await side.step(form, pending)
        steps.append(step)
        if step.status == SEC_E_INCOMPLETE_MESSAGE:
            assert step.in_desc is not None
            missing = step.in_desc.pBuffers[1]
            assert missing.BufferType == SECBUFFER_MISSING
            assert missing.cbBuffer == expected_missing(pending), (len(pending), missing.cbBuffer)
            assert step.new_ctx.dwLower == step.new_ctx.dwUpper == 0xDEADBEEF
            assert pos < len(flight), "INCOMPLETE with the whole flight delivered"
            continue
        assert step.status in (SEC_I_CONTINUE_NEEDED, SEC_E_OK), hex(step.status)
        produced += step.output
        pending = step.extra
        if step.status == SEC_E_OK:
            break
    return steps, produced


def records(data: bytes) -> Iterator[tuple[int, bytes]]:
    """``(content type, body)`` of each whole TLS record in ``data``."""
    pos = 0
    while pos + 5 <= len(data):
        size = (data[pos + 3] << 8) | data[pos + 4]
        yield data[pos], data[pos + 5 : pos + 5 + size]
        pos += 5 + size
    assert pos == len(data), "trailing partial record"


def offered_versions(client_hello: bytes) -> tuple[int, list[int]]:
    """``(legacy_version, supported_versions)`` of a ClientHello record (RFC 8446 §4.1.2)."""
    (kind, body), *_ = records(client_hello)
    assert kind == 22, "not a handshake record"
    assert body[0] == 1, "not a ClientHello"
    pos = 4
    legacy = struct.unpack_from(">H", body, pos)[0]
    pos += 2 + 32
    pos += 1 + body[pos]  # session id
    pos += 2 + struct.unpack_from(">H", body, pos)[0]  # cipher suites
    pos += 1 + body[pos]  # compression methods
    end = pos + 2 + struct.unpack_from(">H", body, pos)[0]
    pos += 2
    while pos < end:
        ext, size = struct.unpack_from(">HH", body, pos)
        pos += 4
        if ext == 43:  # supported_versions
            data = body[pos + 1 : pos + 1 + body[pos]]
            return legacy, [struct.unpack_from(">H", data, i)[0] for i in range(0, len(data), 2)]
        pos += size
    return legacy, []
