"""One side of a SimTLS security context (L2): the record layer around the handshake.

The emulator hands :meth:`SimTLSContext.step` whole TLS records. The context walks them one at a
time: handshake records feed the :class:`~._handshake.Handshake` until the peer's flight is
complete, an alert record ends the handshake with the status the alert maps to, anything else is
an unexpected message. It stops right after the record that completes the flight, so whatever
follows (application data, a session ticket) is left unconsumed for the emulator to return as
``SECBUFFER_EXTRA`` (T6). A flight spread over several steps is fine: a step that sees only part
of it consumes those records and answers ``SEC_I_CONTINUE_NEEDED`` with no output, as Schannel
does.

Statuses from :meth:`SimTLSContext.step`:

* ``SEC_I_CONTINUE_NEEDED`` — more handshake to come (output: the next flight, possibly empty).
* ``SEC_E_OK`` — the handshake is complete (output: the last flight, possibly empty, possibly
  followed by a NewSessionTicket record); also every later call (post-handshake records are
  consumed, anything else is left alone).
* ``SEC_E_INVALID_TOKEN`` — the bytes are not a TLS record at all (no alert, T5).
* ``SEC_E_ILLEGAL_MESSAGE`` — a well-formed record with the wrong or a malformed message (alert
  unexpected_message or decode_error in the output).
* ``SEC_E_WRONG_PRINCIPAL``, ``SEC_E_MUTUAL_AUTH_FAILED``, ``SEC_E_LOGON_DENIED``,
  ``SEC_E_APPLICATION_PROTOCOL_MISMATCH`` — failed authentication or negotiation, with the alert.
* the status of :func:`~.._alerts.status_for_received_alert` when the peer sent an alert (no
  output).
* ``SEC_E_INCOMPLETE_MESSAGE`` with ``missing`` — only when called without the emulator and no
  whole record was given; this one is not a failure.

Every failure is sticky: later steps return it again with no output.

E4 in SimTLS's record format: a record :meth:`SimTLSContext.decrypt` refuses after the handshake
(a MAC that does not verify, an unknown content type, a length no record may have, a plaintext
record of a kind that has no business there) ends the context with the fatal alert a TLS stack
sends for it (bad_record_mac, unexpected_message, record_overflow, decode_error; RFC 8446 §6.2).
SimTLS frames every alert as a plain alert record (it has no alert protection: only application
data is HMAC-protected), and the next ISC/ASC (or the ``SCHANNEL_SHUTDOWN`` that asks for
close_notify) hands that alert out, once; nothing goes out after it.

The context's phases (handshaking, open, closed one way or both, alert due, failed) and their
transition table are in :mod:`._phases`; :class:`~sspi_async._machine.Machine` is the only writer
of the phase.
"""

from __future__ import annotations

from typing import Final

from ..._attributes import (
    SecPkgContext_ApplicationProtocol,
    SecPkgContext_CipherInfo,
    SecPkgContext_ConnectionInfo,
    SecPkgContext_StreamSizes,
)
from ..._flags import (
    ASC_REQ_DELEGATE,
    ISC_REQ_DELEGATE,
    ISC_REQ_IDENTIFY,
    SECPKG_ATTR_APPLICATION_PROTOCOL,
    SECPKG_ATTR_CIPHER_INFO,
    SECPKG_ATTR_CONNECTION_INFO,
    SECPKG_CRED_INBOUND,
    SECPKG_CRED_OUTBOUND,
    SP_PROT_TLS1_0_CLIENT,
    SP_PROT_TLS1_0_SERVER,
    SP_PROT_TLS1_1_CLIENT,
    SP_PROT_TLS1_1_SERVER,
    SP_PROT_TLS1_2_CLIENT,
    SP_PROT_TLS1_2_SERVER,
    SP_PROT_TLS1_3_CLIENT,
    SP_PROT_TLS1_3_SERVER,
    TLS1_ALERT_BAD_RECORD_MAC,
    TLS1_ALERT_CLOSE_NOTIFY,
    TLS1_ALERT_DECODE_ERROR,
    TLS1_ALERT_FATAL,
    TLS1_ALERT_RECORD_OVERFLOW,
    TLS1_ALERT_UNEXPECTED_MESSAGE,
    TLS1_ALERT_USER_CANCELED,
    TLS1_ALERT_WARNING,
    Role,
    SecApplicationProtocolNegotiationExt_ALPN,
    SecApplicationProtocolNegotiationExt_None,
    SecApplicationProtocolNegotiationStatus_None,
    SecApplicationProtocolNegotiationStatus_Success,
)
from ..._machine import Machine, Refused
from ..._status import SecurityStatus as S
from .._alerts import alert_for_status, status_for_received_alert
from .._protocol import ContextRequest, DecryptResult, PackageError, PeerIdentity, StepResult
from .._records import (
    CONTENT_ALERT,
    CONTENT_APPLICATION_DATA,
    CONTENT_CHANGE_CIPHER_SPEC,
    CONTENT_HANDSHAKE,
    HEADER_SIZE,
    MAX_FRAGMENT,
    alert_record,
    record_length,
    split_records,
)
from ._config import SimTLSCredential, alpn_wire_ids
from ._handshake import Handshake, HandshakeError, State
from ._keys import MAC_SIZE, RecordKeys
from ._phases import COMPLETE_PHASES, FAILED_PHASES, HANDSHAKE_PHASES, PHASES, Event, Phase

__all__ = ("CIPHER_SUITE", "CIPHER_SUITE_NAME", "SimTLSContext")

#: SimTLS's cipher suite number, from the private-use range 0xFF00-0xFFFF (RFC 8446 §B.4).
CIPHER_SUITE: Final = 0xFF5A
CIPHER_SUITE_NAME: Final = "SIMTLS_SHAKE256_HMAC_SHA256"
#: CryptoAPI ALG_ID of SHA-256 (wincrypt.h), for CONNECTION_INFO.aiHash. SHAKE256 and a PSK
#: exchange have no ALG_ID, so aiCipher and aiExch are 0.
CALG_SHA_256: Final = 0x0000800C

_CONTENT_TYPES: Final = frozenset(
    (CONTENT_CHANGE_CIPHER_SPEC, CONTENT_ALERT, CONTENT_HANDSHAKE, CONTENT_APPLICATION_DATA)
)
#: Longest record body TLS 1.2 allows on the wire (RFC 5246 §6.2.3); beyond it, not a record.
_MAX_WIRE_BODY: Final = MAX_FRAGMENT + 2048

_PROTOCOL_BITS: Final = {
    0x0301: (SP_PROT_TLS1_0_CLIENT, SP_PROT_TLS1_0_SERVER),
    0x0302: (SP_PROT_TLS1_1_CLIENT, SP_PROT_TLS1_1_SERVER),
    0x0303: (SP_PROT_TLS1_2_CLIENT, SP_PROT_TLS1_2_SERVER),
    0x0304: (SP_PROT_TLS1_3_CLIENT, SP_PROT_TLS1_3_SERVER),
}
_KNOWN_ATTRIBUTES: Final = frozenset(
    (SECPKG_ATTR_APPLICATION_PROTOCOL, SECPKG_ATTR_CIPHER_INFO, SECPKG_ATTR_CONNECTION_INFO)
)
_OPEN: Final = Phase.OPEN
_ENCRYPT_REFUSED: Final[dict[int, str]] = {
    S.SEC_E_UNSUPPORTED_FUNCTION: "SimTLS: the handshake is not complete",
    S.SEC_E_CONTEXT_EXPIRED: "SimTLS: the connection is closed",
}


def _not_a_record(data: memoryview, pos: int) -> bool:
    """True when the bytes at ``pos`` (however few) cannot start a TLS record."""
    avail = len(data) - pos
    if data[pos] not in _CONTENT_TYPES:
        return True
    if avail >= 2 and data[pos + 1] != 3:
        return True
    if avail >= 3 and data[pos + 2] > 4:
        return True
    return avail >= HEADER_SIZE and ((data[pos + 3] << 8) | data[pos + 4]) > _MAX_WIRE_BODY


def _received_alert(body: memoryview) -> HandshakeError:
    if len(body) != 2:
        return HandshakeError(
            S.SEC_E_ILLEGAL_MESSAGE, TLS1_ALERT_DECODE_ERROR, "SimTLS: alert record is not 2 bytes"
        )
    return HandshakeError(
        status_for_received_alert(body[1]),
        None,
        f"SimTLS: the peer sent alert {body[1]} (level {body[0]})",
    )


class SimTLSContext:
    """One side of one SimTLS connection (implements ``PackageContext``).

    Raises:
        PackageError: from the constructor: ``SEC_E_INVALID_HANDLE`` for a credential of the wrong
            direction (an OUTBOUND-only credential on a server, INBOUND-only on a client, as Wine's
            Schannel does) or not from SimTLS; ``SEC_E_UNSUPPORTED_FUNCTION`` for
            ``ISC_REQ_DELEGATE``/``ASC_REQ_DELEGATE`` (TLS never delegates, I3);
            ``SEC_E_INVALID_TOKEN`` for an unusable APPLICATION_PROTOCOLS list;
            ``SEC_E_NO_CREDENTIALS`` for a server credential without a principal.
    """

    __slots__ = ("_alert", "_failure", "_hs", "_phase", "_recv", "_send")

    def __init__(self, credential: SimTLSCredential, request: ContextRequest) -> None:
        if not isinstance(credential, SimTLSCredential):
            raise PackageError(
                S.SEC_E_INVALID_HANDLE, "SimTLS: the credential does not belong to SimTLS"
            )
        client = request.role is Role.CLIENT
        if not credential.use & (SECPKG_CRED_OUTBOUND if client else SECPKG_CRED_INBOUND):
            side = "client (ISC)" if client else "server (ASC)"
            raise PackageError(
                S.SEC_E_INVALID_HANDLE,
                f"SimTLS: credential use {credential.use:#x} cannot serve a {side} context",
            )
        if request.flags & (ISC_REQ_DELEGATE if client else ASC_REQ_DELEGATE):
            raise PackageError(
                S.SEC_E_UNSUPPORTED_FUNCTION, "SimTLS: TLS cannot delegate credentials"
            )
        if not client and credential.config.principal is None:
            raise PackageError(S.SEC_E_NO_CREDENTIALS, "SimTLS: a server context needs a principal")
        alpn = credential.alpn
        if request.alpn is not None:
            ids = alpn_wire_ids(request.alpn)
            if ids is None:
                raise PackageError(
                    S.SEC_E_INVALID_TOKEN, "SimTLS: bad APPLICATION_PROTOCOLS id list"
                )
            alpn = ids
        self._hs = Handshake(
            client=client,
            config=credential.config,
            alpn=alpn,
            identify=client and bool(request.flags & ISC_REQ_IDENTIFY),
            # An empty pszTargetName names no one: treat it like NULL.
            target_name=(request.target_name or None) if client else None,
            random=request.random,
        )
        self._phase: Machine[Phase, Event] = Machine(
            "SimTLS context", PHASES, Phase.HANDSHAKING, sticky=Phase.FAILED
        )
        self._failure = 0  # the sticky failure status (in a FAILED_PHASES phase)
        # The record keys, from completion on (data, not state: the phase says whether to use them).
        self._send: RecordKeys | None = None
        self._recv: RecordKeys | None = None
        self._alert = b""  # E4: the fatal alert for the next ISC/ASC after a refused record

    # --- handshake

    @property
    def complete(self) -> bool:
        """True once the handshake finished with ``SEC_E_OK`` (stays True after a later close)."""
        return self._phase.state in COMPLETE_PHASES

    @property
    def phase(self) -> Phase:
        """The current phase (read-only: the context's own events move it)."""
        return self._phase.state

    @property
    def failed(self) -> int | None:
        """The sticky failure status, or ``None``."""
        return self._failure if self._phase.state in FAILED_PHASES else None

    def step(self, data: bytes) -> StepResult:
        """Run one handshake step over whole records (see the module docstring for statuses).

        The client's first call ignores ``data``; a failed step reports all of ``data`` consumed.
        """
        phase = self._phase.state
        if phase in FAILED_PHASES:
            return StepResult(self._failure, self._take_alert())
        hs = self._hs
        try:
            if phase not in HANDSHAKE_PHASES:
                return self._step_after_handshake(data)
            if hs.state is State.CLIENT_START:
                hs.start()
                return StepResult(S.SEC_I_CONTINUE_NEEDED, hs.take_output(), 0, hs.granted)
            return self._step_handshake(data)
        except HandshakeError as error:
            return self._fail(error, len(data))

    def _fail(self, error: HandshakeError, consumed: int) -> StepResult:
        self._failure = error.status
        self._phase.fire(Event.FAIL)
        self._hs.take_output()  # drop a half-built flight
        output = (
            self._alert_record(TLS1_ALERT_FATAL, error.alert) if error.alert is not None else b""
        )
        return StepResult(error.status, output, consumed)

    def _take_alert(self) -> bytes:
        """The stored fatal alert, once (ALERT_DUE → FAILED); then nothing (E4)."""
        alert, self._alert = self._alert, b""
        if self._phase.state is Phase.ALERT_DUE:
            self._phase.fire(Event.ALERT_TAKEN)
        return alert

    def _alert_record(self, level: int, description: int) -> bytes:
        """An alert record: plaintext before the handshake completed (T9), protected under this
        side's keys after it (E4: never a plaintext record once keys are in use)."""
        send = self._send
        if send is None:
            return alert_record(level, description)
        try:
            return b"".join(send.seal(bytes((level, description)), CONTENT_ALERT))
        except OverflowError:
            return b""  # sequence numbers exhausted: nothing more can be sent

    def _step_handshake(self, data: bytes) -> StepResult:
        hs = self._hs
        view = memoryview(data)
        size = len(view)
        pos = 0
        while pos < size:
            if _not_a_record(view, pos):
                raise HandshakeError(
                    S.SEC_E_INVALID_TOKEN, None, "SimTLS: input is not a TLS record"
                )
            length = record_length(view, pos)
            if length is None or pos + length > size:
                break
            end = pos + length
            content_type = view[pos]
            body = view[pos + HEADER_SIZE : end]
            if content_type == CONTENT_HANDSHAKE:
                if not body:
                    raise HandshakeError(
                        S.SEC_E_ILLEGAL_MESSAGE,
                        TLS1_ALERT_DECODE_ERROR,
                        "SimTLS: empty handshake record",
                    )
                if len(body) > MAX_FRAGMENT:
                    raise HandshakeError(
                        S.SEC_E_ILLEGAL_MESSAGE,
                        TLS1_ALERT_RECORD_OVERFLOW,
                        "SimTLS: handshake record too long",
                    )
                flight_done = hs.feed(body)
                pos = end
                if flight_done:
                    return self._answer(pos)
            elif content_type == CONTENT_ALERT:
                raise _received_alert(body)
            else:
                raise HandshakeError(
                    S.SEC_E_ILLEGAL_MESSAGE,
                    TLS1_ALERT_UNEXPECTED_MESSAGE,
                    f"SimTLS: record type {content_type} during the handshake",
                )
        if pos == 0:
            # Only reachable without the emulator, which never passes less than one record.
            _, missing = split_records(data)
            return StepResult(S.SEC_E_INCOMPLETE_MESSAGE, missing=missing)
        return StepResult(S.SEC_I_CONTINUE_NEEDED, b"", pos, hs.granted)

    def _answer(self, consumed: int) -> StepResult:
        hs = self._hs
        output = hs.take_output()
        if not hs.done:
            return StepResult(S.SEC_I_CONTINUE_NEEDED, output, consumed, hs.granted)
        keys = hs.keys
        assert keys is not None
        client_keys = RecordKeys(keys.client_write, keys.client_mac)
        server_keys = RecordKeys(keys.server_write, keys.server_mac)
        if hs.client:
            self._send, self._recv = client_keys, server_keys
        else:
            self._send, self._recv = server_keys, client_keys
        self._phase.fire(Event.DONE)
        return StepResult(S.SEC_E_OK, output, consumed, hs.granted)

    def _step_after_handshake(self, data: bytes) -> StepResult:
        # The follow-up call after SEC_I_RENEGOTIATE (M2), or a late post-handshake record: take
        # handshake records, leave the first other record for DecryptMessage.
        view = memoryview(data)
        size = len(view)
        pos = 0
        while pos < size and view[pos] == CONTENT_HANDSHAKE and not _not_a_record(view, pos):
            length = record_length(view, pos)
            if length is None or pos + length > size:
                break
            self._hs.post_handshake(view[pos + HEADER_SIZE : pos + length])
            pos += length
        return StepResult(S.SEC_E_OK, b"", pos, self._hs.granted)

    def peer(self) -> PeerIdentity | None:
        """The peer once complete: the server's principal on a client; on a server the client's
        (``None`` when anonymous) and whether it asked ``ISC_REQ_IDENTIFY``."""
        if not self.complete:
            return None
        hs = self._hs
        return PeerIdentity(principal=hs.peer_principal, identify_only=hs.peer_identify)

    # --- messages (M1, M2)

    def stream_sizes(self) -> SecPkgContext_StreamSizes:
        """5-byte header, 32-byte trailer (the MAC), 16384-byte messages, no block alignment."""
        return SecPkgContext_StreamSizes(
            cbHeader=HEADER_SIZE,
            cbTrailer=MAC_SIZE,
            cbMaximumMessage=MAX_FRAGMENT,
            cBuffers=4,
            cbBlockSize=1,
        )

    def encrypt(self, plaintext: bytes | memoryview) -> tuple[bytes, bytes, bytes]:
        """Protect ``plaintext`` as one application-data record ``(header, body, trailer)``.

        Raises:
            PackageError: ``SEC_E_UNSUPPORTED_FUNCTION`` before the handshake completed;
                ``SEC_E_CONTEXT_EXPIRED`` after close_notify (or a fatal alert) was sent or
                received, or once the sequence numbers are exhausted; ``SEC_E_BUFFER_TOO_SMALL``
                for more than 16384 bytes.
        """
        machine = self._phase
        if machine.state is not _OPEN:  # OPEN → OPEN needs no lookup (hot path)
            refused = machine.fire(Event.ENCRYPT)
            if isinstance(refused, Refused):
                raise PackageError(S(refused), _ENCRYPT_REFUSED[refused])
        send = self._send
        assert send is not None  # every phase where records flow is a complete one
        if len(plaintext) > MAX_FRAGMENT:
            raise PackageError(
                S.SEC_E_BUFFER_TOO_SMALL,
                f"SimTLS: {len(plaintext)} bytes exceed cbMaximumMessage ({MAX_FRAGMENT})",
            )
        try:
            return send.seal(plaintext)
        except OverflowError as exc:
            raise PackageError(S.SEC_E_CONTEXT_EXPIRED, str(exc)) from exc

    def decrypt(self, record: bytes | memoryview) -> DecryptResult:
        """Unprotect exactly one whole record.

        Statuses: ``SEC_E_OK`` with the plaintext (application data; also an ignored warning
        user_canceled alert, with no plaintext); ``SEC_E_MESSAGE_ALTERED`` when the MAC does not
        verify (the context stays usable and the record's sequence number is not spent);
        ``SEC_I_CONTEXT_EXPIRED`` for close_notify; the :func:`status_for_received_alert` status
        for any other alert, which also ends the context; ``SEC_I_RENEGOTIATE`` for a
        NewSessionTicket (client only); ``SEC_E_ILLEGAL_MESSAGE`` for any other record type or
        post-handshake message; ``SEC_E_INVALID_TOKEN`` when ``record`` is not exactly one record;
        ``SEC_E_UNSUPPORTED_FUNCTION`` before the handshake completed; ``SEC_E_CONTEXT_EXPIRED``
        after close_notify was received or the context failed.
        """
        machine = self._phase
        if machine.state is not _OPEN:  # OPEN → OPEN needs no lookup (hot path)
            refused = machine.fire(Event.DECRYPT)
            if isinstance(refused, Refused):
                return DecryptResult(S(refused))
        recv = self._recv
        assert recv is not None  # every phase where records flow is a complete one
        view = memoryview(record)
        if len(view) < HEADER_SIZE:
            return DecryptResult(S.SEC_E_INVALID_TOKEN)
        content_type = view[0]
        if content_type not in _CONTENT_TYPES:
            # E4: RFC 8446 §5: an unknown record type is unexpected_message.
            return self._refuse(S.SEC_E_ILLEGAL_MESSAGE, TLS1_ALERT_UNEXPECTED_MESSAGE)
        if view[1] != 3:
            return self._refuse(S.SEC_E_ILLEGAL_MESSAGE, TLS1_ALERT_DECODE_ERROR)
        length = record_length(view)
        assert length is not None
        if length - HEADER_SIZE > _MAX_WIRE_BODY:
            # E4: the header alone announces more than a record may carry (RFC 5246 §6.2.3).
            return self._refuse(S.SEC_E_ILLEGAL_MESSAGE, TLS1_ALERT_RECORD_OVERFLOW)
        if length != len(view):
            return DecryptResult(S.SEC_E_INVALID_TOKEN)
        if content_type == CONTENT_APPLICATION_DATA:
            if length - HEADER_SIZE > MAX_FRAGMENT + MAC_SIZE:
                return self._refuse(S.SEC_E_ILLEGAL_MESSAGE, TLS1_ALERT_RECORD_OVERFLOW)
            plaintext = recv.open(view)
            if plaintext is None:
                return self._refuse(S.SEC_E_MESSAGE_ALTERED, TLS1_ALERT_BAD_RECORD_MAC)
            return DecryptResult(S.SEC_E_OK, plaintext)
        if content_type == CONTENT_ALERT:
            if length - HEADER_SIZE == 2:
                # E4: a plaintext alert once keys are in use is unexpected (RFC 8446 §5.1).
                return self._refuse(S.SEC_E_ILLEGAL_MESSAGE, TLS1_ALERT_UNEXPECTED_MESSAGE)
            body = recv.open(view)
            if body is None:
                return self._refuse(S.SEC_E_MESSAGE_ALTERED, TLS1_ALERT_BAD_RECORD_MAC)
            return self._decrypt_alert(memoryview(body))
        if content_type == CONTENT_HANDSHAKE:
            try:
                self._hs.post_handshake(view[HEADER_SIZE:])
            except HandshakeError as error:
                return self._refuse(error.status, error.alert)
            return DecryptResult(S.SEC_I_RENEGOTIATE)
        return self._refuse(S.SEC_E_ILLEGAL_MESSAGE, TLS1_ALERT_UNEXPECTED_MESSAGE)

    def _refuse(self, status: int, description: int | None) -> DecryptResult:
        """E4: a refused record ends the context; its fatal alert waits for the next ISC/ASC."""
        self._failure = status
        if description is None:
            description = alert_for_status(status)
        if description is not None:
            self._alert = self._alert_record(TLS1_ALERT_FATAL, description)
        # No alert (none maps to the status, or the sequence numbers ran out): nothing is due.
        self._phase.fire(Event.REFUSE if self._alert else Event.FAIL)
        return DecryptResult(status)

    def _decrypt_alert(self, body: memoryview) -> DecryptResult:
        if len(body) != 2:
            return self._refuse(S.SEC_E_ILLEGAL_MESSAGE, TLS1_ALERT_DECODE_ERROR)
        level, description = body[0], body[1]
        if description == TLS1_ALERT_CLOSE_NOTIFY:
            self._phase.fire(Event.PEER_CLOSE)
            return DecryptResult(S.SEC_I_CONTEXT_EXPIRED)
        if level == TLS1_ALERT_WARNING and description == TLS1_ALERT_USER_CANCELED:
            # RFC 8446 §6.1: user_canceled is the one other alert that is not fatal; the peer
            # follows it with close_notify.
            return DecryptResult(S.SEC_E_OK)
        # Every other alert ends the connection, whatever its level (RFC 8446 §6.2).
        self._failure = status_for_received_alert(description)
        self._phase.fire(Event.PEER_ALERT)
        return DecryptResult(self._failure)

    def alert(self, level: int, description: int) -> bytes:
        """The alert record: plaintext before the handshake completed (close_notify is
        ``15 03 03 00 02 01 00``), protected under this side's keys after it (E4).

        Works in any state. After close_notify or a fatal alert this side sends no more data
        (:meth:`encrypt` raises ``SEC_E_CONTEXT_EXPIRED``). After a refused record (E4) the
        fatal alert made for it goes out instead, once; then nothing: never a close_notify after
        a fatal alert.

        Raises:
            PackageError: ``SEC_E_INVALID_PARAMETER`` when level or description is not a byte.
        """
        if not (0 <= level <= 0xFF and 0 <= description <= 0xFF):
            raise PackageError(
                S.SEC_E_INVALID_PARAMETER, "SimTLS: alert level and description are bytes"
            )
        phase = self._phase.state
        if phase is Phase.ALERT_DUE or phase is Phase.FAILED:
            return self._take_alert()
        record = self._alert_record(level, description)
        if description == TLS1_ALERT_CLOSE_NOTIFY or level == TLS1_ALERT_FATAL:
            self._phase.fire(Event.LOCAL_CLOSE)
        return record

    # --- attributes (M3)

    def query(self, attribute: int) -> object:
        """APPLICATION_PROTOCOL, CIPHER_INFO and CONNECTION_INFO of a complete context.

        Raises:
            PackageError: ``SEC_E_UNSUPPORTED_FUNCTION`` for any other attribute;
                ``SEC_E_INVALID_HANDLE`` before the handshake completed.
        """
        if attribute not in _KNOWN_ATTRIBUTES:
            raise PackageError(
                S.SEC_E_UNSUPPORTED_FUNCTION, f"SimTLS: attribute {attribute:#x} is not supported"
            )
        if not self.complete:
            raise PackageError(S.SEC_E_INVALID_HANDLE, "SimTLS: the handshake is not complete")
        hs = self._hs
        if attribute == SECPKG_ATTR_APPLICATION_PROTOCOL:
            selected = hs.selected_alpn
            if selected is None:
                return SecPkgContext_ApplicationProtocol(
                    ProtoNegoStatus=SecApplicationProtocolNegotiationStatus_None,
                    ProtoNegoExt=SecApplicationProtocolNegotiationExt_None,
                    ProtocolIdSize=0,
                    ProtocolId=b"",
                )
            return SecPkgContext_ApplicationProtocol(
                ProtoNegoStatus=SecApplicationProtocolNegotiationStatus_Success,
                ProtoNegoExt=SecApplicationProtocolNegotiationExt_ALPN,
                ProtocolIdSize=len(selected),
                ProtocolId=selected,
            )
        if attribute == SECPKG_ATTR_CIPHER_INFO:
            return SecPkgContext_CipherInfo(
                dwVersion=1,
                dwProtocol=hs.version,
                dwCipherSuite=CIPHER_SUITE,
                dwBaseCipherSuite=CIPHER_SUITE,
                szCipherSuite=CIPHER_SUITE_NAME,
                szCipher="SHAKE256",
                dwCipherLen=256,
                dwCipherBlockLen=1,
                szHash="SHA256",
                dwHashLen=256,
                szExchange="PSK",
                dwMinExchangeLen=0,
                dwMaxExchangeLen=0,
                szCertificate="",
                dwKeyType=0,
            )
        client_bit, server_bit = _PROTOCOL_BITS.get(hs.version, (0, 0))
        return SecPkgContext_ConnectionInfo(
            dwProtocol=client_bit if hs.client else server_bit,
            aiCipher=0,
            dwCipherStrength=256,
            aiHash=CALG_SHA_256,
            dwHashStrength=256,
            aiExch=0,
            dwExchStrength=0,
        )
