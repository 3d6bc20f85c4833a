"""A Python :mod:`ssl` peer (OpenSSL over memory BIOs) for the E4 tests, and the bad records.

:class:`PythonPeer` is one side of a TLS connection as the standard library drives it;
:func:`connect` runs a handshake between it and one of our Pythonic ``SecurityContext`` sides
(post-handshake tickets included, so the sequence numbers match); :func:`reference_alert` asks a
pure OpenSSL pair which alert OpenSSL itself sends for a bad record, the yardstick of E4 ("the
fatal alert a TLS stack sends for it").
"""

from __future__ import annotations

import atexit
import contextlib
import ssl
import tempfile
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Final

from sspi_async import SecurityContext
from sspi_async._flags import Role
from sspi_async.sspi import SEC_I_RENEGOTIATE
from tests.facade.schannel_helpers import TARGET, pki, records

VERSIONS: Final = {"tls1.2": ssl.TLSVersion.TLSv1_2, "tls1.3": ssl.TLSVersion.TLSv1_3}
SIDES: Final = ("client", "server")
#: Plaintext bytes the peer sends in the record the cases start from.
PAYLOAD: Final = b"a record to spoil"
#: A record whose header announces 2^14 + 2049 bytes: one more than TLS 1.2 allows for a
#: ciphertext body (RFC 5246 §6.2.3), beyond TLS 1.3's 2^14 + 256 (RFC 8446 §5.2).
OVERSIZE: Final = 16384 + 2049


def _flip(good: bytes) -> bytes:
    bad = bytearray(good)
    bad[-3] ^= 0x01  # inside the AEAD tag
    return bytes(bad)


#: case name → how to make the bad record from a good application-data record of the peer.
BAD_RECORDS: Final[dict[str, Callable[[bytes], bytes]]] = {
    "flipped_byte": _flip,
    "content_type_0x99": lambda good: b"\x99" + good[1:],
    "oversize_header": lambda good: b"\x17\x03\x03" + OVERSIZE.to_bytes(2, "big"),
    "oversize_record": lambda good: b"\x17\x03\x03" + OVERSIZE.to_bytes(2, "big") + bytes(OVERSIZE),
    # A plaintext fatal handshake_failure alert where only protected records may come.
    "plaintext_alert": lambda good: bytes.fromhex("15 03 03 00 02 02 28"),
}

#: The alert the Python peer reports (OpenSSL's reason name) for each case, as OpenSSL itself
#: answers it (see :func:`reference_alert`; RFC 8446 §5.2, §6.2 and RFC 5246 §6.2, §7.2).
EXPECTED: Final = {
    ("tls1.2", "flipped_byte"): "SSLV3_ALERT_BAD_RECORD_MAC",
    ("tls1.3", "flipped_byte"): "SSLV3_ALERT_BAD_RECORD_MAC",
    # TLS 1.2 authenticates the content type with the body: a changed type is a bad MAC.
    ("tls1.2", "content_type_0x99"): "SSLV3_ALERT_BAD_RECORD_MAC",
    ("tls1.3", "content_type_0x99"): "SSLV3_ALERT_UNEXPECTED_MESSAGE",
    ("tls1.2", "oversize_header"): "TLSV1_ALERT_RECORD_OVERFLOW",
    ("tls1.3", "oversize_header"): "TLSV1_ALERT_RECORD_OVERFLOW",
    ("tls1.2", "oversize_record"): "TLSV1_ALERT_RECORD_OVERFLOW",
    ("tls1.3", "oversize_record"): "TLSV1_ALERT_RECORD_OVERFLOW",
    # TLS 1.3: a plaintext alert after the handshake is an unexpected message (RFC 8446 §5).
    ("tls1.3", "plaintext_alert"): "SSLV3_ALERT_UNEXPECTED_MESSAGE",
}


@cache
def _cert_files() -> tuple[str, str]:
    """The server's certificate and key as files (``ssl`` loads only files), in a temporary
    folder removed when the test process exits: no key is left behind."""
    folder = tempfile.TemporaryDirectory(prefix="sspi-e4-")
    atexit.register(folder.cleanup)
    cert, key = pki().server.write(Path(folder.name), "e4-server")
    return str(cert), str(key)


class PythonPeer:
    """One TLS side as Python's ``ssl`` runs it, over memory BIOs."""

    def __init__(self, version: str, *, server_side: bool) -> None:
        if server_side:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*_cert_files())
        else:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.load_verify_locations(cadata=pki().ca.cert_pem.decode("ascii"))
        context.minimum_version = context.maximum_version = VERSIONS[version]
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        self.obj = context.wrap_bio(
            self.incoming,
            self.outgoing,
            server_side=server_side,
            server_hostname=None if server_side else TARGET,
        )
        self.done = False

    def pump(self, data: bytes = b"") -> bytes:
        """Take ``data``, advance the handshake (or read post-handshake records), return what
        this side wants to send."""
        if data:
            self.incoming.write(data)
        if not self.done:
            try:
                self.obj.do_handshake()
                self.done = True
            except ssl.SSLWantReadError:
                pass
        elif self.incoming.pending:
            with contextlib.suppress(ssl.SSLWantReadError):
                self.obj.read(65536)
        return self.outgoing.read()

    def seal(self, plaintext: bytes) -> bytes:
        """One application-data record carrying ``plaintext``."""
        self.obj.write(plaintext)
        return self.outgoing.read()

    def alert_seen(self, data: bytes) -> str | None:
        """Feed ``data``; the reason name of the ``SSLError`` it raises (the alert it carried),
        or ``None`` when it raises nothing."""
        self.incoming.write(data)
        try:
            while self.incoming.pending:
                self.obj.read(65536)
        except ssl.SSLWantReadError:
            return None
        except ssl.SSLError as exc:
            return exc.reason or str(exc)
        return None


async def connect(ours: SecurityContext, peer: PythonPeer) -> None:
    """Handshake ``ours`` with ``peer``; then deliver post-handshake records both ways (TLS 1.3
    session tickets) so both sides agree on the record sequence numbers."""
    inbound = b""
    if ours.role is Role.CLIENT:
        inbound += peer.pump((await ours.step(None)).token)
    for _ in range(16):
        inbound += peer.pump()
        if ours.complete and peer.done:
            break
        if not ours.complete and inbound:
            outcome = await ours.step(inbound)
            inbound = outcome.extra
            inbound += peer.pump(outcome.token)
    assert ours.complete
    assert peer.done
    inbound += peer.pump()
    while inbound:
        decrypted = ours.decrypt(inbound)
        if decrypted.status == SEC_I_RENEGOTIATE:
            token = (await ours.step(None)).token
            assert not peer.pump(token)
        inbound = decrypted.extra
    assert not peer.pump()


def openssl_pair(version: str, side: str) -> tuple[PythonPeer, PythonPeer]:
    """A pure ``ssl`` pair after its handshake (tickets read): (the side playing ``side``, its
    peer), the yardstick of what OpenSSL itself does."""
    client = PythonPeer(version, server_side=False)
    server = PythonPeer(version, server_side=True)
    flight = client.pump()
    for _ in range(8):
        flight = client.pump(server.pump(flight))
    server.pump(flight)
    client.pump()
    return (client, server) if side == "client" else (server, client)


def reference_alert(version: str, side: str, case: str) -> str | None:
    """What OpenSSL itself answers: a pure ``ssl`` pair, the bad record injected into the side
    playing ``side``; the alert reason its peer then reports."""
    ours, theirs = openssl_pair(version, side)
    bad = BAD_RECORDS[case](theirs.seal(PAYLOAD))
    assert ours.alert_seen(bad) is not None
    return theirs.alert_seen(ours.outgoing.read())


def assert_one_protected_alert(emitted: bytes, version: str) -> None:
    """``emitted`` is exactly one record, and a protected one: TLS 1.3 wraps alerts in
    application_data records (RFC 8446 §5.2); a TLS 1.2 alert record carries more than the two
    plaintext bytes (nonce, ciphertext, tag; RFC 5246 §6.2.3)."""
    (content_type, body), *rest = list(records(emitted))
    assert not rest, "nothing may follow the fatal alert"
    assert content_type == (23 if version == "tls1.3" else 21)
    assert len(body) > 2, "a plaintext alert went out although keys are in use"
