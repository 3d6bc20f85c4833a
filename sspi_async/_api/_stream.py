"""``SspiTLSStream``: an anyio byte stream carried over the async SSPI calls (SPEC §6).

Theory of operation. :meth:`SspiTLSStream.wrap` drives :meth:`SecurityContext.step` (the queued
``Sspi*SecurityContextAsync`` calls) over any ``anyio.abc.ByteStream``: each token is sent as
it is produced (a ``SEC_E_OK`` token too, T8), ``SEC_E_INCOMPLETE_MESSAGE`` reads the missing
bytes and retries with everything received so far (T4), unconsumed input (``SECBUFFER_EXTRA``,
T6) feeds the next step and, after ``SEC_E_OK``, is the first ciphertext to decrypt. A failed
step sends its alert token (``SspiError.token``) before the error is raised. Then :meth:`send`
encrypts into records of at most ``cbMaximumMessage`` bytes and :meth:`receive` decrypts one
record at a time (M2), keeping partial records and surplus plaintext for later calls.

End of stream, as ``anyio.streams.tls.TLSStream`` does it, flag for flag:

* the peer's close_notify (``SEC_I_CONTEXT_EXPIRED``) → :exc:`anyio.EndOfStream`, on that and
  every later :meth:`~SspiTLSStream.receive`;
* the transport ending without close_notify → :exc:`anyio.BrokenResourceError` (a possible
  truncation attack) when ``standard_compatible`` is true (the default), else
  :exc:`anyio.EndOfStream`; during the handshake it is always ``BrokenResourceError``.

Extra attributes: meanings anyio already names are served under ``anyio.streams.tls.TLSAttribute``
(``tls_version``, ``cipher``, ``alpn_protocol``, ``peer_certificate_binary``, ``server_side``,
``standard_compatible``), so code written for anyio's TLS streams works unchanged; SSPI-specific
values are under :class:`SspiTLSAttribute`. ``ssl_object``, ``peer_certificate``,
``shared_ciphers`` and ``channel_binding_tls_unique`` have no counterpart and are absent, as are
``tls_version`` and ``cipher`` when the package has no SECPKG_ATTR_CIPHER_INFO. The transport's
own attributes pass through. Values are queried once, right after the handshake.
"""

from __future__ import annotations

import contextlib
import struct
from collections.abc import Callable, Mapping
from typing import Any

import anyio
from anyio.abc import ByteStream
from anyio.streams.tls import TLSAttribute

from .._attributes import (
    SecPkgContext_ApplicationProtocol,
    SecPkgContext_Bindings,
    SecPkgContext_CipherInfo,
    SecPkgContext_Names,
    SecPkgContext_RemoteCertContext,
)
from .._errors import SspiError
from .._flags import (
    SECPKG_ATTR_APPLICATION_PROTOCOL,
    SECPKG_ATTR_CIPHER_INFO,
    SECPKG_ATTR_ENDPOINT_BINDINGS,
    SECPKG_ATTR_NAMES,
    SECPKG_ATTR_REMOTE_CERT_CONTEXT,
    Role,
    SecApplicationProtocolNegotiationStatus_Success,
)
from .._machine import Machine
from .._status import SecurityStatus as S
from ._objects import (
    DEFAULT_ASC_FLAGS,
    DEFAULT_ISC_FLAGS,
    Credentials,
    SecurityContext,
    StepOutcome,
)
from ._stream_state import READ_TRANSITIONS, WRITE_TRANSITIONS, Half, HalfEvent

__all__ = ("SspiTLSAttribute", "SspiTLSStream")

_OPEN, _BREAK, _CLOSE = Half.OPEN, HalfEvent.BREAK, HalfEvent.CLOSE

_VERSION_NAMES = {0x0301: "TLSv1", 0x0302: "TLSv1.1", 0x0303: "TLSv1.2", 0x0304: "TLSv1.3"}
_END_POINT_PREFIX = b"tls-server-end-point:"
#: Full records per transport send: bounds the ciphertext held at once for a large send().
_RECORDS_PER_SEND = 4


class SspiTLSAttribute(anyio.TypedAttributeSet):
    """SSPI-specific extra attributes of :class:`SspiTLSStream`; ``None`` where the package has
    no value (its QueryContextAttributes fails, e.g. ``SEC_E_UNSUPPORTED_FUNCTION``)."""

    #: the :class:`~sspi_async.SecurityContext` under the stream (like anyio's ``ssl_object``)
    security_context: SecurityContext = anyio.typed_attribute()
    #: the security package name the credentials came from (e.g. ``"SimTLS"``)
    package: str = anyio.typed_attribute()
    #: the negotiated protocol's wire version (``0x0304`` for TLS 1.3), from CIPHER_INFO
    protocol_version: int | None = anyio.typed_attribute()
    #: the cipher suite's IANA name (CIPHER_INFO ``szCipherSuite``)
    cipher_suite: str | None = anyio.typed_attribute()
    #: the cipher suite number (CIPHER_INFO ``dwCipherSuite``)
    cipher_suite_id: int | None = anyio.typed_attribute()
    #: the peer's name (SECPKG_ATTR_NAMES: the server's on a client, the client's on a server)
    peer_name: str | None = anyio.typed_attribute()
    #: SECPKG_ATTR_ENDPOINT_BINDINGS as returned: a SEC_CHANNEL_BINDINGS structure (32-byte
    #: header, then ``b"tls-server-end-point:"`` + certificate hash), ready for an SSPI call
    channel_bindings: bytes | None = anyio.typed_attribute()
    #: the RFC 5929 ``tls-server-end-point`` binding data (the certificate hash, no prefix)
    channel_binding_tls_server_end_point: bytes | None = anyio.typed_attribute()


def _query(ctx: SecurityContext, attribute: int) -> object | None:
    """``ctx.query(attribute)``, or None when it fails: ``SEC_E_UNSUPPORTED_FUNCTION`` (not
    supported), ``SEC_E_NO_CREDENTIALS`` (Schannel: no peer certificate) or any other status.
    The values are informational; a connection never fails because of one."""
    try:
        return ctx.query(attribute)
    except SspiError:
        return None


def _end_point_hash(bindings: bytes) -> bytes | None:
    """The application data of a SEC_CHANNEL_BINDINGS structure without its type prefix."""
    if len(bindings) < 32:
        return None
    length, offset = struct.unpack_from("<II", bindings, 24)
    data = bindings[offset : offset + length]
    return data[len(_END_POINT_PREFIX) :] if data.startswith(_END_POINT_PREFIX) else None


def _describe(ctx: SecurityContext, standard_compatible: bool) -> dict[Any, object]:
    """Every extra attribute's value, queried once after the handshake."""
    info: dict[Any, object] = {
        TLSAttribute.server_side: ctx.role is Role.SERVER,
        TLSAttribute.standard_compatible: standard_compatible,
        SspiTLSAttribute.security_context: ctx,
        SspiTLSAttribute.package: ctx.credentials.package,
    }
    cipher = _query(ctx, SECPKG_ATTR_CIPHER_INFO)
    version = suite = suite_id = None
    if isinstance(cipher, SecPkgContext_CipherInfo):
        version, suite, suite_id = cipher.dwProtocol, cipher.szCipherSuite, cipher.dwCipherSuite
        name = _VERSION_NAMES.get(version)
        if name is not None:
            info[TLSAttribute.tls_version] = name
            info[TLSAttribute.cipher] = (suite, name, cipher.dwCipherLen)
    alpn = _query(ctx, SECPKG_ATTR_APPLICATION_PROTOCOL)
    protocol = None
    if (
        isinstance(alpn, SecPkgContext_ApplicationProtocol)
        and alpn.ProtoNegoStatus == SecApplicationProtocolNegotiationStatus_Success
        and alpn.ProtocolId
    ):
        protocol = bytes(alpn.ProtocolId).decode("utf-8", "surrogateescape")
    cert = _query(ctx, SECPKG_ATTR_REMOTE_CERT_CONTEXT)
    if not isinstance(cert, SecPkgContext_RemoteCertContext) or not cert.pbCertEncoded:
        cert = None
    bindings = _query(ctx, SECPKG_ATTR_ENDPOINT_BINDINGS)
    raw = bytes(bindings.Bindings) if isinstance(bindings, SecPkgContext_Bindings) else None
    names = _query(ctx, SECPKG_ATTR_NAMES)
    return info | {
        TLSAttribute.alpn_protocol: protocol,
        TLSAttribute.peer_certificate_binary: None if cert is None else bytes(cert.pbCertEncoded),
        SspiTLSAttribute.protocol_version: version,
        SspiTLSAttribute.cipher_suite: suite,
        SspiTLSAttribute.cipher_suite_id: suite_id,
        SspiTLSAttribute.peer_name: (
            (names.sUserName or None) if isinstance(names, SecPkgContext_Names) else None
        ),
        SspiTLSAttribute.channel_bindings: raw,
        SspiTLSAttribute.channel_binding_tls_server_end_point: _end_point_hash(raw)
        if raw
        else None,
    }


#: How long closing a stream's context may wait, shielded from the caller's cancellation, for a
#: step still in flight (E1): a package step is finite, so this bounds only a fault plan's stall.
_CLOSE_WAIT = 5.0


async def _delete(ctx: SecurityContext) -> None:
    """Delete the context, even while the caller is being cancelled (E1). If the wait for a
    step in flight runs out, the context is freed when that call completes (detached)."""
    with anyio.move_on_after(_CLOSE_WAIT, shield=True), contextlib.suppress(SspiError):
        await ctx.aclose()


async def _step(transport: ByteStream, ctx: SecurityContext, data: bytes | None) -> StepOutcome:
    """One ISC/ASC step; a failure first sends its alert token, if any (best effort)."""
    try:
        return await ctx.step(data)
    except SspiError as exc:
        token: bytes = getattr(exc, "token", b"")
        if token:
            with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
                await transport.send(token)
        raise


async def _send_chunks(transport: ByteStream, outcome: StepOutcome) -> None:
    """Send a step's token as the separate writes ``outcome.chunks`` lists: one, unless a fault
    plan split it (SPEC §9), so the peer receives it in pieces."""
    for chunk in outcome.chunks:
        await transport.send(chunk)


async def _handshake(transport: ByteStream, ctx: SecurityContext) -> bytes:
    """Run the handshake; return the bytes received after it (the first ciphertext)."""
    pending, wanted = b"", 1
    if ctx.role is Role.CLIENT:
        await _send_chunks(transport, await _step(transport, ctx, None))
    while not ctx.complete:
        while len(pending) < wanted:
            try:
                pending += await transport.receive()
            except anyio.EndOfStream:  # noqa: PERF203
                raise anyio.BrokenResourceError(
                    "the peer closed the transport mid-handshake"
                ) from None
        outcome = await _step(transport, ctx, pending)
        if outcome.incomplete:  # T4: read what is missing, retry with everything so far
            wanted = len(pending) + max(outcome.missing, 1)
            continue
        await _send_chunks(transport, outcome)
        pending, wanted = outcome.extra, 1  # T6
    return pending


class SspiTLSStream(ByteStream):
    """A TLS byte stream whose handshake and records go through SSPI (an anyio ``ByteStream``).

    Make one with :meth:`wrap_client`, :meth:`wrap_server` or :meth:`wrap`. One task may send
    while another receives; a second concurrent sender (or receiver) gets
    :exc:`anyio.BusyResourceError`. After :meth:`aclose` every call raises
    :exc:`anyio.ClosedResourceError`. End of stream and ``extra()`` attributes: see the module
    documentation.
    """

    def __init__(
        self,
        transport_stream: ByteStream,
        context: SecurityContext,
        *,
        standard_compatible: bool = True,
        received: bytes = b"",
    ) -> None:
        """Wrap a ``context`` whose handshake is complete; ``received`` is ciphertext already read
        after it. The ``wrap*`` classmethods run the handshake and call this."""
        if not context.complete:
            raise ValueError("the security context's handshake is not complete; use wrap()")
        self.transport_stream = transport_stream
        self.context = context
        self.standard_compatible = standard_compatible
        self._incoming = bytearray(received)  # ciphertext not decrypted yet
        self._wanted = 0  # decrypt again once this many bytes are in (Decrypted.missing)
        self._plaintext = bytearray()  # decrypted, not yet returned
        self._chunk = context.stream_sizes.cbMaximumMessage * _RECORDS_PER_SEND
        self._info = _describe(context, standard_compatible)
        self._send_lock = anyio.Lock()  # encrypt + send in order; post-handshake steps
        self._send_guard = anyio.ResourceGuard("writing to")
        self._receive_guard = anyio.ResourceGuard("reading from")
        # Each direction's lifecycle (``_stream_state``): open, at EOF (read), broken, closed.
        self._read: Machine[Half, HalfEvent] = Machine("TLS stream (read)", READ_TRANSITIONS, _OPEN)
        self._write: Machine[Half, HalfEvent] = Machine(
            "TLS stream (write)", WRITE_TRANSITIONS, _OPEN
        )

    @classmethod
    async def wrap(
        cls,
        transport_stream: ByteStream,
        context: SecurityContext,
        *,
        standard_compatible: bool = True,
    ) -> SspiTLSStream:
        """Run the handshake of the new ``context`` over ``transport_stream``; wrap the result.

        On failure or cancellation the context is deleted and the transport closed.

        Raises:
            SspiError: the handshake failed (its alert, if any, was sent to the peer first).
            anyio.BrokenResourceError: the transport ended during the handshake (or failed).
        """
        try:
            received = await _handshake(transport_stream, context)
            return cls(
                transport_stream,
                context,
                standard_compatible=standard_compatible,
                received=received,
            )
        except BaseException:
            await _delete(context)
            await anyio.aclose_forcefully(transport_stream)
            raise

    @classmethod
    async def wrap_client(
        cls,
        transport_stream: ByteStream,
        credentials: Credentials,
        target_name: str | None,
        *,
        alpn: list[str] | None = None,
        flags: int = DEFAULT_ISC_FLAGS,
        standard_compatible: bool = True,
    ) -> SspiTLSStream:
        """Connect as the client (InitializeSecurityContext) with OUTBOUND ``credentials``.

        ``target_name`` is ``pszTargetName`` (T10): the host name the server's certificate must
        match. It is required (E3); ``None`` passed explicitly is Schannel's NULL name: the chain
        is checked, the name is not. ``alpn`` lists the protocols offered (T12). Raises as
        :meth:`wrap`."""
        ctx = credentials.client_context(target_name, flags=flags, alpn=alpn)
        return await cls.wrap(transport_stream, ctx, standard_compatible=standard_compatible)

    @classmethod
    async def wrap_server(
        cls,
        transport_stream: ByteStream,
        credentials: Credentials,
        *,
        flags: int = DEFAULT_ASC_FLAGS,
        standard_compatible: bool = True,
    ) -> SspiTLSStream:
        """Accept as the server (AcceptSecurityContext) with INBOUND ``credentials``. Raises as
        :meth:`wrap`."""
        ctx = credentials.server_context(flags=flags)
        return await cls.wrap(transport_stream, ctx, standard_compatible=standard_compatible)

    # ------------------------------------------------------------------ sending

    def _check_writable(self) -> None:
        state = self._write.state
        if state is _OPEN:
            return
        if state is Half.CLOSED:
            raise anyio.ClosedResourceError
        if state is Half.BROKEN:
            raise anyio.BrokenResourceError(
                "this TLS stream is broken for sending: an earlier send failed or was cancelled "
                "part-way, or a refused record ended the connection with a fatal alert (E4)"
            )

    async def _send_raw(self, data: bytes) -> None:
        try:
            await self.transport_stream.send(data)
        except BaseException:
            self._write.fire(_BREAK)  # sequence numbers spent: nothing later would decrypt
            raise

    async def send(self, item: bytes) -> None:
        """Encrypt ``item`` into records of at most ``cbMaximumMessage`` bytes and send them
        (``b""`` sends nothing).

        A large ``item`` goes out as several transport writes. If ``send()`` is cancelled (or
        fails) after one of them, the peer has received a prefix of ``item`` and cannot know
        where it ends: the stream is then broken for sending (later sends raise
        ``BrokenResourceError``), as anyio's streams are after a cancelled write.

        Raises:
            anyio.BrokenResourceError: the transport failed (now or in an earlier send), an
                earlier send was cancelled part-way, or the package refuses to send more
                (``SEC_E_CONTEXT_EXPIRED``, e.g. after the peer's close_notify).
            anyio.BusyResourceError: another task is sending.
        """
        with self._send_guard:
            self._check_writable()
            data = memoryview(item).cast("B")
            sent = 0
            try:
                for start in range(0, len(data), self._chunk):
                    async with self._send_lock:
                        self._check_writable()
                        try:
                            records = self.context.encrypt(bytes(data[start : start + self._chunk]))
                        except SspiError as exc:
                            if exc.status != S.SEC_E_CONTEXT_EXPIRED:
                                raise
                            raise anyio.BrokenResourceError("the TLS connection is closed") from exc
                        await self._send_raw(records)
                        sent += 1
            except BaseException:
                if sent:
                    # A send cancelled (or failed) between records left a prefix of ``item`` on
                    # the wire: the peer cannot tell where it ends, so the stream is broken for
                    # sending, as anyio's streams are after a cancelled write.
                    self._write.fire(_BREAK)
                raise

    async def send_eof(self) -> None:
        """Not supported, as in ``anyio.streams.tls.TLSStream``: :meth:`aclose` sends
        close_notify.

        Raises:
            NotImplementedError: always.
        """
        raise NotImplementedError("send_eof() is not supported on TLS streams; use aclose()")

    # ------------------------------------------------------------------ receiving

    async def receive(self, max_bytes: int = 65536) -> bytes:
        """Return 1 to ``max_bytes`` bytes of plaintext.

        Surplus plaintext is kept for the next call; empty records are skipped; a post-handshake
        message (``SEC_I_RENEGOTIATE``, e.g. a TLS 1.3 session ticket) goes to
        ``context.step(None)`` (M2) and any token that returns is sent.

        Raises:
            anyio.EndOfStream: the peer sent close_notify (or the transport ended, with
                ``standard_compatible`` false).
            anyio.BrokenResourceError: the transport ended without close_notify, or an earlier
                receive failed.
            SspiError: a record did not decrypt (e.g. :class:`~sspi_async.MessageAlteredError`);
                later calls raise ``BrokenResourceError``.
            anyio.BusyResourceError: another task is receiving.
        """
        if max_bytes < 1:
            raise ValueError("max_bytes must be a positive integer")
        with self._receive_guard:
            while True:
                state = self._read.state
                if state is Half.CLOSED:
                    raise anyio.ClosedResourceError
                if self._plaintext:
                    chunk = bytes(self._plaintext[:max_bytes])
                    del self._plaintext[:max_bytes]
                    return chunk
                if state is Half.BROKEN:
                    raise anyio.BrokenResourceError("an earlier receive on this TLS stream failed")
                if state is Half.EOF:
                    raise anyio.EndOfStream
                await self._pump()

    async def _pump(self) -> None:
        """One unit of progress: decrypt one record, or read more ciphertext.

        E4: a record the package refuses ends the connection: the fatal alert it made (the
        output of the next ISC/ASC, protected under the current keys) goes to the peer, and
        nothing after it (later sends raise ``BrokenResourceError``, :meth:`aclose` sends no
        close_notify); then the error is raised.
        """
        if self._incoming and len(self._incoming) >= self._wanted:
            try:
                result = self.context.decrypt(bytes(self._incoming))
            except SspiError:
                self._read.fire(_BREAK)  # E4: the fatal alert below is the last record
                self._write.fire(_BREAK)
                self._incoming.clear()
                async with self._send_lock:  # after a record being sent, never inside it
                    with contextlib.suppress(SspiError):
                        await _step(self.transport_stream, self.context, None)
                raise
            if result.status != S.SEC_E_INCOMPLETE_MESSAGE:
                self._incoming, self._wanted = bytearray(result.extra), 0
                if result.closed:
                    self._read.fire(HalfEvent.END)
                elif result.status == S.SEC_I_RENEGOTIATE:
                    await self._post_handshake()
                else:
                    self._plaintext += result.data
                return
            self._wanted = len(self._incoming) + max(result.missing, 1)
        try:
            self._incoming += await self.transport_stream.receive()
        except anyio.EndOfStream:
            if self.standard_compatible:
                self._read.fire(_BREAK)
                raise anyio.BrokenResourceError(
                    "the transport ended without a TLS close_notify (possible truncation)"
                ) from None
            self._read.fire(HalfEvent.END)

    async def _post_handshake(self) -> None:
        """M2: ISC/ASC with no input (the EXTRA bytes stay queued for DecryptMessage); send the
        token it returns, if any."""
        async with self._send_lock:
            try:
                outcome = await _step(self.transport_stream, self.context, None)
            except SspiError:
                self._read.fire(_BREAK)
                raise
            if outcome.token:
                self._check_writable()
                await self._send_raw(outcome.token)

    # ------------------------------------------------------------------ closing

    async def aclose(self) -> None:
        """Send close_notify (best effort), delete the context and close the transport.

        Idempotent. close_notify is skipped with ``standard_compatible`` false, after a failed
        send, after a refused record (its fatal alert was the last record, E4), and while another
        task is mid-send (a record cannot be cut); Broken- and ClosedResourceError from sending it
        are ignored.
        """
        if self._read.state is Half.CLOSED:
            return
        writable = self._write.state is _OPEN
        self._read.fire(_CLOSE)
        self._write.fire(_CLOSE)
        try:
            if self.standard_compatible and writable and not self._send_lock.locked():
                async with self._send_lock:
                    with contextlib.suppress(
                        anyio.BrokenResourceError, anyio.ClosedResourceError, SspiError
                    ):
                        close_notify = await self.context.shutdown()
                        if close_notify:
                            await self.transport_stream.send(close_notify)
        except BaseException:
            await _delete(self.context)
            await anyio.aclose_forcefully(self.transport_stream)
            raise
        await _delete(self.context)
        await self.transport_stream.aclose()

    # ------------------------------------------------------------------ attributes

    @property
    def extra_attributes(self) -> Mapping[Any, Callable[[], Any]]:
        """The transport's attributes plus the TLS ones (see the module documentation)."""
        ours = {key: (lambda value=value: value) for key, value in self._info.items()}
        return {**self.transport_stream.extra_attributes, **ours}

    def __repr__(self) -> str:
        read, write = self._read.state, self._write.state
        state = read.value if read is write else f"read {read.value}, write {write.value}"
        return (
            f"<SspiTLSStream {self.context.role.value} {self.context.credentials.package} {state}>"
        )
