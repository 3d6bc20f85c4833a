"""The emulator's side of the interop tests: one TLS endpoint over a real socket.

A :class:`TLSEndpoint` moves bytes between an anyio byte stream (a TCP connection to or from a
peer nobody here wrote) and a *backend* that makes the SSPI calls:

* :class:`FlatBackend` — the raw flat facade, as ported Windows code would: each handshake step
  is queued with ``SspiInitializeSecurityContextAsync`` / ``SspiAcceptSecurityContextAsync`` on
  one ``SspiAsyncContext`` (reinitialised between calls) and its result is read with
  ``SspiGetAsyncCallStatus`` in the notify callback; output buffers are package-allocated
  (``*_REQ_ALLOCATE_MEMORY``) and released with ``FreeContextBuffer``; records go through
  ``EncryptMessage`` / ``DecryptMessage``; after ``SEC_I_RENEGOTIATE`` the unread bytes are
  handed to ISC/ASC as Windows code does, and come back as ``SECBUFFER_EXTRA``.
* :class:`ObjectBackend` — the Pythonic :class:`sspi_async.SecurityContext` (``step``,
  ``encrypt``, ``decrypt``, ``shutdown``).

The endpoint implements the Schannel caller's loop once: send every token (a ``SEC_E_OK`` token
too, T8), read more on ``SEC_E_INCOMPLETE_MESSAGE`` (T4), carry ``SECBUFFER_EXTRA`` to the next
step or, after completion, to ``DecryptMessage`` (T6), send a failed step's alert before raising
(T11), and handle post-handshake messages (M2).

The standard library's own TLS peers are in ``python_peers.py``.
"""

from __future__ import annotations

import contextlib
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, cast

import anyio
from anyio.abc import ByteStream

from sspi_async import SecurityContext, SspiError
from sspi_async._attributes import SecPkgContext_StreamSizes
from sspi_async.sspi import (
    ASC_REQ_ALLOCATE_MEMORY,
    ASC_REQ_CONFIDENTIALITY,
    ASC_REQ_EXTENDED_ERROR,
    ASC_REQ_REPLAY_DETECT,
    ASC_REQ_SEQUENCE_DETECT,
    ASC_REQ_STREAM,
    ISC_REQ_ALLOCATE_MEMORY,
    ISC_REQ_CONFIDENTIALITY,
    ISC_REQ_EXTENDED_ERROR,
    ISC_REQ_REPLAY_DETECT,
    ISC_REQ_SEQUENCE_DETECT,
    ISC_REQ_STREAM,
    SCHANNEL_SHUTDOWN,
    SEC_E_INCOMPLETE_MESSAGE,
    SEC_E_OK,
    SEC_I_CONTEXT_EXPIRED,
    SEC_I_CONTINUE_NEEDED,
    SEC_I_RENEGOTIATE,
    SECBUFFER_ALERT,
    SECBUFFER_APPLICATION_PROTOCOLS,
    SECBUFFER_DATA,
    SECBUFFER_EMPTY,
    SECBUFFER_EXTRA,
    SECBUFFER_MISSING,
    SECBUFFER_STREAM_HEADER,
    SECBUFFER_STREAM_TRAILER,
    SECBUFFER_TOKEN,
    SECPKG_ATTR_STREAM_SIZES,
    SECURITY_NATIVE_DREP,
    ULONG,
    ApplyControlToken,
    CredHandle,
    CtxtHandle,
    DecryptMessage,
    EncryptMessage,
    FreeContextBuffer,
    QueryContextAttributes,
    SecBuffer,
    SecBufferDesc,
    SspiAcceptSecurityContextAsync,
    SspiAcquireCredentialsHandleAsync,
    SspiAsyncContext,
    SspiCreateAsyncContext,
    SspiDeleteSecurityContextAsync,
    SspiFreeAsyncContext,
    SspiGetAsyncCallStatus,
    SspiInitializeSecurityContextAsync,
    SspiReinitAsyncContext,
    SspiSetAsyncNotifyCallback,
    TimeStamp,
    wait_async_call,
)

__all__ = (
    "ASC_FLAGS",
    "ISC_FLAGS",
    "FlatBackend",
    "ObjectBackend",
    "StatusError",
    "TLSEndpoint",
    "TrickleStream",
    "acquire_handle",
)

ISC_FLAGS = (
    ISC_REQ_REPLAY_DETECT
    | ISC_REQ_SEQUENCE_DETECT
    | ISC_REQ_CONFIDENTIALITY
    | ISC_REQ_STREAM
    | ISC_REQ_EXTENDED_ERROR
)
ASC_FLAGS = (
    ASC_REQ_REPLAY_DETECT
    | ASC_REQ_SEQUENCE_DETECT
    | ASC_REQ_CONFIDENTIALITY
    | ASC_REQ_STREAM
    | ASC_REQ_EXTENDED_ERROR
)


class StatusError(AssertionError):
    """An SSPI call failed: ``status`` is its SECURITY_STATUS, ``token`` the alert it produced."""

    def __init__(self, what: str, status: int, token: bytes = b"") -> None:
        super().__init__(f"{what} failed with {status!r}")
        self.status = status
        self.token = token


@dataclass(frozen=True)
class Outcome:
    """One ISC/ASC step or one DecryptMessage call, as the endpoint needs it."""

    status: int
    token: bytes = b""  # step: bytes to send; decrypt: the plaintext
    extra: bytes = b""  # the unconsumed tail (SECBUFFER_EXTRA)
    missing: int = 0  # with SEC_E_INCOMPLETE_MESSAGE


class Backend(Protocol):
    """What :class:`TLSEndpoint` needs from the SSPI side."""

    client: bool

    async def step(self, data: bytes | None) -> Outcome: ...
    async def post_handshake(self, unread: bytes) -> Outcome: ...
    def encrypt(self, data: bytes) -> bytes: ...
    def decrypt(self, data: bytes) -> Outcome: ...
    async def shutdown(self) -> bytes: ...
    def query(self, attribute: int) -> tuple[int, object | None]: ...
    @property
    def handle(self) -> CtxtHandle: ...
    @property
    def attributes(self) -> int: ...
    async def aclose(self) -> None: ...


def alpn_payload(protocols: list[str]) -> bytes:
    """``SECBUFFER_APPLICATION_PROTOCOLS`` in the Schannel layout (reference case 39):
    ``ProtocolListsSize:u32, ProtoNegoExt:u32 = 2 (ALPN), ProtocolListSize:u16, ids``."""
    ids = b"".join(bytes((len(p),)) + p.encode("ascii") for p in protocols)
    one_list = struct.pack("<IH", 2, len(ids)) + ids
    return struct.pack("<I", len(one_list)) + one_list


async def acquire_handle(use: int, auth_data: object, package: str = "Schannel") -> CredHandle:
    """A credential handle from ``SspiAcquireCredentialsHandleAsync`` (asserting success)."""
    actx = await SspiCreateAsyncContext()
    try:
        handle, expiry = CredHandle(), TimeStamp()
        queued = await SspiAcquireCredentialsHandleAsync(
            actx, None, package, use, None, auth_data, None, None, handle, expiry
        )
        assert queued == SEC_E_OK, queued
        status = await wait_async_call(actx)
        assert status == SEC_E_OK, status
        return handle
    finally:
        await SspiFreeAsyncContext(actx)


def _marked(desc: SecBufferDesc | None, kind: int) -> int:
    if desc is None:
        return 0
    return next((b.cbBuffer for b in desc.pBuffers if b.BufferType == kind), 0)


class FlatBackend:
    """ISC/ASC through the queued async calls of :mod:`sspi_async.sspi` (see the module doc)."""

    def __init__(
        self,
        credential: CredHandle,
        *,
        client: bool,
        target: str | None = None,
        flags: int | None = None,
        alpn: list[str] | None = None,
    ) -> None:
        self.client = client
        self.credential = credential
        self.target = target
        self.flags = (ISC_FLAGS if client else ASC_FLAGS) if flags is None else flags
        self.alpn = alpn
        self.ctx = CtxtHandle()
        self.attrs = ULONG()
        self.expiry = TimeStamp()
        self.started = False
        self.callbacks = 0  # how many completions the notify callback saw
        self._actx: SspiAsyncContext | None = None
        self._done = anyio.Event()
        self._result = 0

    async def _notify(self, actx: SspiAsyncContext, data: object) -> None:
        """The notify callback: read the call's result, as Microsoft's sample does."""
        assert data is self
        self._result = await SspiGetAsyncCallStatus(actx)
        self.callbacks += 1
        self._done.set()

    async def _queue(self, pinput: SecBufferDesc | None, output: SecBufferDesc) -> int:
        if self._actx is None:
            self._actx = await SspiCreateAsyncContext()
            assert await SspiSetAsyncNotifyCallback(self._actx, self._notify, self) == SEC_E_OK
        else:
            assert await SspiReinitAsyncContext(self._actx) == 0  # STATUS_SUCCESS
        self._done = anyio.Event()
        cred = None if self.started else self.credential
        phcontext = self.ctx if self.started else None
        if self.client:
            queued = await SspiInitializeSecurityContextAsync(
                self._actx, cred, phcontext, self.target, self.flags | ISC_REQ_ALLOCATE_MEMORY,
                0, SECURITY_NATIVE_DREP, pinput, 0, self.ctx, output, self.attrs, self.expiry,
            )  # fmt: skip
        else:
            queued = await SspiAcceptSecurityContextAsync(
                self._actx, cred, phcontext, pinput, self.flags | ASC_REQ_ALLOCATE_MEMORY,
                SECURITY_NATIVE_DREP, self.ctx, output, self.attrs, self.expiry,
            )  # fmt: skip
        assert queued == SEC_E_OK, f"queueing status {queued!r}"  # A4
        await self._done.wait()
        return self._result

    async def _call(self, pinput: SecBufferDesc | None) -> tuple[int, bytes]:
        output = SecBufferDesc([SecBuffer(SECBUFFER_TOKEN), SecBuffer(SECBUFFER_ALERT)])
        status = await self._queue(pinput, output)
        produced = b""
        for buf in output.pBuffers:
            if buf.cbBuffer and buf.pvBuffer is not None:
                produced += buf.data()
                assert FreeContextBuffer(buf.pvBuffer) == SEC_E_OK  # M5
        return status, produced

    async def step(self, data: bytes | None) -> Outcome:
        buffers = []
        if data is not None:
            buffers += [SecBuffer.of(SECBUFFER_TOKEN, data), SecBuffer(SECBUFFER_EMPTY)]
        if self.client and not self.started and self.alpn:
            buffers.append(SecBuffer.of(SECBUFFER_APPLICATION_PROTOCOLS, alpn_payload(self.alpn)))
        pinput = SecBufferDesc(buffers) if buffers else None
        status, token = await self._call(pinput)
        if status == SEC_E_INCOMPLETE_MESSAGE:
            return Outcome(status, missing=_marked(pinput, SECBUFFER_MISSING))
        if status not in (SEC_E_OK, SEC_I_CONTINUE_NEEDED):
            raise StatusError("InitializeSecurityContext" if self.client else "AcceptSecurityContext",
                              status, token)  # fmt: skip
        self.started = True
        extra = _marked(pinput, SECBUFFER_EXTRA)
        return Outcome(status, token, data[len(data) - extra :] if data and extra else b"")

    async def post_handshake(self, unread: bytes) -> Outcome:
        """M2: after SEC_I_RENEGOTIATE, ISC/ASC with the unread bytes (they come back as EXTRA)."""
        return await self.step(unread or None)

    def encrypt(self, data: bytes) -> bytes:
        status, value = QueryContextAttributes(self.ctx, SECPKG_ATTR_STREAM_SIZES)
        assert status == SEC_E_OK, status
        sizes = cast(SecPkgContext_StreamSizes, value)
        out = bytearray()
        for start in range(0, len(data), sizes.cbMaximumMessage):
            message = SecBufferDesc([
                SecBuffer(SECBUFFER_STREAM_HEADER, sizes.cbHeader, bytearray(sizes.cbHeader)),
                SecBuffer.of(SECBUFFER_DATA, bytearray(data[start : start + sizes.cbMaximumMessage])),
                SecBuffer(SECBUFFER_STREAM_TRAILER, sizes.cbTrailer, bytearray(sizes.cbTrailer)),
                SecBuffer(SECBUFFER_EMPTY),
            ])  # fmt: skip
            status = EncryptMessage(self.ctx, 0, message, 0)
            if status != SEC_E_OK:
                raise StatusError("EncryptMessage", status)
            for buf in message.pBuffers[:3]:
                out += buf.data()
        return bytes(out)

    def decrypt(self, data: bytes) -> Outcome:
        message = SecBufferDesc([
            SecBuffer.of(SECBUFFER_DATA, bytearray(data)),
            SecBuffer(SECBUFFER_EMPTY),
            SecBuffer(SECBUFFER_EMPTY),
            SecBuffer(SECBUFFER_EMPTY),
        ])  # fmt: skip
        status = DecryptMessage(self.ctx, message, 0, None)
        if status == SEC_E_INCOMPLETE_MESSAGE:
            return Outcome(status, missing=_marked(message, SECBUFFER_MISSING))
        if status not in (SEC_E_OK, SEC_I_CONTEXT_EXPIRED, SEC_I_RENEGOTIATE):
            raise StatusError("DecryptMessage", status)
        plain = next((b.data() for b in message.pBuffers if b.BufferType == SECBUFFER_DATA), b"")
        extra = _marked(message, SECBUFFER_EXTRA)
        return Outcome(status, plain, data[len(data) - extra :] if extra else b"")

    async def shutdown(self) -> bytes:
        control = SecBufferDesc(
            [SecBuffer.of(SECBUFFER_TOKEN, SCHANNEL_SHUTDOWN.to_bytes(4, "little"))]
        )
        status = ApplyControlToken(self.ctx, control)
        assert status == SEC_E_OK, status  # M4
        return (await self.step(None)).token

    def query(self, attribute: int) -> tuple[int, object | None]:
        return QueryContextAttributes(self.ctx, attribute)

    @property
    def handle(self) -> CtxtHandle:
        return self.ctx

    @property
    def attributes(self) -> int:
        return int(self.attrs.value)

    async def aclose(self) -> None:
        """Delete the context (async, T13) and free the async context (A11)."""
        if self._actx is None:
            return
        if self.started:
            assert await SspiReinitAsyncContext(self._actx) == 0
            assert await SspiSetAsyncNotifyCallback(self._actx, None, None) == SEC_E_OK
            assert await SspiDeleteSecurityContextAsync(self._actx, self.ctx) == SEC_E_OK
            assert await wait_async_call(self._actx) == SEC_E_OK
            self.started = False
        actx, self._actx = self._actx, None
        await SspiFreeAsyncContext(actx)


class ObjectBackend:
    """ISC/ASC through the Pythonic :class:`~sspi_async.SecurityContext`; with
    ``owns_credentials`` closing it frees its credentials too."""

    def __init__(self, context: SecurityContext, *, owns_credentials: bool = False) -> None:
        self.context = context
        self.client = context.role.value == "client"
        self.owns_credentials = owns_credentials

    async def step(self, data: bytes | None) -> Outcome:
        try:
            outcome = await self.context.step(data)
        except SspiError as exc:
            raise StatusError(
                "SecurityContext.step", exc.status, getattr(exc, "token", b"")
            ) from exc
        return Outcome(outcome.status, outcome.token, outcome.extra, outcome.missing)

    async def post_handshake(self, unread: bytes) -> Outcome:
        """M2: ``step(None)``; the unread bytes stay with the endpoint."""
        outcome = await self.step(None)
        return Outcome(outcome.status, outcome.token, unread)

    def encrypt(self, data: bytes) -> bytes:
        return self.context.encrypt(data)

    def decrypt(self, data: bytes) -> Outcome:
        try:
            result = self.context.decrypt(data)
        except SspiError as exc:
            raise StatusError("SecurityContext.decrypt", exc.status) from exc
        return Outcome(result.status, result.data, result.extra, result.missing)

    async def shutdown(self) -> bytes:
        return await self.context.shutdown()

    def query(self, attribute: int) -> tuple[int, object | None]:
        try:
            return SEC_E_OK, self.context.query(attribute)
        except SspiError as exc:
            return exc.status, None

    @property
    def handle(self) -> CtxtHandle:
        return self.context.handle

    @property
    def attributes(self) -> int:
        return int(self.context.attributes.value)

    async def aclose(self) -> None:
        await self.context.aclose()
        if self.owns_credentials:
            await self.context.credentials.aclose()


class TLSEndpoint:
    """One side of a TLS connection: the SSPI caller's loop over an anyio byte stream.

    Attributes:
        steps: ``(status, token length)`` of every handshake step that ran (INCOMPLETE ones are
            not steps: they consumed nothing).
        incomplete_steps / incomplete_records: how many ISC/ASC calls / DecryptMessage calls
            returned SEC_E_INCOMPLETE_MESSAGE.
        renegotiations: how many times DecryptMessage returned ``SEC_I_RENEGOTIATE`` (M2).
        follow_up_tokens: the tokens the ISC/ASC follow-ups returned (and were sent).
        peer_closed: the peer's close_notify arrived (``SEC_I_CONTEXT_EXPIRED``).
    """

    def __init__(self, stream: ByteStream, backend: Backend) -> None:
        self.stream = stream
        self.backend = backend
        self.steps: list[tuple[int, int]] = []
        self.incomplete_steps = 0
        self.incomplete_records = 0
        self.renegotiations = 0
        self.follow_up_tokens: list[bytes] = []
        self.complete = False
        self.peer_closed = False
        self._incoming = b""
        self._wanted = 0  # call again once this many ciphertext bytes are in (MISSING, T4/M2)
        self._plaintext = bytearray()

    async def _step(self, data: bytes | None) -> Outcome:
        try:
            outcome = await self.backend.step(data)
        except StatusError as exc:
            if exc.token:  # T11: the alert goes to the peer before the failure is reported
                with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
                    await self.stream.send(exc.token)
            raise
        if outcome.status == SEC_E_INCOMPLETE_MESSAGE:
            self.incomplete_steps += 1
            return outcome
        self.steps.append((outcome.status, len(outcome.token)))
        if outcome.token:  # a SEC_E_OK token must be sent too (T8)
            await self.stream.send(outcome.token)
        self.complete = outcome.status == SEC_E_OK
        return outcome

    async def _read(self) -> None:
        try:
            self._incoming += await self.stream.receive()
        except anyio.EndOfStream:
            what = "during the handshake" if not self.complete else "without close_notify"
            raise anyio.BrokenResourceError(f"the transport ended {what}") from None

    async def handshake(self) -> None:
        """Run the handshake to ``SEC_E_OK``; raises :class:`StatusError` on failure.

        ``SEC_E_INCOMPLETE_MESSAGE`` reads until the MISSING count has arrived (T4), so a wrong
        count shows up as a hang (bounded by the test's deadline), not as a retry.
        """
        if self.backend.client:
            await self._step(None)
        while not self.complete:
            while not self._incoming or len(self._incoming) < self._wanted:
                await self._read()
            outcome = await self._step(self._incoming)
            if outcome.status == SEC_E_INCOMPLETE_MESSAGE:
                assert outcome.missing > 0, "SEC_E_INCOMPLETE_MESSAGE without a MISSING count"
                self._wanted = len(self._incoming) + outcome.missing
                continue
            self._incoming, self._wanted = outcome.extra, 0  # T6; after OK: the first ciphertext

    async def send(self, data: bytes) -> None:
        """Encrypt ``data`` and send the records."""
        await self.stream.send(self.backend.encrypt(data))

    async def _pump(self) -> None:
        """Make one unit of progress: decrypt one record (M2), or read more ciphertext."""
        if not self._incoming or len(self._incoming) < self._wanted:
            await self._read()
            return
        result = self.backend.decrypt(self._incoming)
        if result.status == SEC_E_INCOMPLETE_MESSAGE:
            assert result.missing > 0, "SEC_E_INCOMPLETE_MESSAGE without a MISSING count"
            self.incomplete_records += 1
            self._wanted = len(self._incoming) + result.missing
            return
        self._incoming, self._wanted = result.extra, 0
        if result.status == SEC_I_CONTEXT_EXPIRED:
            self.peer_closed = True
        elif result.status == SEC_I_RENEGOTIATE:
            self.renegotiations += 1
            follow_up = await self.backend.post_handshake(self._incoming)
            assert follow_up.status == SEC_E_OK, follow_up  # M2
            self.follow_up_tokens.append(follow_up.token)
            if follow_up.token:
                await self.stream.send(follow_up.token)
            self._incoming = follow_up.extra
        else:
            self._plaintext += result.token

    async def pump_until(self, condition: Callable[[], bool]) -> None:
        """Process records (keeping any plaintext for :meth:`receive`) until ``condition()``."""
        while not condition():
            assert not self.peer_closed, "the peer closed first"
            await self._pump()

    async def receive(self) -> bytes:
        """The plaintext of the next application-data record(s); ``b""`` after close_notify.

        Raises:
            anyio.BrokenResourceError: the transport ended without close_notify.
        """
        while not self._plaintext and not self.peer_closed:
            await self._pump()
        data = bytes(self._plaintext)
        self._plaintext.clear()
        return data

    async def receive_until(self, predicate: Callable[[bytes], bool]) -> bytes:
        """Receive until ``predicate(everything so far)`` or close_notify."""
        received = b""
        while not predicate(received):
            chunk = await self.receive()
            if not chunk:
                break
            received += chunk
        return received

    @property
    def pending_ciphertext(self) -> int:
        """How many received bytes wait for DecryptMessage (after the handshake: its EXTRA)."""
        return len(self._incoming)

    def query(self, attribute: int) -> object:
        """QueryContextAttributes; the value, asserting ``SEC_E_OK``."""
        status, value = self.backend.query(attribute)
        assert status == SEC_E_OK, f"QueryContextAttributes({attribute:#x}) -> {status!r}"
        return value

    async def close(self, *, notify: bool = True) -> None:
        """Send close_notify (when ``notify`` and the handshake completed), delete the context
        and close the transport."""
        try:
            if notify and self.complete:
                with contextlib.suppress(
                    anyio.BrokenResourceError, anyio.ClosedResourceError, StatusError, SspiError
                ):
                    await self.stream.send(await self.backend.shutdown())
        finally:
            with anyio.CancelScope(shield=True):
                await self.backend.aclose()
                await self.stream.aclose()


class TrickleStream(ByteStream):
    """A byte stream that hands out at most ``size`` bytes per :meth:`receive`, so every record
    from a real peer arrives in pieces (SEC_E_INCOMPLETE_MESSAGE on purpose, T4/M2)."""

    def __init__(self, stream: ByteStream, size: int) -> None:
        self.stream = stream
        self.size = size
        self._buffer = b""

    async def receive(self, max_bytes: int = 65536) -> bytes:
        if not self._buffer:
            self._buffer = await self.stream.receive()
        size = min(self.size, max_bytes)
        chunk, self._buffer = self._buffer[:size], self._buffer[size:]
        return chunk

    async def send(self, item: bytes) -> None:
        await self.stream.send(item)

    async def send_eof(self) -> None:
        await self.stream.send_eof()

    async def aclose(self) -> None:
        await self.stream.aclose()
