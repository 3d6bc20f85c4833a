"""Shared helpers for the facade tests of tokens, messages, credentials and identity.

SPEC §4 says each token rule "holds for the async and the classic form", so a handshake step is
made through a *form*:

* :class:`ClassicForm` calls ``InitializeSecurityContext`` / ``AcceptSecurityContext``;
* :class:`AsyncForm` queues ``SspiInitializeSecurityContextAsync`` /
  ``SspiAcceptSecurityContextAsync`` on one async context, checks the queueing status is
  ``SEC_E_OK`` and waits for the result with ``wait_async_call``.

Both expose the same coroutine methods, so a test body is written once and parametrized over the
two. :func:`open_form` enters a fresh ``Emulator`` (so the classic functions and the async ones
share its handle tables) and yields the form.

Plain synchronous tests use the classic functions on the process-wide default emulator; they
drive the same coroutine helpers with :func:`run_sync`, which is safe because a
:class:`ClassicForm` never suspends.
"""

from __future__ import annotations

import struct
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sspi_async import Emulator, EmulatorSettings
from sspi_async.sspi import (
    ASC_REQ_CONFIDENTIALITY,
    ASC_REQ_STREAM,
    ISC_REQ_CONFIDENTIALITY,
    ISC_REQ_STREAM,
    SEC_E_INCOMPLETE_MESSAGE,
    SEC_E_OK,
    SEC_I_CONTINUE_NEEDED,
    SEC_SUCCESS,
    SECBUFFER_DATA,
    SECBUFFER_EMPTY,
    SECBUFFER_EXTRA,
    SECBUFFER_STREAM_HEADER,
    SECBUFFER_STREAM_TRAILER,
    SECBUFFER_TOKEN,
    SECPKG_ATTR_STREAM_SIZES,
    SECPKG_CRED_INBOUND,
    SECPKG_CRED_OUTBOUND,
    SECURITY_NATIVE_DREP,
    ULONG,
    AcceptSecurityContext,
    AcquireCredentialsHandle,
    CredHandle,
    CtxtHandle,
    DecryptMessage,
    DeleteSecurityContext,
    EncryptMessage,
    InitializeSecurityContext,
    QueryContextAttributes,
    SecBuffer,
    SecBufferDesc,
    SspiAcceptSecurityContextAsync,
    SspiAcquireCredentialsHandleAsync,
    SspiAsyncContext,
    SspiCreateAsyncContext,
    SspiDeleteSecurityContextAsync,
    SspiFreeAsyncContext,
    SspiInitializeSecurityContextAsync,
    SspiReinitAsyncContext,
    TimeStamp,
    wait_async_call,
)

T = TypeVar("T")

SECRET = "correct horse battery staple"
CLIENT_NAME = "alice"
SERVER_NAME = "server"
#: What Wine's tests pre-fill out-handles with, to see whether a call wrote them [21, 24].
SENTINEL = 0xDEADBEEF
ISC_FLAGS = ISC_REQ_CONFIDENTIALITY | ISC_REQ_STREAM
ASC_FLAGS = ASC_REQ_CONFIDENTIALITY | ASC_REQ_STREAM
FORMS = ("classic", "async")

CONTENT_ALERT = 0x15
CONTENT_HANDSHAKE = 0x16
CONTENT_APPLICATION_DATA = 0x17


# --------------------------------------------------------------------------- small values


def client_auth(**fields: Any) -> dict[str, Any]:
    """SimTLS client credential data (a dict, as a user may pass it)."""
    return {"principal": CLIENT_NAME, "secret": SECRET, **fields}


def server_auth(**fields: Any) -> dict[str, Any]:
    """SimTLS server credential data."""
    return {"principal": SERVER_NAME, "secret": SECRET, **fields}


def sentinel_handle() -> CtxtHandle:
    """A context handle pre-filled with 0xdeadbeef, as Wine's tests do."""
    return CtxtHandle(SENTINEL, SENTINEL)


def copy_handle(handle: CtxtHandle) -> CtxtHandle:
    """An independent copy of ``handle``'s fields."""
    return CtxtHandle(handle.dwLower, handle.dwUpper)


def token_out(size: int = 8192) -> SecBufferDesc:
    """An output descriptor with one caller-allocated TOKEN buffer of ``size`` bytes."""
    return SecBufferDesc([SecBuffer(SECBUFFER_TOKEN, size, bytearray(size))])


def token_in(data: bytes) -> SecBufferDesc:
    """The standard continuation input: ``[TOKEN(data), EMPTY]`` (reference §6.1)."""
    return SecBufferDesc([SecBuffer.of(SECBUFFER_TOKEN, bytes(data)), SecBuffer(SECBUFFER_EMPTY)])


def output_bytes(desc: SecBufferDesc, index: int = 0) -> bytes:
    """The bytes an output buffer holds after a call."""
    return desc.pBuffers[index].data()


def extra_tail(data: bytes, desc: SecBufferDesc | None) -> bytes:
    """The unconsumed tail an input descriptor reports through a SECBUFFER_EXTRA buffer (T6:
    "the last cbBuffer bytes of the input")."""
    if desc is None:
        return b""
    for buf in desc.pBuffers:
        if buf.BufferType == SECBUFFER_EXTRA:
            return data[len(data) - buf.cbBuffer :] if buf.cbBuffer else b""
    return b""


def record_length_field(record: bytes) -> int:
    """The 16-bit length field of a TLS record header."""
    return (record[3] << 8) | record[4]


def is_single_record(data: bytes, content_type: int) -> bool:
    """True when ``data`` is exactly one TLS 1.2+ record of ``content_type``."""
    return (
        len(data) >= 5
        and data[0] == content_type
        and data[1:3] == b"\x03\x03"
        and record_length_field(data) == len(data) - 5
    )


def hamming(a: int, b: int) -> int:
    """How many bits differ between ``a`` and ``b``."""
    return bin(a ^ b).count("1")


def alpn_payload(*protocols: bytes) -> bytes:
    """SECBUFFER_APPLICATION_PROTOCOLS built byte for byte in the case-39 layout:
    ``ProtocolListsSize:u32, ProtoNegoExt:u32 = 2 (ALPN), ProtocolListSize:u16, ids`` (each id
    8-bit length-prefixed), little-endian as on Windows."""
    ids = b"".join(bytes((len(p),)) + p for p in protocols)
    one_list = struct.pack("<IH", 2, len(ids)) + ids
    return struct.pack("<I", len(one_list)) + one_list


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never suspends (the helpers below with a :class:`ClassicForm`) without
    an event loop, so the classic functions use the process-wide default emulator."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    coro.close()
    raise RuntimeError("run_sync: the coroutine suspended; use an async test instead")


# --------------------------------------------------------------------------- forms


class ClassicForm:
    """One ISC/ASC call through the classic synchronous functions."""

    name = "classic"

    async def acquire(
        self, use: int, auth: object, principal: str | None = None, package: str | None = "SimTLS"
    ) -> tuple[int, CredHandle, TimeStamp]:
        cred, expiry = CredHandle(), TimeStamp()
        status = AcquireCredentialsHandle(
            principal, package, use, None, auth, None, None, cred, expiry
        )
        return status, cred, expiry

    async def isc(
        self,
        phCredential: CredHandle | None,
        phContext: CtxtHandle | None,
        pszTargetName: str | None,
        fContextReq: int,
        pInput: SecBufferDesc | None,
        phNewContext: CtxtHandle | None,
        pOutput: SecBufferDesc | None,
        pfContextAttr: Any = None,
        ptsExpiry: Any = None,
    ) -> int:
        return InitializeSecurityContext(
            phCredential,
            phContext,
            pszTargetName,
            fContextReq,
            0,
            SECURITY_NATIVE_DREP,
            pInput,
            0,
            phNewContext,
            pOutput,
            pfContextAttr,
            ptsExpiry,
        )

    async def asc(
        self,
        phCredential: CredHandle | None,
        phContext: CtxtHandle | None,
        pInput: SecBufferDesc | None,
        fContextReq: int,
        phNewContext: CtxtHandle | None,
        pOutput: SecBufferDesc | None,
        pfContextAttr: Any = None,
        ptsExpiry: Any = None,
    ) -> int:
        return AcceptSecurityContext(
            phCredential,
            phContext,
            pInput,
            fContextReq,
            SECURITY_NATIVE_DREP,
            phNewContext,
            pOutput,
            pfContextAttr,
            ptsExpiry,
        )

    async def delete(self, phContext: CtxtHandle | None) -> int:
        return DeleteSecurityContext(phContext)


class AsyncForm:
    """One ISC/ASC call through the sspi.h async functions on one async context: queue (which
    must return ``SEC_E_OK``), wait for completion, reinit for the next call."""

    name = "async"

    def __init__(self, actx: SspiAsyncContext) -> None:
        self.actx = actx

    async def _complete(self, queued: int) -> int:
        assert queued == SEC_E_OK, f"queueing status {queued!r}"
        result = await wait_async_call(self.actx)
        await SspiReinitAsyncContext(self.actx)
        return result

    async def acquire(
        self, use: int, auth: object, principal: str | None = None, package: str | None = "SimTLS"
    ) -> tuple[int, CredHandle, TimeStamp]:
        cred, expiry = CredHandle(), TimeStamp()
        queued = await SspiAcquireCredentialsHandleAsync(
            self.actx, principal, package, use, None, auth, None, None, cred, expiry
        )
        return await self._complete(queued), cred, expiry

    async def isc(
        self,
        phCredential: CredHandle | None,
        phContext: CtxtHandle | None,
        pszTargetName: str | None,
        fContextReq: int,
        pInput: SecBufferDesc | None,
        phNewContext: CtxtHandle | None,
        pOutput: SecBufferDesc | None,
        pfContextAttr: Any = None,
        ptsExpiry: Any = None,
    ) -> int:
        queued = await SspiInitializeSecurityContextAsync(
            self.actx,
            phCredential,
            phContext,
            pszTargetName,
            fContextReq,
            0,
            SECURITY_NATIVE_DREP,
            pInput,
            0,
            phNewContext,
            pOutput,
            pfContextAttr,
            ptsExpiry,
        )
        return await self._complete(queued)

    async def asc(
        self,
        phCredential: CredHandle | None,
        phContext: CtxtHandle | None,
        pInput: SecBufferDesc | None,
        fContextReq: int,
        phNewContext: CtxtHandle | None,
        pOutput: SecBufferDesc | None,
        pfContextAttr: Any = None,
        ptsExpiry: Any = None,
    ) -> int:
        queued = await SspiAcceptSecurityContextAsync(
            self.actx,
            phCredential,
            phContext,
            pInput,
            fContextReq,
            SECURITY_NATIVE_DREP,
            phNewContext,
            pOutput,
            pfContextAttr,
            ptsExpiry,
        )
        return await self._complete(queued)

    async def delete(self, phContext: CtxtHandle | None) -> int:
        return await self._complete(await SspiDeleteSecurityContextAsync(self.actx, phContext))


Form = ClassicForm | AsyncForm


@asynccontextmanager
async def open_form(kind: str, settings: EmulatorSettings | None = None) -> AsyncIterator[Form]:
    """Enter a fresh emulator and yield the ``kind`` ("classic" or "async") form on it."""
    async with Emulator(settings):
        if kind == "classic":
            yield ClassicForm()
            return
        actx = await SspiCreateAsyncContext()
        try:
            yield AsyncForm(actx)
        finally:
            await SspiFreeAsyncContext(actx)


async def acquire_pair(
    form: Form, client: dict[str, Any] | None = None, server: dict[str, Any] | None = None
) -> tuple[CredHandle, CredHandle]:
    """An OUTBOUND and an INBOUND SimTLS credential (defaults: alice / server, same secret)."""
    status, ccred, _ = await form.acquire(
        SECPKG_CRED_OUTBOUND, client_auth() if client is None else client
    )
    assert status == SEC_E_OK, status
    status, scred, _ = await form.acquire(
        SECPKG_CRED_INBOUND, server_auth() if server is None else server
    )
    assert status == SEC_E_OK, status
    return ccred, scred


# --------------------------------------------------------------------------- handshake driver


@dataclass
class Step:
    """What one ISC/ASC call returned."""

    status: int
    output: bytes
    attrs: int
    ctx_before: CtxtHandle | None  # a copy of the phContext that was passed
    new_ctx: CtxtHandle  # the phNewContext object passed (pre-filled with SENTINEL)
    in_desc: SecBufferDesc | None  # pInput
    out_desc: SecBufferDesc  # pOutput
    extra: bytes


@dataclass
class Side:
    """One side of a connection and the history of its calls."""

    client: bool
    cred: CredHandle
    flags: int
    target: str | None = SERVER_NAME
    ctx: CtxtHandle | None = None
    steps: list[Step] = field(default_factory=list)
    expiry: TimeStamp = field(default_factory=TimeStamp)

    @property
    def statuses(self) -> list[int]:
        return [s.status for s in self.steps]

    @property
    def handle(self) -> CtxtHandle:
        """The context handle, once the first call created one."""
        assert self.ctx is not None, "no context yet"
        return self.ctx

    @property
    def done(self) -> bool:
        return bool(self.steps) and self.steps[-1].status == SEC_E_OK

    async def step(
        self,
        form: Form,
        data: bytes | None,
        *,
        pInput: SecBufferDesc | None = None,
        flags: int | None = None,
        pOutput: SecBufferDesc | None = None,
    ) -> Step:
        """One ISC (client) or ASC (server) call. ``data`` becomes ``[TOKEN(data), EMPTY]``
        unless ``pInput`` is given. phNewContext is a fresh handle pre-filled with SENTINEL, so
        the tests see what the call wrote into it."""
        if pInput is None and data is not None:
            pInput = token_in(data)
        out = token_out() if pOutput is None else pOutput
        new = sentinel_handle()
        attr = ULONG()
        before = None if self.ctx is None else copy_handle(self.ctx)
        req = self.flags if flags is None else flags
        if self.client:
            status = await form.isc(
                self.cred, self.ctx, self.target, req, pInput, new, out, attr, self.expiry
            )
        else:
            status = await form.asc(self.cred, self.ctx, pInput, req, new, out, attr, self.expiry)
        if self.ctx is None and status in (SEC_I_CONTINUE_NEEDED, SEC_E_OK):
            self.ctx = copy_handle(new)
        produced = b"" if status == SEC_E_INCOMPLETE_MESSAGE else output_bytes(out)
        step = Step(
            status,
            produced,
            attr.value,
            before,
            new,
            pInput,
            out,
            extra_tail(data or b"", pInput) if SEC_SUCCESS(status) else b"",
        )
        self.steps.append(step)
        return step


@dataclass
class Connection:
    """Both sides after :func:`handshake`; ``leftover`` is what the last step produced for the
    peer after both completed (e.g. a session ticket)."""

    client: Side
    server: Side
    leftover: bytes = b""
    failed: bool = False

    @property
    def cctx(self) -> CtxtHandle:
        assert self.client.ctx is not None
        return self.client.ctx

    @property
    def sctx(self) -> CtxtHandle:
        assert self.server.ctx is not None
        return self.server.ctx


async def handshake(
    form: Form,
    client_cred: CredHandle,
    server_cred: CredHandle,
    *,
    isc_flags: int = ISC_FLAGS,
    asc_flags: int = ASC_FLAGS,
    target: str | None = SERVER_NAME,
    first_input: SecBufferDesc | None = None,
    later_isc_flags: int | None = None,
    later_asc_flags: int | None = None,
) -> Connection:
    """Run the handshake loop until both sides return SEC_E_OK or one fails."""
    client = Side(True, client_cred, isc_flags, target)
    server = Side(False, server_cred, asc_flags)
    conn = Connection(client, server)
    step = await client.step(form, None, pInput=first_input)
    turn = server
    for _ in range(40):
        if not SEC_SUCCESS(step.status):
            conn.failed = True
            return conn
        if client.done and server.done:
            conn.leftover = step.output
            return conn
        later = later_isc_flags if turn is client else later_asc_flags
        step = await turn.step(form, step.output, flags=later if turn.ctx is not None else None)
        turn = client if turn is server else server
    raise AssertionError("the handshake did not finish in 40 steps")


def connect(
    *,
    client: dict[str, Any] | None = None,
    server: dict[str, Any] | None = None,
    **options: Any,
) -> Connection:
    """A complete SimTLS connection made with the classic functions (sync tests)."""
    form = ClassicForm()
    ccred, scred = run_sync(acquire_pair(form, client, server))
    conn = run_sync(handshake(form, ccred, scred, **options))
    assert not conn.failed, (conn.client.statuses, conn.server.statuses)
    return conn


# --------------------------------------------------------------------------- messages


def stream_buffers(ctx: CtxtHandle, plaintext: bytes) -> SecBufferDesc:
    """``[STREAM_HEADER, DATA, STREAM_TRAILER, EMPTY]`` sized from SECPKG_ATTR_STREAM_SIZES (M1)."""
    status, sizes = QueryContextAttributes(ctx, SECPKG_ATTR_STREAM_SIZES)
    assert status == SEC_E_OK, status
    return SecBufferDesc(
        [
            SecBuffer(SECBUFFER_STREAM_HEADER, sizes.cbHeader, bytearray(sizes.cbHeader)),
            SecBuffer.of(SECBUFFER_DATA, bytearray(plaintext)),
            SecBuffer(SECBUFFER_STREAM_TRAILER, sizes.cbTrailer, bytearray(sizes.cbTrailer)),
            SecBuffer(SECBUFFER_EMPTY),
        ]
    )


def encrypt(ctx: CtxtHandle, plaintext: bytes) -> bytes:
    """EncryptMessage one record and return the wire bytes (header + body + trailer)."""
    desc = stream_buffers(ctx, plaintext)
    status = EncryptMessage(ctx, 0, desc, 0)
    assert status == SEC_E_OK, status
    return b"".join(desc.pBuffers[i].data() for i in range(3))


def decrypt_desc(data: bytes) -> SecBufferDesc:
    """The DecryptMessage input of M2: one DATA buffer with the bytes, three EMPTY."""
    return SecBufferDesc(
        [
            SecBuffer.of(SECBUFFER_DATA, bytearray(data)),
            SecBuffer(SECBUFFER_EMPTY),
            SecBuffer(SECBUFFER_EMPTY),
            SecBuffer(SECBUFFER_EMPTY),
        ]
    )


def decrypt(ctx: CtxtHandle, data: bytes) -> tuple[int, SecBufferDesc]:
    """DecryptMessage ``data``; return the status and the buffers."""
    desc = decrypt_desc(data)
    return DecryptMessage(ctx, desc, 0, None), desc


def plaintext_of(desc: SecBufferDesc) -> bytes:
    """The DATA buffer's bytes after a successful DecryptMessage."""
    return next(b.data() for b in desc.pBuffers if b.BufferType == SECBUFFER_DATA)
