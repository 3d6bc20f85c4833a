"""One side of a Schannel security context (L2): OpenSSL over memory BIOs, Schannel on top.

Theory of operation
-------------------
Each context owns an :class:`ssl.SSLObject` between two :class:`ssl.MemoryBIO`\\ s. The emulator
hands :meth:`SchannelContext.step` whole TLS records (T1–T7 are the emulator's); the step writes
them into the incoming BIO, runs ``do_handshake`` and answers with what OpenSSL wrote:

* ``SSLWantReadError`` → ``SEC_I_CONTINUE_NEEDED`` with the next flight (possibly empty).
* ``do_handshake`` returns → ``SEC_E_OK`` with the last flight (TLS 1.3 client Finished; TLS 1.2
  server ChangeCipherSpec/Finished; TLS 1.3 server session tickets), T8; a server that received a
  client certificate grants ``ASC_RET_MUTUAL_AUTH`` (T14). OpenSSL reads records
  one at a time (no read-ahead), so bytes after the completing record are still in the BIO: they
  are taken out and reported unconsumed, and the emulator returns them as ``SECBUFFER_EXTRA``.
* ``ssl.SSLError`` → the status of :func:`~._translate.status_for_ssl_error` with the alert
  OpenSSL wrote, if any (T11). Failures are sticky.

After completion, :meth:`decrypt` feeds one record and reads: plaintext → ``SEC_E_OK``; nothing
(a TLS 1.3 NewSessionTicket or KeyUpdate was processed) → ``SEC_I_RENEGOTIATE``, and whatever
OpenSSL wants to send back (a KeyUpdate reply) waits for the follow-up ISC/ASC step, which
returns it with ``SEC_E_OK`` (M2); close_notify → ``SEC_I_CONTEXT_EXPIRED``. A refused record
(bad MAC, unknown content type, overflowing length, a plaintext alert: whatever OpenSSL refuses)
fails the context with the fatal alert OpenSSL wrote under the current keys; the next ISC/ASC
hands it out, and nothing goes out after it (E4). The phases and their table are in
:mod:`._phases`.
"""

from __future__ import annotations

import contextlib
import ssl
import struct
from typing import Final

from cryptography import x509

from ..._attributes import (
    SecPkgContext_ApplicationProtocol,
    SecPkgContext_Bindings,
    SecPkgContext_CipherInfo,
    SecPkgContext_ConnectionInfo,
    SecPkgContext_RemoteCertContext,
    SecPkgContext_StreamSizes,
)
from ..._flags import (
    ASC_REQ_DELEGATE,
    ASC_REQ_MUTUAL_AUTH,
    ASC_RET_MUTUAL_AUTH,
    ISC_REQ_MANUAL_CRED_VALIDATION,
    SECPKG_ATTR_APPLICATION_PROTOCOL,
    SECPKG_ATTR_CIPHER_INFO,
    SECPKG_ATTR_CONNECTION_INFO,
    SECPKG_ATTR_ENDPOINT_BINDINGS,
    SECPKG_ATTR_REMOTE_CERT_CONTEXT,
    SECPKG_ATTR_UNIQUE_BINDINGS,
    SP_PROT_TLS1_2_CLIENT,
    SP_PROT_TLS1_2_SERVER,
    SP_PROT_TLS1_3_CLIENT,
    SP_PROT_TLS1_3_SERVER,
    TLS1_ALERT_CLOSE_NOTIFY,
    TLS1_ALERT_FATAL,
    TLS1_ALERT_NO_APP_PROTOCOL,
    TLS1_ALERT_WARNING,
    Role,
    SecApplicationProtocolNegotiationExt_ALPN,
    SecApplicationProtocolNegotiationExt_None,
    SecApplicationProtocolNegotiationStatus_None,
    SecApplicationProtocolNegotiationStatus_Success,
)
from ..._machine import Machine, Refused
from ..._status import SecurityStatus as S
from .._protocol import ContextRequest, DecryptResult, PackageError, PeerIdentity, StepResult
from .._records import MAX_FRAGMENT, alert_record
from ._credential import ClientKey, SchannelCredential, ServerKey
from ._phases import COMPLETE_PHASES, FAILED_PHASES, PHASES, Event, Phase
from ._suites import ALG_ID, SUITES_BY_OPENSSL, Suite, record_overhead
from ._translate import status_for_ssl_error
from ._x509 import end_point_hash, key_type, mapped_account, subject_name

__all__ = ("SchannelContext",)

#: ``_ssl.ENCODING_DER``: the encoding argument of ``_ssl.Certificate.public_bytes``.
_ENCODING_DER: Final = 2
#: SEC_CHANNEL_BINDINGS: eight DWORDs before the application data (case 29).
_BINDINGS_HEADER: Final = struct.Struct("<8I")
_SERVER_END_POINT: Final = b"tls-server-end-point:"
_TLS_UNIQUE: Final = b"tls-unique:"
_WIRE_VERSION: Final = {"TLSv1.2": 0x0303, "TLSv1.3": 0x0304}


_OPEN: Final = Phase.OPEN
_ENCRYPT_REFUSED: Final[dict[int, str]] = {
    S.SEC_E_UNSUPPORTED_FUNCTION: "Schannel: the handshake is not complete",
    S.SEC_E_CONTEXT_EXPIRED: "Schannel: the connection is closed",
    S.SEC_E_OUT_OF_SEQUENCE: (
        "Schannel: call InitializeSecurityContext/AcceptSecurityContext after "
        "SEC_I_RENEGOTIATE to send the pending post-handshake reply first"
    ),
}


def _alpn_text(ids: tuple[bytes, ...]) -> tuple[str, ...]:
    try:
        return tuple(i.decode("ascii") for i in ids)
    except UnicodeDecodeError as exc:
        # ssl.SSLContext.set_alpn_protocols accepts ASCII ids only.
        raise PackageError(
            S.SEC_E_INVALID_TOKEN, "Schannel: ALPN protocol ids must be ASCII for OpenSSL"
        ) from exc


class SchannelContext:
    """One side of a Schannel connection (implements ``PackageContext``).

    Raises:
        PackageError: from the constructor: ``SEC_E_UNSUPPORTED_FUNCTION`` for
            ``ASC_REQ_DELEGATE`` (I3: Schannel never delegates), ``SEC_E_TARGET_UNKNOWN`` for a
            ``pszTargetName`` OpenSSL cannot use as a host name, and the credential's errors.
    """

    __slots__ = (
        "_alert",
        "_chain",
        "_credential",
        "_failure",
        "_header_fed",
        "_in",
        "_mapped",
        "_out",
        "_peer_cert",
        "_peer_der",
        "_pending",
        "_phase",
        "_role",
        "_sizes",
        "_ssl",
        "_suite",
    )

    def __init__(self, credential: SchannelCredential, request: ContextRequest) -> None:
        self._credential = credential
        self._role = request.role
        config = credential.config
        key: ClientKey | ServerKey
        if request.role is Role.SERVER:
            if request.flags & ASC_REQ_DELEGATE:
                raise PackageError(
                    S.SEC_E_UNSUPPORTED_FUNCTION, "Schannel: TLS cannot delegate credentials"
                )
            if config.require_client_certificate:
                mode = ssl.CERT_REQUIRED
            elif request.flags & ASC_REQ_MUTUAL_AUTH:
                mode = ssl.CERT_OPTIONAL  # T14: ask for a client certificate
            else:
                mode = ssl.CERT_NONE
            # T12 [40]: an APPLICATION_PROTOCOLS buffer in the first ASC input sets the server's
            # preferences for this context, as the credential's alpn does for every context.
            key = ServerKey(mode, _alpn_text(request.alpn) if request.alpn else config.alpn)
        else:
            verify = not request.flags & ISC_REQ_MANUAL_CRED_VALIDATION
            alpn = _alpn_text(request.alpn) if request.alpn else config.alpn
            key = ClientKey(verify, verify and bool(request.target_name), alpn)
        context = credential.ssl_context(key)
        self._in = ssl.MemoryBIO()
        self._out = ssl.MemoryBIO()
        try:
            self._ssl = context.wrap_bio(
                self._in,
                self._out,
                server_side=request.role is Role.SERVER,
                server_hostname=request.target_name or None
                if request.role is Role.CLIENT
                else None,
            )
        except (ValueError, TypeError, UnicodeError) as exc:
            # TypeError: a name with a NUL character (CPython refuses it before IDNA encoding).
            raise PackageError(
                S.SEC_E_TARGET_UNKNOWN,
                f"Schannel: pszTargetName {request.target_name!r} is not a usable host name",
            ) from exc
        self._phase: Machine[Phase, Event] = Machine(
            "Schannel context", PHASES, Phase.HANDSHAKING, sticky=Phase.FAILED
        )
        self._failure = 0  # the sticky failure status (in a FAILED_PHASES phase)
        self._alert = b""  # ALERT_PENDING: the fatal alert for the next ISC/ASC (E4)
        self._pending = b""  # REPLY_PENDING: post-handshake output for the follow-up ISC/ASC
        # The header of a record whose body has not arrived, already given to OpenSSL (E4):
        # when the whole record comes, only its body is written.
        self._header_fed = b""
        self._suite: Suite | None = None
        self._sizes: SecPkgContext_StreamSizes | None = None
        # The peer's certificate as OpenSSL verified it (DER), parsed and its chain read only when
        # asked for: most connections never look, and parsing costs as much as a record.
        self._peer_der: bytes | None = None
        self._peer_cert: x509.Certificate | None = None
        self._chain: list[bytes] | None = None
        self._mapped: str | None = None

    # ------------------------------------------------------------------ handshake

    @property
    def complete(self) -> bool:
        """True once the handshake finished with ``SEC_E_OK``."""
        return self._phase.state in COMPLETE_PHASES

    @property
    def phase(self) -> Phase:
        """The current phase (read-only: the context's own events move it)."""
        return self._phase.state

    def step(self, data: bytes) -> StepResult:
        """One ISC/ASC step over ``data`` (whole records); see the module docstring.

        After a refused record (ALERT_PENDING) the step returns the failure status with the
        fatal alert to send, once; later steps return the status alone (T11, E4).
        """
        phase = self._phase.state
        if phase in FAILED_PHASES:
            return StepResult(self._failure, self._take_alert())
        if phase is not Phase.HANDSHAKING:
            # The follow-up after SEC_I_RENEGOTIATE (M2): hand out OpenSSL's reply, if any;
            # input bytes are application data for DecryptMessage, left unconsumed.
            output, self._pending = self._pending, b""
            self._phase.fire(Event.REPLY_TAKEN)
            return StepResult(S.SEC_E_OK, output, 0)
        if data:
            self._in.write(data)
        try:
            self._ssl.do_handshake()
        except ssl.SSLWantReadError:
            done = False
        except ssl.SSLError as exc:
            return self._fail(status_for_ssl_error(exc), len(data))
        else:
            done = True
        output = self._out.read()
        if (
            self._role is Role.SERVER
            and (output or done)
            and self._credential.config.alpn_required
            and self._ssl.selected_alpn_protocol() is None
        ):
            # T12: no common protocol and the server requires one. The flight OpenSSL wrote is
            # dropped; the alert goes out in the clear, as before any key was shared.
            self._failure = S.SEC_E_APPLICATION_PROTOCOL_MISMATCH
            self._phase.fire(Event.FAIL)
            return StepResult(
                self._failure,
                alert_record(TLS1_ALERT_FATAL, TLS1_ALERT_NO_APP_PROTOCOL),
                len(data),
            )
        if not done:
            return StepResult(S.SEC_I_CONTINUE_NEEDED, output, len(data))
        leftover = self._in.pending
        if leftover:
            self._in.read()  # the emulator hands these back to the caller as EXTRA (T6)
        self._finish_handshake()
        # T9/T14: a server that received (and verified) a client certificate did mutual
        # authentication, whether or not the certificate maps to an account; the emulator grants
        # ASC_RET_MUTUAL_AUTH by itself only for a mapped principal.
        mutual = self._role is Role.SERVER and self._peer_der is not None
        return StepResult(
            S.SEC_E_OK, output, len(data) - leftover, ASC_RET_MUTUAL_AUTH if mutual else 0
        )

    def _fail(self, status: int, consumed: int) -> StepResult:
        self._failure = status
        self._phase.fire(Event.FAIL)
        self._in.read()
        return StepResult(status, self._out.read(), consumed)

    def _take_alert(self) -> bytes:
        """The stored fatal alert, once (ALERT_PENDING → FAILED); then nothing (E4)."""
        alert, self._alert = self._alert, b""
        if self._phase.state is Phase.ALERT_PENDING:
            self._phase.fire(Event.ALERT_TAKEN)
        return alert

    def _finish_handshake(self) -> None:
        self._phase.fire(Event.DONE)
        self._suite = SUITES_BY_OPENSSL.get((self._ssl.cipher() or ("",))[0])
        self._peer_der = self._ssl.getpeercert(binary_form=True) or None
        if self._peer_der is not None and self._role is Role.SERVER:
            mapping = self._credential.config.client_certificate_mapping
            cert = self._certificate() if mapping else None
            if cert is not None:
                self._mapped = mapped_account(cert, mapping)

    def _certificate(self) -> x509.Certificate | None:
        """The peer's certificate (``cryptography``), parsed on first use."""
        if self._peer_cert is None and self._peer_der is not None:
            self._peer_cert = x509.load_der_x509_certificate(self._peer_der)
        return self._peer_cert

    def _peer_chain(self) -> list[bytes]:
        """The chain the peer sent, leaf first (DER), read from OpenSSL on first use."""
        if self._chain is None:
            der = self._peer_der
            chain_of = getattr(getattr(self._ssl, "_sslobj", None), "get_unverified_chain", None)
            sent = chain_of() if chain_of is not None and der is not None else None
            if sent:
                self._chain = [c.public_bytes(_ENCODING_DER) for c in sent]
            else:
                self._chain = [der] if der is not None else []
        return self._chain

    def peer(self) -> PeerIdentity | None:
        """Who the peer proved to be, once complete.

        Server side: ``principal`` is the account the client certificate maps to
        (``client_certificate_mapping``), ``None`` without a certificate or a mapping; a client
        token exists only then (reference §4.3), so no anonymous token either. Schannel cannot
        learn the client's ISC_REQ_IDENTIFY, so the level is always IMPERSONATE (I3).
        """
        if self._phase.state not in COMPLETE_PHASES:
            return None
        cert = self._certificate()
        name = subject_name(cert) if cert is not None else None
        der = self._peer_der
        if self._role is Role.SERVER:
            return PeerIdentity(self._mapped, certificate=der, name=name, anonymous_token=False)
        return PeerIdentity(name, certificate=der, name=name)

    # ------------------------------------------------------------------ messages

    def stream_sizes(self) -> SecPkgContext_StreamSizes:
        """Header and trailer of the negotiated suite's records; 16 KiB messages (M1, M3).

        Computed once the handshake completed (the emulator asks two or three times per record)
        and shared: the emulator copies it before handing it to an application."""
        sizes = self._sizes
        if sizes is None:
            suite = self._suite
            header, trailer = record_overhead(suite) if suite is not None else (5, 17)
            block = 16 if suite is None or suite.cipher == "AES" else 1
            sizes = SecPkgContext_StreamSizes(header, trailer, MAX_FRAGMENT, 4, block)
            if self._phase.state in COMPLETE_PHASES:
                self._sizes = sizes
        return sizes

    def encrypt(self, plaintext: bytes | memoryview) -> tuple[bytes, memoryview, bytes]:
        """Protect ``plaintext`` as exactly one record (M1).

        Raises:
            PackageError: ``SEC_E_UNSUPPORTED_FUNCTION`` before completion;
                ``SEC_E_CONTEXT_EXPIRED`` after a failure or a close; ``SEC_E_OUT_OF_SEQUENCE``
                while a post-handshake reply waits for the follow-up ISC/ASC (sending data first
                would put records on the wire out of order); ``SEC_E_INVALID_PARAMETER`` for empty
                data (OpenSSL never emits an empty application-data record);
                ``SEC_E_BUFFER_TOO_SMALL`` for more than 16 KiB.
        """
        machine = self._phase
        if machine.state is not _OPEN:  # OPEN → OPEN needs no lookup (hot path)
            refused = machine.fire(Event.ENCRYPT)
            if isinstance(refused, Refused):
                raise PackageError(refused, _ENCRYPT_REFUSED[refused])
        if not plaintext:
            raise PackageError(
                S.SEC_E_INVALID_PARAMETER, "Schannel: OpenSSL cannot send an empty record"
            )
        if len(plaintext) > MAX_FRAGMENT:
            raise PackageError(S.SEC_E_BUFFER_TOO_SMALL, "Schannel: at most 16384 bytes per record")
        try:
            self._ssl.write(plaintext)
        except ssl.SSLError as exc:
            raise PackageError(
                status_for_ssl_error(exc), "Schannel: OpenSSL refused to write"
            ) from exc
        record = self._out.read()
        header = self.stream_sizes().cbHeader
        body_end = header + len(plaintext)
        # The body as a view of the record: the emulator copies it once, into the caller's buffer.
        return record[:header], memoryview(record)[header:body_end], record[body_end:]

    def decrypt(self, record: bytes | memoryview) -> DecryptResult:
        """Unprotect exactly one record (M2); see the module docstring for the statuses."""
        machine = self._phase
        if machine.state is not _OPEN:  # OPEN → OPEN needs no lookup (hot path)
            refused = machine.fire(Event.DECRYPT)
            if isinstance(refused, Refused):
                # A failed context answers with its own failure status (T11).
                failed = int(refused) == S.SEC_E_CONTEXT_EXPIRED and self._failure
                return DecryptResult(self._failure if failed else refused)
        if len(record) == 5 and (record[3] or record[4]):
            # A header alone, its body on its way (``judges_headers``): OpenSSL reads it now, as
            # from a socket, and refuses a bad one at once (E4); else wait for the body.
            header = bytes(record[:5])
            if header == self._header_fed:
                return DecryptResult(S.SEC_E_INCOMPLETE_MESSAGE)
            self._header_fed = header
            record = header
        elif self._header_fed:
            fed, self._header_fed = self._header_fed, b""
            record = record[len(fed) :]
        self._in.write(record)
        try:
            # One record carries at most MAX_FRAGMENT bytes (RFC 8446 §5.1): one read takes all.
            plaintext = self._ssl.read(MAX_FRAGMENT)
            if not plaintext:  # Python's SSLObject returns b"" for a close_notify
                raise ssl.SSLZeroReturnError
        except ssl.SSLWantReadError:
            if self._header_fed:
                return DecryptResult(S.SEC_E_INCOMPLETE_MESSAGE)
            plaintext = b""
        except ssl.SSLZeroReturnError:
            machine.fire(Event.PEER_CLOSE)
            return DecryptResult(S.SEC_I_CONTEXT_EXPIRED)
        except ssl.SSLError as exc:
            # E4: OpenSSL refused the record and wrote its fatal alert under the current keys
            # (RFC 8446 §6.2, RFC 5246 §7.2); the next ISC/ASC hands it out (T11).
            self._failure = status_for_ssl_error(exc, established=True)
            self._header_fed = b""
            self._in.read()
            self._alert = self._out.read()
            machine.fire(Event.REFUSE if self._alert else Event.FAIL)
            return DecryptResult(self._failure)
        if plaintext:
            return DecryptResult(S.SEC_E_OK, plaintext)
        # A post-handshake message. A KeyUpdate asking for our update leaves OpenSSL with a reply
        # to send; on a finished connection only a write flushes it (an empty one writes no
        # record), and the follow-up ISC/ASC hands it out before any data record.
        with contextlib.suppress(ssl.SSLError):
            self._ssl.write(b"")
        reply = self._out.read()
        if reply:
            self._pending += reply
            machine.fire(Event.REPLY_QUEUED)
        return DecryptResult(S.SEC_I_RENEGOTIATE)

    def alert(self, level: int, description: int) -> bytes:
        """The record that carries this alert now (M4).

        During the handshake the alert goes out as a plaintext record (T9); a fatal one fails
        the context. After it only close_notify can be sent: OpenSSL has no API to send another
        alert under the connection's keys. Once the context failed (E4), whatever was asked for:
        the fatal alert OpenSSL wrote for a refused record, if it has not gone out yet, else
        nothing — never a close_notify after a fatal alert, never a plaintext record once keys
        are in use.

        Raises:
            PackageError: ``SEC_E_UNSUPPORTED_FUNCTION`` for another alert after completion.
        """
        machine = self._phase
        phase = machine.state
        if phase in FAILED_PHASES:
            return self._take_alert()
        if phase is Phase.HANDSHAKING:
            if level == TLS1_ALERT_FATAL:
                self._failure = S.SEC_E_CONTEXT_EXPIRED
                machine.fire(Event.FAIL)
            return alert_record(level, description)
        if (level, description) != (TLS1_ALERT_WARNING, TLS1_ALERT_CLOSE_NOTIFY):
            raise PackageError(
                S.SEC_E_UNSUPPORTED_FUNCTION,
                "Schannel: after the handshake only close_notify can be sent (OpenSSL limit)",
            )
        if phase in (Phase.CLOSING, Phase.CLOSED):
            return b""
        machine.fire(Event.LOCAL_CLOSE)
        # A post-handshake reply still waiting goes first: records leave in order (M2).
        pending, self._pending = self._pending, b""
        # WantRead only means the peer's close_notify has not come yet; ours is written.
        with contextlib.suppress(ssl.SSLError):
            self._ssl.unwrap()
        return pending + self._out.read()

    # ------------------------------------------------------------------ attributes

    def query(self, attribute: int) -> object:
        """CONNECTION_INFO, CIPHER_INFO, APPLICATION_PROTOCOL, REMOTE_CERT_CONTEXT,
        ENDPOINT_BINDINGS and UNIQUE_BINDINGS (M3; the emulator answers the generic ones).

        Raises:
            PackageError: ``SEC_E_UNSUPPORTED_FUNCTION`` for other attributes and for
                UNIQUE_BINDINGS on TLS 1.3 (tls-unique is undefined there, RFC 8446 §C.5);
                ``SEC_E_NO_CREDENTIALS`` for REMOTE_CERT_CONTEXT when the peer sent no
                certificate.
        """
        version = self._ssl.version() or ""
        if attribute == SECPKG_ATTR_CONNECTION_INFO:
            return self._connection_info(version)
        if attribute == SECPKG_ATTR_CIPHER_INFO:
            return self._cipher_info(version)
        if attribute == SECPKG_ATTR_APPLICATION_PROTOCOL:
            selected = self._ssl.selected_alpn_protocol()
            if selected is None:
                return SecPkgContext_ApplicationProtocol(
                    SecApplicationProtocolNegotiationStatus_None,
                    SecApplicationProtocolNegotiationExt_None,
                    0,
                    b"",
                )
            raw = selected.encode("ascii")
            return SecPkgContext_ApplicationProtocol(
                SecApplicationProtocolNegotiationStatus_Success,
                SecApplicationProtocolNegotiationExt_ALPN,
                len(raw),
                raw,
            )
        if attribute == SECPKG_ATTR_REMOTE_CERT_CONTEXT:
            chain = self._peer_chain()
            if not chain:
                raise PackageError(S.SEC_E_NO_CREDENTIALS, "Schannel: the peer sent no certificate")
            return SecPkgContext_RemoteCertContext(chain[0], list(chain))
        if attribute == SECPKG_ATTR_ENDPOINT_BINDINGS:
            cert = self._server_certificate()
            return _bindings(_SERVER_END_POINT + end_point_hash(cert))
        if attribute == SECPKG_ATTR_UNIQUE_BINDINGS and version == "TLSv1.2":
            unique = self._ssl.get_channel_binding("tls-unique") or b""
            return _bindings(_TLS_UNIQUE + unique)
        raise PackageError(
            S.SEC_E_UNSUPPORTED_FUNCTION, f"Schannel: attribute {attribute:#x} is not supported"
        )

    def _server_certificate(self) -> x509.Certificate:
        if self._role is Role.CLIENT:
            cert = self._certificate()
            if cert is None:
                raise PackageError(
                    S.SEC_E_NO_CREDENTIALS, "Schannel: the server sent no certificate"
                )
            return cert
        identity = self._credential.identity
        assert identity is not None  # a server credential always has one (C2)
        return identity.leaf

    def _connection_info(self, version: str) -> SecPkgContext_ConnectionInfo:
        suite = self._suite
        client = self._role is Role.CLIENT
        if version == "TLSv1.3":
            protocol = SP_PROT_TLS1_3_CLIENT if client else SP_PROT_TLS1_3_SERVER
        else:
            protocol = SP_PROT_TLS1_2_CLIENT if client else SP_PROT_TLS1_2_SERVER
        if suite is None:
            return SecPkgContext_ConnectionInfo(protocol, 0, 0, 0, 0, 0, 0)
        cipher = ALG_ID.get(f"{suite.cipher}{suite.bits}", 0)
        # AEAD suites have no separate MAC: aiHash and dwHashStrength are 0 (case 31). The key
        # exchange strength is not exposed by Python's ssl module: 0 (unknown).
        exchange = ALG_ID.get(suite.exchange or "ECDH", 0)
        return SecPkgContext_ConnectionInfo(protocol, cipher, suite.bits, 0, 0, exchange, 0)

    def _cipher_info(self, version: str) -> SecPkgContext_CipherInfo:
        suite = self._suite
        info = SecPkgContext_CipherInfo(dwProtocol=_WIRE_VERSION.get(version, 0))
        if suite is None:
            return info
        info.dwCipherSuite = info.dwBaseCipherSuite = suite.number
        info.szCipherSuite = suite.iana
        info.szCipher = suite.cipher
        info.dwCipherLen = suite.bits
        info.dwCipherBlockLen = 16 if suite.cipher == "AES" else 1
        info.szExchange = suite.exchange or "ECDH"
        cert = self._certificate() if self._role is Role.CLIENT else None
        if cert is None and self._credential.identity is not None and self._role is Role.SERVER:
            cert = self._credential.identity.leaf
        info.szCertificate = suite.certificate or (key_type(cert) if cert is not None else "")
        return info


def _bindings(application_data: bytes) -> SecPkgContext_Bindings:
    header = _BINDINGS_HEADER.pack(0, 0, 0, 0, 0, 0, len(application_data), _BINDINGS_HEADER.size)
    raw = header + application_data
    return SecPkgContext_Bindings(len(raw), raw)
