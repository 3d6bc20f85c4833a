"""Credentials and security contexts as objects with async methods (SPEC §6).

Each method goes through the same queued async calls as the flat facade (one ``SspiAsyncContext``
per object, reinitialised between calls), so latency, worker threads and shutdown behave exactly
as for code written against ``sspi_async.sspi``. Failures raise :class:`~sspi_async.SspiError`
subclasses carrying ``.status``.
"""

from __future__ import annotations

import contextlib
from asyncio import CancelledError
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from .._attributes import SecPkgContext_StreamSizes
from .._buffers import SecBuffer, SecBufferDesc
from .._core import _allocations
from .._core._async_calls import acquire_async, context_async, delete_async, free_credentials_async
from .._core._async_context import SspiAsyncContext
from .._core._checks import check_bytes
from .._core._emulator import Emulator, current_emulator
from .._core._messages import decrypt_message, encrypt_message, query_attributes
from .._errors import BrokenContextError, SspiError, SspiMisuseError, error_for_status
from .._flags import (
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
    SECPKG_CRED_BOTH,
    SECPKG_CRED_INBOUND,
    SECPKG_CRED_OUTBOUND,
    Role,
)
from .._handles import CredHandle, CtxtHandle, SecIsValidHandle
from .._identity import AccessToken
from .._machine import Machine, Refused
from .._status import SEC_SUCCESS, STATUS_SUCCESS, SecurityStatus, as_status
from .._values import ULONG, TimeStamp
from ._context_state import IN_FLIGHT, TRANSITIONS, ContextEvent, ContextState

__all__ = (
    "Credentials",
    "Decrypted",
    "SecurityContext",
    "StepOutcome",
    "acquire_credentials",
)

S = SecurityStatus
DEFAULT_ISC_FLAGS = (
    ISC_REQ_REPLAY_DETECT
    | ISC_REQ_SEQUENCE_DETECT
    | ISC_REQ_CONFIDENTIALITY
    | ISC_REQ_STREAM
    | ISC_REQ_EXTENDED_ERROR
)
DEFAULT_ASC_FLAGS = (
    ASC_REQ_REPLAY_DETECT
    | ASC_REQ_SEQUENCE_DETECT
    | ASC_REQ_CONFIDENTIALITY
    | ASC_REQ_STREAM
    | ASC_REQ_EXTENDED_ERROR
)
_USES = {"inbound": SECPKG_CRED_INBOUND, "outbound": SECPKG_CRED_OUTBOUND, "both": SECPKG_CRED_BOTH}


async def _call(
    emulator: Emulator,
    queue: Callable[[SspiAsyncContext], int],
    reuse: SspiAsyncContext | None = None,
    *,
    abandoned: Callable[[], None] | None = None,
) -> tuple[int, SspiAsyncContext]:
    """Queue one call and wait for it: its result and the async context it ran on, whose
    ``_token_chunks`` tell whether a split fault cut the output token (SPEC §9).

    ``reuse`` is the object's own async context: reinitialised (A9) and used again, which is what
    the Windows samples do between the steps of one handshake. When it cannot be (it still carries
    a call, e.g. a step whose waiter was cancelled, or two steps at once), or without one, the call
    runs on a fresh context freed afterwards. ``abandoned``: what to run when a fresh context's
    call completes after its waiter was cancelled (``Emulator.release``, E1).
    """
    if reuse is not None and emulator.reinit(reuse) == STATUS_SUCCESS:
        status = queue(reuse)
        if status != S.SEC_E_OK:
            return status, reuse
        return await emulator.result(reuse), reuse
    actx = emulator.create_async_context()
    try:
        status = queue(actx)
        if status == S.SEC_E_OK:
            status = await emulator.result(actx)
    except BaseException:
        if abandoned is not None and actx.state == "pending":
            # E1: the waiter went away; the call completes anyway (A6), and what it registers
            # is freed at that moment.
            emulator.release(actx, abandoned)
        else:  # also when queueing raised (E8's SspiMisuseError): the context never leaks
            emulator.free(actx)
        raise
    emulator.free(actx)
    return status, actx


async def _run(
    emulator: Emulator,
    queue: Callable[[SspiAsyncContext], int],
    reuse: SspiAsyncContext | None = None,
    *,
    abandoned: Callable[[], None] | None = None,
) -> int:
    """Queue one call (see :func:`_call`) and wait for its result."""
    return (await _call(emulator, queue, reuse, abandoned=abandoned))[0]


async def acquire_credentials(
    package: str,
    use: Literal["inbound", "outbound", "both"] | int,
    auth_data: object = None,
    *,
    principal: str | None = None,
    emulator: Emulator | None = None,
) -> Credentials:
    """Acquire credentials from ``package`` (e.g. ``"SimTLS"``).

    Args:
        package: the security package name.
        use: ``"inbound"`` (server), ``"outbound"`` (client), ``"both"``, or a SECPKG_CRED_* value.
        auth_data: the package's credential model (``SimTLSCred``…) or a dict of its fields.
        principal: ``pszPrincipal``.
        emulator: the emulator to use (default: the current one).

    Raises:
        SspiError: with the status AcquireCredentialsHandle failed with (C1–C3).
    """
    emulator = emulator or current_emulator()
    code = _USES.get(use) if isinstance(use, str) else use
    if code is None:
        raise ValueError(
            f"use must be 'inbound', 'outbound', 'both' or a SECPKG_CRED_* value, not {use!r}"
        )
    handle, expiry = CredHandle(), TimeStamp()
    status = await _run(
        emulator,
        lambda actx: acquire_async(actx, principal, package, code, auth_data, handle, expiry),
        abandoned=lambda: _free_if_valid(emulator, handle),
    )
    if status != S.SEC_E_OK:
        raise error_for_status(status, f"AcquireCredentialsHandle({package!r}) failed")
    return Credentials(emulator, handle, package, code, expiry)


def _free_if_valid(emulator: Emulator, handle: CredHandle) -> None:
    """FreeCredentialsHandle, synchronously, for a handle a detached call wrote (E1)."""
    if SecIsValidHandle(handle):
        emulator.engine.free_credentials(handle)


class Credentials:
    """A credential handle; make contexts with :meth:`client_context` / :meth:`server_context`."""

    def __init__(
        self, emulator: Emulator, handle: CredHandle, package: str, use: int, expiry: TimeStamp
    ) -> None:
        self.emulator = emulator
        self.handle = handle
        self.package = package
        self.use = use
        self._expiry = expiry
        self._closed = False

    @property
    def expiry(self) -> datetime:
        """When the credential expires (C3)."""
        return self._expiry.datetime

    def client_context(
        self,
        target_name: str | None,
        *,
        flags: int = DEFAULT_ISC_FLAGS,
        alpn: list[str] | None = None,
    ) -> SecurityContext:
        """A new client side (InitializeSecurityContext); nothing is sent until :meth:`SecurityContext.step`.

        Args:
            target_name: ``pszTargetName``, the name the server must prove (E3, T10): for
                Schannel the host name its certificate must match. Required: pass ``None``
                explicitly for Schannel's NULL name, which checks the certificate chain but not
                the name (anyone with a certificate from a trusted CA passes).
            flags: ``fContextReq`` (``ISC_REQ_ALLOCATE_MEMORY`` is always added).
            alpn: protocols to offer (T12), in order of preference.
        """
        return SecurityContext(self, Role.CLIENT, target_name, flags, alpn)

    def server_context(self, *, flags: int = DEFAULT_ASC_FLAGS) -> SecurityContext:
        """A new server side (AcceptSecurityContext)."""
        return SecurityContext(self, Role.SERVER, None, flags, None)

    async def aclose(self) -> None:
        """Free the handle (idempotent). Contexts made from it keep working (C4)."""
        if self._closed:
            return
        self._closed = True
        await _run(self.emulator, lambda actx: free_credentials_async(actx, self.handle))

    async def __aenter__(self) -> Credentials:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"<Credentials {self.package} {self.handle!r}>"


@dataclass(frozen=True, slots=True)
class StepOutcome:
    """The result of one handshake step.

    Attributes:
        status: ``SEC_I_CONTINUE_NEEDED``, ``SEC_E_OK`` or ``SEC_E_INCOMPLETE_MESSAGE``.
        token: bytes to send to the peer (may be empty; a ``SEC_E_OK`` token must be sent, T8).
        extra: input bytes the step did not consume (T6): feed them to the next step, or after
            completion to :meth:`SecurityContext.decrypt`.
        missing: with ``SEC_E_INCOMPLETE_MESSAGE``, how many more bytes are needed (T4).
        attributes: the context attributes (``pfContextAttr``).
        chunks: ``token`` as the transport should send it, one ``send`` per chunk:
            ``(token,)``, or ``()`` for an empty token — unless a fault plan's ``split`` action
            cut it (SPEC §9), then its pieces in order, so the peer sees the token arrive in
            parts (``SEC_E_INCOMPLETE_MESSAGE`` until it has whole records). They always join
            into ``token``.
    """

    status: int
    token: bytes
    extra: bytes = b""
    missing: int = 0
    attributes: int = 0
    chunks: tuple[bytes, ...] = ()

    def __post_init__(self) -> None:
        if not self.chunks:
            if self.token:
                object.__setattr__(self, "chunks", (self.token,))
        elif b"".join(self.chunks) != self.token:
            raise ValueError("StepOutcome.chunks must join into StepOutcome.token")

    @property
    def complete(self) -> bool:
        """True when the handshake finished (``SEC_E_OK``)."""
        return self.status == S.SEC_E_OK

    @property
    def incomplete(self) -> bool:
        """True when more input bytes are needed before the step can run."""
        return self.status == S.SEC_E_INCOMPLETE_MESSAGE


@dataclass(frozen=True, slots=True)
class Decrypted:
    """One decrypted record: ``data`` (plaintext) and ``extra`` (bytes after the record).

    ``status`` is ``SEC_E_OK``, ``SEC_I_CONTEXT_EXPIRED`` (the peer closed) or ``SEC_I_RENEGOTIATE``
    (a post-handshake message; call :meth:`SecurityContext.step` with ``None``), or
    ``SEC_E_INCOMPLETE_MESSAGE`` with ``missing`` bytes still needed.
    """

    status: int
    data: bytes = b""
    extra: bytes = b""
    missing: int = 0

    @property
    def closed(self) -> bool:
        """True when the peer sent close_notify."""
        return self.status == S.SEC_I_CONTEXT_EXPIRED


class SecurityContext:
    """One side of a security context. Drive it with :meth:`step` until ``complete``.

    Its lifecycle is :mod:`._context_state`'s table: one step at a time (a second concurrent one
    is :class:`~sspi_async.SspiMisuseError`, E8); a step whose awaiting task is cancelled breaks
    the context (:class:`~sspi_async.BrokenContextError` from then on, E2); :meth:`aclose` frees
    everything on every path, including a call still in flight (E1).
    """

    def __init__(
        self,
        credentials: Credentials,
        role: Role,
        target_name: str | None,
        flags: int,
        alpn: list[str] | None,
    ) -> None:
        self.credentials = credentials
        self.emulator = credentials.emulator
        self.role = role
        self.target_name = target_name
        self.flags = flags
        self.alpn = alpn
        self.handle = CtxtHandle()
        self.attributes = ULONG()
        self.expiry = TimeStamp()
        self._machine: Machine[ContextState, ContextEvent] = Machine(
            "security context", TRANSITIONS, ContextState.NEW
        )
        #: Which step was cancelled (E2: the error of every later call says so).
        self._broken_by = ""
        # One async context for every call of this object, reinitialised in between (A9); made
        # by the first step, so a context that never steps holds nothing (E1).
        self._actx: SspiAsyncContext | None = None
        # The output of a step whose waiter was cancelled: its package-allocated buffers are
        # freed once the call completed (E1).
        self._orphan: SecBufferDesc | None = None

    @property
    def state(self) -> str:
        """Where the context is: ``"new"``, ``"started"``, ``"complete"``, ``"broken"``,
        ``"closed"``, or a step in flight (for diagnostics)."""
        return self._machine.state.value

    @property
    def complete(self) -> bool:
        """True once the handshake finished (``SEC_E_OK``), until the context is closed."""
        return self._machine.state in (ContextState.COMPLETE, ContextState.FOLLOW_UP)

    @property
    def broken(self) -> bool:
        """True when a step was cancelled (E2): every later call raises
        :class:`~sspi_async.BrokenContextError`; only :meth:`aclose` is left to do."""
        return self._machine.state is ContextState.BROKEN

    def _input(self, token: bytes | None, first: bool) -> SecBufferDesc | None:
        buffers = []
        if token is not None:
            buffers += [SecBuffer.of(SECBUFFER_TOKEN, token), SecBuffer(SECBUFFER_EMPTY)]
        if first and self.alpn:
            from .._core._bufmap import encode_application_protocols

            buffers.append(
                SecBuffer.of(
                    SECBUFFER_APPLICATION_PROTOCOLS, encode_application_protocols(self.alpn)
                )
            )
        return SecBufferDesc(buffers) if buffers else None

    def _unusable(self, method: str) -> SspiError:
        """The error for a call on a broken or closed context (E2), or a busy one (E8)."""
        state = self._machine.state
        if state is ContextState.BROKEN:
            return BrokenContextError(
                f"{method}(): this security context is broken: {self._broken_by} did not return "
                "(E2); close it with aclose() and start a new context"
            )
        if state is ContextState.CLOSED:
            return error_for_status(
                S.SEC_E_INVALID_HANDLE, f"{method}(): this security context was closed"
            )
        return SspiMisuseError(
            f"{method}(): another step() of this {self.role.value} security context "
            f"({self.handle!r}) is still in flight (E8); await it before starting the next"
        )

    async def step(self, token: bytes | None = None) -> StepOutcome:
        """Run one InitializeSecurityContext / AcceptSecurityContext call.

        Args:
            token: bytes received from the peer (``None`` for the client's first step, and for the
                follow-up after ``SEC_I_RENEGOTIATE``).

        Returns:
            The outcome; ``SEC_E_INCOMPLETE_MESSAGE`` is returned, not raised: read more bytes,
            append them and call again.

        Raises:
            SspiError: the handshake failed; ``.token`` holds an alert to send to the peer, if any.
            BrokenContextError: an earlier step was cancelled (E2).
            SspiMisuseError: another step is in flight (E8).
        """
        check_bytes("token", token, optional=True)
        machine = self._machine
        first = machine.state is ContextState.NEW
        if isinstance(machine.fire(ContextEvent.BEGIN), Refused):
            raise self._unusable("step")
        pinput = self._input(token, first)
        allocate = ISC_REQ_ALLOCATE_MEMORY if self.role is Role.CLIENT else ASC_REQ_ALLOCATE_MEMORY
        output = SecBufferDesc([SecBuffer(SECBUFFER_TOKEN), SecBuffer(SECBUFFER_ALERT)])
        phcontext = None if first else self.handle
        cred = self.credentials.handle if first else None
        flags = self.flags | allocate
        try:
            if self._actx is None:
                self._actx = self.emulator.create_async_context()
            status, actx = await _call(
                self.emulator,
                lambda actx: context_async(
                    self.role,
                    actx,
                    cred,
                    phcontext,
                    self.target_name,
                    flags,
                    0,
                    pinput,
                    0,
                    self.handle,
                    output,
                    self.attributes,
                    self.expiry,
                ),
                self._actx,
            )
        except SspiMisuseError:
            # Raised before anything was queued (E6: another event loop; E8: a flat-facade step
            # in flight on the same handle): nothing changed, the context stays usable.
            if machine.state in IN_FLIGHT and (self._actx is None or self._actx.state != "pending"):
                machine.fire(ContextEvent.ABORT)
            raise
        except BaseException as exc:
            # E2: the waiter went away (cancelled) with the call queued: it completes anyway
            # (A6) and aclose() frees what it registers and what it allocated (E1).
            if machine.state in IN_FLIGHT:
                how = "cancelled" if isinstance(exc, CancelledError) else type(exc).__name__
                self._broken_by = f"the {machine.state.value.replace(' in flight', '')} ({how})"
                self._orphan = output
                machine.fire(ContextEvent.CANCEL)
            raise
        produced = _collect(output)
        if status == S.SEC_E_INCOMPLETE_MESSAGE:
            event = ContextEvent.INCOMPLETE
        elif not SEC_SUCCESS(status):
            registered = first and SecIsValidHandle(self.handle)
            event = ContextEvent.FAIL_REGISTERED if registered else ContextEvent.FAIL
        else:
            event = ContextEvent.DONE if status == S.SEC_E_OK else ContextEvent.CONTINUE
        if machine.fire(event) is ContextState.CLOSED:
            raise error_for_status(
                S.SEC_E_INVALID_HANDLE,
                "step(): this security context was closed by another task while the step ran",
            )
        if event is ContextEvent.INCOMPLETE:
            missing = _marked(pinput, SECBUFFER_MISSING)
            return StepOutcome(as_status(status), b"", missing=missing)
        if event is ContextEvent.FAIL or event is ContextEvent.FAIL_REGISTERED:
            error = error_for_status(
                status,
                f"{'Initialize' if self.role is Role.CLIENT else 'Accept'}SecurityContext failed",
            )
            error.token = produced  # type: ignore[attr-defined]
            raise error
        extra_len = _marked(pinput, SECBUFFER_EXTRA)
        extra = token[len(token) - extra_len :] if token is not None and extra_len else b""
        chunks = actx._token_chunks
        return StepOutcome(
            as_status(status),
            produced,
            extra,
            attributes=self.attributes.value,
            chunks=chunks if chunks is not None and b"".join(chunks) == produced else (),
        )

    def _check_established(self, method: str) -> None:
        """Messages need a started handshake: say so, rather than the SEC_E_INVALID_HANDLE of
        the QueryContextAttributes/EncryptMessage call underneath (same error class and status);
        a broken (E2) or closed context says that instead."""
        state = self._machine.state
        if state in _ESTABLISHED:
            if self.emulator.closed:
                raise error_for_status(
                    S.SEC_E_INVALID_HANDLE,
                    f"{method}(): the emulator of this security context was closed (E1)",
                )
            return
        if state is ContextState.BROKEN or state is ContextState.CLOSED:
            raise self._unusable(method)
        raise error_for_status(
            S.SEC_E_INVALID_HANDLE,
            f"{method}() before the handshake: call step() (or sspi_async.handshake()) until "
            "the context is complete",
        )

    def query(self, attribute: int) -> object:
        """QueryContextAttributes; raises :class:`SspiError` on failure (M3)."""
        state = self._machine.state
        if state is ContextState.BROKEN or state is ContextState.CLOSED:
            raise self._unusable("query")
        status, value = query_attributes(
            self.emulator.engine, self.handle, attribute, allocate=False
        )
        if status != S.SEC_E_OK:
            raise error_for_status(status, f"QueryContextAttributes({attribute}) failed")
        return value

    @property
    def stream_sizes(self) -> SecPkgContext_StreamSizes:
        """Header, trailer and maximum message sizes."""
        value = self.query(SECPKG_ATTR_STREAM_SIZES)
        assert isinstance(value, SecPkgContext_StreamSizes)
        return value

    def encrypt(self, data: bytes) -> bytes:
        """Protect ``data`` as one or more records (each at most ``cbMaximumMessage`` bytes);
        empty ``data`` gives no record (Schannel cannot send an empty one)."""
        check_bytes("data", data)
        self._check_established("encrypt")
        sizes = self.stream_sizes
        out = bytearray()
        for start in range(0, len(data), sizes.cbMaximumMessage):
            chunk = data[start : start + sizes.cbMaximumMessage]
            message = SecBufferDesc(
                [
                    SecBuffer(SECBUFFER_STREAM_HEADER, sizes.cbHeader, bytearray(sizes.cbHeader)),
                    SecBuffer.of(SECBUFFER_DATA, bytearray(chunk)),
                    SecBuffer(
                        SECBUFFER_STREAM_TRAILER, sizes.cbTrailer, bytearray(sizes.cbTrailer)
                    ),
                    SecBuffer(SECBUFFER_EMPTY),
                ]
            )
            status = encrypt_message(self.emulator.engine, self.handle, 0, message, 0)
            if status != S.SEC_E_OK:
                raise error_for_status(status, "EncryptMessage failed")
            for buf in message.pBuffers[:3]:
                out += buf.data()
        return bytes(out)

    def decrypt(self, data: bytes) -> Decrypted:
        """Unprotect the first record in ``data`` (M2)."""
        check_bytes("data", data)
        self._check_established("decrypt")
        message = SecBufferDesc(
            [
                SecBuffer.of(SECBUFFER_DATA, data),
                SecBuffer(SECBUFFER_EMPTY),
                SecBuffer(SECBUFFER_EMPTY),
                SecBuffer(SECBUFFER_EMPTY),
            ]
        )
        status = decrypt_message(self.emulator.engine, self.handle, message, 0, None)
        if status == S.SEC_E_INCOMPLETE_MESSAGE:
            return Decrypted(as_status(status), missing=message.pBuffers[0].cbBuffer)
        if status not in (S.SEC_E_OK, S.SEC_I_CONTEXT_EXPIRED, S.SEC_I_RENEGOTIATE):
            raise error_for_status(status, "DecryptMessage failed")
        plain = next((b.data() for b in message.pBuffers if b.BufferType == SECBUFFER_DATA), b"")
        extra = next(
            (
                bytes(b.pvBuffer or b"")[: b.cbBuffer]
                for b in message.pBuffers
                if b.BufferType == SECBUFFER_EXTRA
            ),
            b"",
        )
        return Decrypted(as_status(status), plain, extra)

    async def shutdown(self) -> bytes:
        """Apply SCHANNEL_SHUTDOWN and return the close_notify record to send (M4)."""
        control = SecBufferDesc(
            [SecBuffer.of(SECBUFFER_TOKEN, SCHANNEL_SHUTDOWN.to_bytes(4, "little"))]
        )
        status = self.emulator.engine.apply_control_token(self.handle, control)
        if status != S.SEC_E_OK:
            raise error_for_status(status, "ApplyControlToken(SCHANNEL_SHUTDOWN) failed")
        return (await self.step(None)).token

    @contextlib.contextmanager
    def impersonate(self) -> Iterator[AccessToken]:
        """``with ctx.impersonate() as token:`` — act as the client in this task (I1–I3)."""
        from .._core._impersonation import current_token

        self._check_established("impersonate")
        engine = self.emulator.engine
        status = engine.impersonate(self.handle)
        if status != S.SEC_E_OK:
            raise error_for_status(status, "ImpersonateSecurityContext failed")
        try:
            yield current_token()
        finally:
            engine.revert(self.handle)

    async def aclose(self) -> None:
        """Delete the context and free its async context (idempotent), on every path (E1).

        A step still in flight (its waiter was cancelled, E2, or another task is awaiting it) is
        waited for first, so that the handle it registers and the buffers it allocates are freed
        too. If this wait is itself cancelled, the call is left to complete detached and
        whatever it registers is freed at that moment. After ``Emulator.aclose()`` there is
        nothing left to free.
        """
        machine = self._machine
        if machine.state is ContextState.CLOSED:
            return
        machine.fire(ContextEvent.CLOSE)
        actx, self._actx = self._actx, None
        if actx is None:
            return  # never stepped: nothing was queued or registered
        emulator = self.emulator
        if actx.state == "freed":
            return  # the emulator was closed: it freed everything (E1)
        if actx.state == "pending":
            try:
                await emulator.wait(actx)
            except BaseException:
                emulator.release(actx, self._forget)
                raise
            self._free_orphan()
            # The stepping task (if it is still waiting) reads its result from its own future;
            # the delete runs on a fresh async context so it cannot see this one reused.
            actx, spare = None, actx
            emulator.free(spare)
        if SecIsValidHandle(self.handle):
            await _run(emulator, lambda a: delete_async(a, self.handle), actx)
        if actx is not None:
            # A delete cancelled here completes detached (A11); this context never has a
            # notify callback, so freeing it is always allowed.
            emulator.free(actx)

    def _free_orphan(self) -> None:
        orphan, self._orphan = self._orphan, None
        if orphan is not None:
            _collect(orphan)

    def _forget(self) -> None:
        """After a detached completion (E1): free the orphan output and delete the handle the
        call registered, synchronously (DeleteSecurityContext)."""
        self._free_orphan()
        if SecIsValidHandle(self.handle):
            self.emulator.engine.delete_context(self.handle)

    async def __aenter__(self) -> SecurityContext:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"<SecurityContext {self.role.value} {self.state} {self.handle!r}>"


_ESTABLISHED = frozenset(
    {ContextState.STARTED, ContextState.STEP, ContextState.COMPLETE, ContextState.FOLLOW_UP}
)


def _collect(output: SecBufferDesc) -> bytes:
    """The bytes of a step's package-allocated output buffers, which are freed (M5)."""
    produced = b""
    for buf in output.pBuffers:
        if buf.cbBuffer and buf.pvBuffer is not None:
            produced += buf.data()
            _allocations.free(buf.pvBuffer)
            buf.pvBuffer, buf.cbBuffer = None, 0
    return produced


def _marked(desc: SecBufferDesc | None, kind: int) -> int:
    if desc is None:
        return 0
    return next((b.cbBuffer for b in desc.pBuffers if b.BufferType == kind), 0)
