"""E4: fatal alerts are sent, encrypted, and last — Schannel against a Python ``ssl`` peer.

After the handshake our side (client or server, TLS 1.2 and 1.3) is given a bad record: one
flipped ciphertext byte, content type 0x99, a header announcing 2^14 + 2049 bytes (alone, and
with its body), or a plaintext fatal alert. Whatever API the application uses — the flat facade
(DecryptMessage, then the next ISC/ASC with or without ``ApplyControlToken(SCHANNEL_SHUTDOWN)``),
the Pythonic ``SecurityContext`` or ``SspiTLSStream`` — what our side emits is one protected
alert record, the one OpenSSL itself sends for that record (the Python peer reports it), and
nothing after it.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import pytest
from anyio.abc import ByteStream

from sspi_async import (
    Credentials,
    Emulator,
    SecurityContext,
    SimTLSCred,
    SspiError,
    SspiTLSStream,
    acquire_credentials,
    handshake,
)
from sspi_async.packages._alerts import status_for_received_alert
from sspi_async.sspi import (
    SCHANNEL_SHUTDOWN,
    SEC_E_BUFFER_TOO_SMALL,
    SEC_E_ILLEGAL_MESSAGE,
    SEC_E_INCOMPLETE_MESSAGE,
    SEC_E_OK,
    SECBUFFER_ALERT,
    SECBUFFER_DATA,
    SECBUFFER_EMPTY,
    SECBUFFER_TOKEN,
    ULONG,
    AcceptSecurityContext,
    ApplyControlToken,
    CtxtHandle,
    DecryptMessage,
    InitializeSecurityContext,
    SecBuffer,
    SecBufferDesc,
)
from tests.facade.e4_peers import (
    BAD_RECORDS,
    EXPECTED,
    PAYLOAD,
    SIDES,
    VERSIONS,
    PythonPeer,
    assert_one_protected_alert,
    connect,
    openssl_pair,
    reference_alert,
)
from tests.facade.schannel_helpers import TARGET, client_cred, server_cred

CASES = list(itertools.product(VERSIONS, SIDES, BAD_RECORDS))
IDS = ["-".join(case) for case in CASES]


@asynccontextmanager
async def our_side(version: str, side: str) -> AsyncIterator[tuple[SecurityContext, PythonPeer]]:
    """Our Schannel context (Pythonic API) connected to a Python ``ssl`` peer."""
    async with Emulator():
        if side == "client":
            creds = await acquire_credentials(
                "Schannel", "outbound", client_cred(enabled_protocols=[version])
            )
            ours = creds.client_context(TARGET)
        else:
            creds = await acquire_credentials(
                "Schannel", "inbound", server_cred(enabled_protocols=[version])
            )
            ours = creds.server_context()
        peer = PythonPeer(version, server_side=side == "client")
        async with creds, ours:
            await connect(ours, peer)
            yield ours, peer


def check_alert(emitted: bytes, peer: PythonPeer, version: str, side: str, case: str) -> None:
    """One protected record; the peer reports the alert OpenSSL sends for ``case``."""
    assert_one_protected_alert(emitted, version)
    seen = peer.alert_seen(emitted)
    assert seen == reference_alert(version, side, case)
    assert seen == EXPECTED.get((version, case), seen)


@pytest.mark.parametrize(("version", "side", "case"), CASES, ids=IDS)
async def test_e4_pythonic_step_hands_out_the_protected_alert(
    version: str, side: str, case: str
) -> None:
    """E4/T11: decrypt raises; the next step raises with OpenSSL's fatal alert, protected, last."""
    async with our_side(version, side) as (ours, peer):
        with pytest.raises(SspiError):
            ours.decrypt(BAD_RECORDS[case](peer.seal(PAYLOAD)))
        with pytest.raises(SspiError) as failed:
            await ours.step(None)
        emitted = failed.value.token  # type: ignore[attr-defined]
        assert await ours.shutdown() == b""  # never a close_notify after the fatal alert
        with pytest.raises(SspiError) as again:
            await ours.step(None)
        assert again.value.token == b""  # type: ignore[attr-defined]
    check_alert(emitted, peer, version, side, case)


@pytest.mark.parametrize(("version", "side", "case"), CASES, ids=IDS)
async def test_e4_pythonic_shutdown_sends_the_alert_not_close_notify(
    version: str, side: str, case: str
) -> None:
    """E4/M4: after a refused record, shutdown() returns the protected fatal alert, once."""
    async with our_side(version, side) as (ours, peer):
        with pytest.raises(SspiError):
            ours.decrypt(BAD_RECORDS[case](peer.seal(PAYLOAD)))
        emitted = await ours.shutdown()
        assert await ours.shutdown() == b""
    check_alert(emitted, peer, version, side, case)


def _decrypt_desc(record: bytes) -> SecBufferDesc:
    return SecBufferDesc(
        [
            SecBuffer.of(SECBUFFER_DATA, bytearray(record)),
            SecBuffer(SECBUFFER_EMPTY),
            SecBuffer(SECBUFFER_EMPTY),
            SecBuffer(SECBUFFER_EMPTY),
        ]
    )


def _classic_step(ours: SecurityContext, with_alert_buffer: bool) -> tuple[int, bytes]:
    """One classic ISC/ASC on ``ours`` with no input and caller-sized output buffers."""
    buffers = [SecBuffer(SECBUFFER_TOKEN, 1024, bytearray(1024))]
    if with_alert_buffer:
        buffers.append(SecBuffer(SECBUFFER_ALERT, 1024, bytearray(1024)))
    output = SecBufferDesc(buffers)
    new, attrs = CtxtHandle(), ULONG()
    if ours.role.value == "client":
        status = InitializeSecurityContext(
            None, ours.handle, TARGET, 0, 0, 0, None, 0, new, output, attrs
        )
    else:
        status = AcceptSecurityContext(None, ours.handle, None, 0, 0, new, output, attrs)
    return status, b"".join(buf.data() for buf in output.pBuffers)


@pytest.mark.parametrize("shutdown", [False, True], ids=["bare", "after-shutdown"])
@pytest.mark.parametrize(("version", "side", "case"), CASES, ids=IDS)
async def test_e4_flat_decrypt_fails_and_the_next_step_emits_the_alert(
    version: str, side: str, case: str, shutdown: bool
) -> None:
    """E4/T11/M4: DecryptMessage fails; the next ISC/ASC's output is the protected alert."""
    async with our_side(version, side) as (ours, peer):
        bad = BAD_RECORDS[case](peer.seal(PAYLOAD))
        failure = DecryptMessage(ours.handle, _decrypt_desc(bad), 0, None)
        assert failure not in (SEC_E_OK, 0x00090317, 0x00090321)  # not OK/EXPIRED/RENEGOTIATE
        if shutdown:
            control = SecBufferDesc(
                [SecBuffer.of(SECBUFFER_TOKEN, SCHANNEL_SHUTDOWN.to_bytes(4, "little"))]
            )
            assert ApplyControlToken(ours.handle, control) == SEC_E_OK
        status, emitted = _classic_step(ours, with_alert_buffer=not shutdown)
        # After SCHANNEL_SHUTDOWN the shutdown succeeds with the alert; without it the step
        # fails with the DecryptMessage status and the alert in its output (T11).
        assert status == (SEC_E_OK if shutdown else failure)
        later_status, later = _classic_step(ours, with_alert_buffer=True)
        assert later == b""
        assert later_status == failure
    check_alert(emitted, peer, version, side, case)


class PeerTransport(ByteStream):
    """An in-memory anyio transport whose far end is a :class:`PythonPeer`: what our stream sends
    goes through the peer; what the peer writes (and what a test injects) comes back."""

    def __init__(self, peer: PythonPeer) -> None:
        self.peer = peer
        self.send_in, self.receive_out = anyio.create_memory_object_stream[bytes](64)
        self.sent: list[bytes] = []
        self.handshaken = False
        self.closed = False

    def start(self) -> None:
        """The peer's first flight (a client's ClientHello)."""
        self._deliver(self.peer.pump())

    def _deliver(self, data: bytes) -> None:
        if data:
            self.send_in.send_nowait(data)

    def inject(self, data: bytes) -> None:
        """Bytes the network delivers to our side."""
        self._deliver(data)

    async def send(self, item: bytes) -> None:
        if self.closed:
            raise anyio.ClosedResourceError
        if self.handshaken:
            self.sent.append(item)
        else:
            self._deliver(self.peer.pump(item))

    async def receive(self, max_bytes: int = 65536) -> bytes:
        try:
            return await self.receive_out.receive()
        except anyio.EndOfStream:
            raise anyio.EndOfStream from None

    async def send_eof(self) -> None:
        pass

    async def aclose(self) -> None:
        self.closed = True
        self.send_in.close()
        self.receive_out.close()


@pytest.mark.parametrize(("version", "side", "case"), CASES, ids=IDS)
async def test_e4_stream_sends_the_protected_alert_and_nothing_after(
    version: str, side: str, case: str
) -> None:
    """E4: SspiTLSStream.receive raises; the peer got the fatal alert, then nothing (no close)."""
    peer = PythonPeer(version, server_side=side == "client")
    transport = PeerTransport(peer)
    async with Emulator():
        creds: Credentials
        if side == "client":
            creds = await acquire_credentials(
                "Schannel", "outbound", client_cred(enabled_protocols=[version])
            )
        else:
            creds = await acquire_credentials(
                "Schannel", "inbound", server_cred(enabled_protocols=[version])
            )
            transport.start()
        async with creds:
            if side == "client":
                stream = await SspiTLSStream.wrap_client(transport, creds, TARGET)
            else:
                stream = await SspiTLSStream.wrap_server(transport, creds)
            transport.handshaken = True
            # TLS 1.3: let the client side take its session tickets first (sequence numbers).
            transport.inject(peer.pump())
            transport.inject(peer.seal(b"ok"))
            assert await stream.receive() == b"ok"
            for sent in transport.sent:
                peer.pump(sent)
            transport.sent.clear()
            transport.inject(BAD_RECORDS[case](peer.seal(PAYLOAD)))
            with pytest.raises(SspiError):
                await stream.receive()
            with pytest.raises(anyio.BrokenResourceError):
                await stream.send(b"after the alert")
            await stream.aclose()
    check_alert(b"".join(transport.sent), peer, version, side, case)


# --------------------------------------------------------------------------- SimTLS

#: SimTLS: case → (the bad record from a good one, the alert description it must answer with).
SIMTLS_CASES = {
    "flipped_byte": (lambda good: good[:-1] + bytes((good[-1] ^ 1,)), 20),  # bad_record_mac
    "content_type_0x99": (lambda good: b"\x99" + good[1:], 10),  # unexpected_message
    "oversize_header": (BAD_RECORDS["oversize_header"], 22),  # record_overflow
    "oversize_record": (BAD_RECORDS["oversize_record"], 22),
    # once keys are in use an alert must be protected: a bare one is refused
    "plaintext_alert": (lambda good: bytes.fromhex("15 03 03 00 02 02 28"), 10),  # unexpected
    "malformed_alert": (lambda good: bytes.fromhex("15 03 03 00 03 02 28 00"), 20),  # bad MAC
}


@pytest.mark.parametrize("shutdown", [False, True], ids=["bare", "after-shutdown"])
@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("case", SIMTLS_CASES)
async def test_e4_simtls_hands_out_one_fatal_alert_and_nothing_after(
    case: str, side: str, shutdown: bool
) -> None:
    """E4: SimTLS refuses the record; the next step (or shutdown) emits its fatal alert, once."""
    make_bad, description = SIMTLS_CASES[case]
    async with Emulator():
        ccreds = await acquire_credentials(
            "SimTLS", "outbound", SimTLSCred(principal="alice", secret="s3cret")
        )
        screds = await acquire_credentials(
            "SimTLS", "inbound", SimTLSCred(principal="server", secret="s3cret")
        )
        async with ccreds, screds:
            client, server = ccreds.client_context("server"), screds.server_context()
            async with client, server:
                await handshake(client, server)
                ours, theirs = (client, server) if side == "client" else (server, client)
                with pytest.raises(SspiError):
                    ours.decrypt(make_bad(theirs.encrypt(PAYLOAD)))
                if shutdown:
                    emitted = await ours.shutdown()
                else:
                    with pytest.raises(SspiError) as failed:
                        await ours.step(None)
                    emitted = failed.value.token  # type: ignore[attr-defined]
                assert await ours.shutdown() == b""  # nothing after the fatal alert
                with pytest.raises(SspiError):
                    ours.encrypt(b"after the alert")
                # one alert record protected under the keys (2 bytes + a 32-byte HMAC), whose
                # description the peer reads
                assert emitted[:5] == bytes((21, 3, 3, 0, 2 + 32))
                assert len(emitted) == 5 + 2 + 32
                with pytest.raises(SspiError) as seen:
                    theirs.decrypt(emitted)
                assert seen.value.status == status_for_received_alert(description)


@pytest.mark.parametrize("version", VERSIONS)
async def test_e4_shutdown_alert_survives_a_too_small_buffer(version: str) -> None:
    """E4/M4/T2: shutdown into a too-small buffer → BUFFER_TOO_SMALL; the retry gets the alert."""
    async with our_side(version, "server") as (ours, peer):
        bad = BAD_RECORDS["flipped_byte"](peer.seal(PAYLOAD))
        assert DecryptMessage(ours.handle, _decrypt_desc(bad), 0, None) != SEC_E_OK
        control = SecBufferDesc(
            [SecBuffer.of(SECBUFFER_TOKEN, SCHANNEL_SHUTDOWN.to_bytes(4, "little"))]
        )
        assert ApplyControlToken(ours.handle, control) == SEC_E_OK
        small = SecBufferDesc([SecBuffer(SECBUFFER_TOKEN, 4, bytearray(4))])
        status = AcceptSecurityContext(None, ours.handle, None, 0, 0, CtxtHandle(), small, ULONG())
        assert status == SEC_E_BUFFER_TOO_SMALL
        status, emitted = _classic_step(ours, with_alert_buffer=False)
        assert status == SEC_E_OK
    check_alert(emitted, peer, version, "server", "flipped_byte")


@pytest.mark.parametrize("version", list(VERSIONS))
async def test_e4_a_record_with_a_wrong_version_after_the_handshake_is_illegal_message(
    version: str,
) -> None:
    """M2/T11: a record whose version bytes are wrong once the connection is established is a
    protocol violation (SEC_E_ILLEGAL_MESSAGE), not the handshake-time
    'protocol not supported' (SEC_E_UNSUPPORTED_FUNCTION); the context stays failed."""
    async with our_side(version, "client") as (ours, peer):
        good = peer.seal(PAYLOAD)
        bad = good[:2] + bytes((good[2] ^ 0x07,)) + good[3:]
        with pytest.raises(SspiError) as refused:
            ours.decrypt(bad)
        assert refused.value.status == SEC_E_ILLEGAL_MESSAGE
        with pytest.raises(SspiError):
            ours.decrypt(good)


#: Headers OpenSSL refuses on sight (measured with OpenSSL 3.0: it reads a record's header before
#: its body), by the versions that refuse them: a wrong record version, a length beyond what the
#: version's records may carry, and in TLS 1.3 any outer type but application_data.
HEADERS = {
    "version_0x0201": (bytes.fromhex("17 02 01 00 64"), ("tls1.2", "tls1.3")),
    "length_17409": (bytes.fromhex("17 03 03") + (17409).to_bytes(2, "big"), ("tls1.2", "tls1.3")),
    "length_16705": (bytes.fromhex("17 03 03") + (16705).to_bytes(2, "big"), ("tls1.2", "tls1.3")),
    "length_16641": (bytes.fromhex("17 03 03") + (16641).to_bytes(2, "big"), ("tls1.3",)),
    "type_0x99": (bytes.fromhex("99 03 03 00 64"), ("tls1.3",)),
}
HEADER_CASES = [
    (version, side, case)
    for case, (_, versions) in HEADERS.items()
    for version in versions
    for side in SIDES
]


def _openssl_answer_to(version: str, side: str, header: bytes) -> str | None:
    """The alert a pure OpenSSL pair sends when ``side`` receives ``header`` alone."""
    ours, theirs = openssl_pair(version, side)
    assert ours.alert_seen(header) is not None, "OpenSSL waits for this header's body"
    return theirs.alert_seen(ours.outgoing.read())


@pytest.mark.parametrize(
    ("version", "side", "case"), HEADER_CASES, ids=["-".join(c) for c in HEADER_CASES]
)
async def test_e4_a_header_the_stack_refuses_gets_its_alert_before_any_body(
    version: str, side: str, case: str
) -> None:
    """E4: a record header OpenSSL refuses on sight is refused by DecryptMessage at once — not
    answered SEC_E_INCOMPLETE_MESSAGE while a body that may never come is awaited — and the next
    ISC/ASC sends the alert OpenSSL sends for it, protected, last."""
    header = HEADERS[case][0]
    async with our_side(version, side) as (ours, peer):
        failure = DecryptMessage(ours.handle, _decrypt_desc(header), 0, None)
        assert failure not in (SEC_E_OK, SEC_E_INCOMPLETE_MESSAGE)
        status, emitted = _classic_step(ours, with_alert_buffer=False)
        assert status == failure
    assert_one_protected_alert(emitted, version)
    assert peer.alert_seen(emitted) == _openssl_answer_to(version, side, header)


@pytest.mark.parametrize("version", list(VERSIONS))
async def test_e4_a_good_record_arriving_header_first_still_decrypts(version: str) -> None:
    """T4/M2: a record that arrives in pieces (its header first, alone) is answered
    SEC_E_INCOMPLETE_MESSAGE with the right MISSING count, as often as it is asked, and then
    decrypts to its plaintext when whole — the header OpenSSL already read is not fed twice."""
    async with our_side(version, "client") as (ours, peer):
        record = peer.seal(PAYLOAD)
        for piece in (record[:5], record[:5], record[:9]):
            desc = _decrypt_desc(piece)
            assert DecryptMessage(ours.handle, desc, 0, None) == SEC_E_INCOMPLETE_MESSAGE
            assert desc.pBuffers[0].cbBuffer == len(record) - len(piece)
        assert ours.decrypt(record).data == PAYLOAD
        assert ours.decrypt(peer.seal(b"next")).data == b"next"


async def test_e4_a_tls12_header_only_the_body_can_judge_waits_for_the_body() -> None:
    """E4: TLS 1.2 authenticates the content type with the body, so OpenSSL waits for it: a
    type-0x99 header alone is SEC_E_INCOMPLETE_MESSAGE; the whole record then gets bad_record_mac."""
    async with our_side("tls1.2", "server") as (ours, peer):
        bad = BAD_RECORDS["content_type_0x99"](peer.seal(PAYLOAD))
        assert DecryptMessage(ours.handle, _decrypt_desc(bad[:5]), 0, None) == (
            SEC_E_INCOMPLETE_MESSAGE
        )
        with pytest.raises(SspiError):
            ours.decrypt(bad)
        with pytest.raises(SspiError) as failed:
            await ours.step(None)
        emitted = failed.value.token  # type: ignore[attr-defined]
    check_alert(emitted, peer, "tls1.2", "server", "content_type_0x99")
