"""``sspi-async demo``: a client and a server through the async SSPI API in one process (SPEC §10).

Every call goes through the flat facade (``sspi_async.sspi``) exactly as Win32 code would: each
side owns one async context with a notify callback, reinitialised before every call; the demo
reports, for each call, the queueing status, the status read right after the ``await`` (pending,
A7) and the result the notify callback read with ``SspiGetAsyncCallStatus`` (A6). Then the
negotiated protocol, cipher and ALPN (``SECPKG_ATTR_CIPHER_INFO``,
``SECPKG_ATTR_APPLICATION_PROTOCOL``), the peer names (``SECPKG_ATTR_NAMES``), one encrypted
message each way (``EncryptMessage``/``DecryptMessage`` sized from ``SECPKG_ATTR_STREAM_SIZES``),
and the clean-up calls.

The run produces :class:`DemoEvent` objects; the command prints each one as a text line or as one
JSON object per line (``--json``). With ``DemoOptions.trace`` the emulator records a trace (SPEC
§9), handed to ``run_demo``'s ``trace_sink`` once the emulator shut down — also when a call failed,
so a fault plan's effect can be looked at; with ``DemoOptions.faults`` the run is under that plan.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Final

from sspi_async import (
    Emulator,
    EmulatorSettings,
    FaultPlan,
    SimTLSCred,
    SspiAsyncContext,
    TraceEvent,
)
from sspi_async.sspi import (
    ASC_REQ_ALLOCATE_MEMORY,
    ASC_REQ_CONFIDENTIALITY,
    ASC_REQ_EXTENDED_ERROR,
    ASC_REQ_MUTUAL_AUTH,
    ASC_REQ_REPLAY_DETECT,
    ASC_REQ_SEQUENCE_DETECT,
    ASC_REQ_STREAM,
    ISC_REQ_ALLOCATE_MEMORY,
    ISC_REQ_CONFIDENTIALITY,
    ISC_REQ_EXTENDED_ERROR,
    ISC_REQ_REPLAY_DETECT,
    ISC_REQ_SEQUENCE_DETECT,
    ISC_REQ_STREAM,
    SEC_E_OK,
    SEC_E_UNSUPPORTED_FUNCTION,
    SEC_I_ASYNC_CALL_PENDING,
    SEC_I_CONTINUE_NEEDED,
    SEC_I_RENEGOTIATE,
    SEC_SUCCESS,
    SECBUFFER_APPLICATION_PROTOCOLS,
    SECBUFFER_DATA,
    SECBUFFER_EMPTY,
    SECBUFFER_EXTRA,
    SECBUFFER_STREAM_HEADER,
    SECBUFFER_STREAM_TRAILER,
    SECBUFFER_TOKEN,
    SECPKG_ATTR_APPLICATION_PROTOCOL,
    SECPKG_ATTR_CIPHER_INFO,
    SECPKG_ATTR_NAMES,
    SECPKG_ATTR_STREAM_SIZES,
    SECPKG_CRED_INBOUND,
    SECPKG_CRED_OUTBOUND,
    SECURITY_NATIVE_DREP,
    ULONG,
    UNISP_NAME,
    CredHandle,
    CtxtHandle,
    DecryptMessage,
    EncryptMessage,
    FreeContextBuffer,
    QueryContextAttributes,
    SecApplicationProtocolNegotiationStatus_Success,
    SecBuffer,
    SecBufferDesc,
    SecPkgContext_ApplicationProtocol,
    SecPkgContext_CipherInfo,
    SecPkgContext_Names,
    SecPkgContext_StreamSizes,
    SecurityStatus,
    SspiAcceptSecurityContextAsync,
    SspiAcquireCredentialsHandleAsync,
    SspiCreateAsyncContext,
    SspiDeleteSecurityContextAsync,
    SspiFreeAsyncContext,
    SspiFreeCredentialsHandleAsync,
    SspiGetAsyncCallStatus,
    SspiInitializeSecurityContextAsync,
    SspiReinitAsyncContext,
    SspiSetAsyncNotifyCallback,
    TimeStamp,
    encode_application_protocols,
)

__all__ = (
    "DEFAULT_ALPN",
    "DEFAULT_PACKAGE",
    "DemoError",
    "DemoEvent",
    "DemoOptions",
    "UnavailablePackageError",
    "resolve_package",
    "run_demo",
    "status_name",
)

#: The package ``sspi-async demo`` uses without ``--package`` (SPEC §10).
DEFAULT_PACKAGE: Final = "schannel"
#: The TLS version the Schannel demo negotiates without ``--tls``.
DEFAULT_TLS: Final = "1.3"
#: The ALPN list the client offers (and the server prefers, in order) without ``--alpn``.
DEFAULT_ALPN: Final = ("h2", "http/1.1")

_TARGET: Final = "server.example"
#: Schannel: the server certificate's name, checked against pszTargetName (T10).
_SCHANNEL_TARGET: Final = "localhost"
_CLIENT_PRINCIPAL: Final = "alice"
_SECRET: Final = "sspi-async-demo"
_MAX_STEPS: Final = 32
#: How long one call may take before the demo gives up (a call never completing is a bug).
_CALL_TIMEOUT: Final = 30.0
_ISC_FLAGS: Final = (
    ISC_REQ_REPLAY_DETECT
    | ISC_REQ_SEQUENCE_DETECT
    | ISC_REQ_CONFIDENTIALITY
    | ISC_REQ_STREAM
    | ISC_REQ_EXTENDED_ERROR
    | ISC_REQ_ALLOCATE_MEMORY
)
_ASC_FLAGS: Final = (
    ASC_REQ_REPLAY_DETECT
    | ASC_REQ_SEQUENCE_DETECT
    | ASC_REQ_CONFIDENTIALITY
    | ASC_REQ_STREAM
    | ASC_REQ_EXTENDED_ERROR
    | ASC_REQ_ALLOCATE_MEMORY
    | ASC_REQ_MUTUAL_AUTH
)
_PROTOCOLS: Final = {0x0304: "TLS 1.3", 0x0303: "TLS 1.2"}
_SCHANNEL_NAMES: Final = frozenset({"schannel", UNISP_NAME.lower()})


class DemoError(Exception):
    """The demo could not finish (a call failed); the message says which call and why."""


class UnavailablePackageError(ValueError):
    """``--package`` names a package the demo cannot run; the message says what to use instead."""


def status_name(code: int) -> str:
    """``SEC_E_OK``-style name of a status, or its hex value when it has no name."""
    try:
        return SecurityStatus(code).name
    except ValueError:
        return f"0x{code:08X}"


def resolve_package(name: str) -> str:
    """The ``pszPackage`` the demo uses for ``--package name`` (case-insensitive).

    Raises:
        UnavailablePackageError: a package the demo cannot run.
    """
    key = name.strip().lower()
    if key == "simtls":
        return "SimTLS"
    if key in _SCHANNEL_NAMES:
        return "Schannel"
    raise UnavailablePackageError(
        f"unknown package {name!r} for the demo; use --package schannel or --package simtls"
    )


@dataclass(frozen=True, slots=True)
class DemoOptions:
    """What ``sspi-async demo`` runs.

    Attributes:
        package: the ``pszPackage`` name (see :func:`resolve_package`).
        rounds: SimTLS handshake round trips (1 = TLS 1.3 shape, 2 = TLS 1.2 shape, up to 8).
        alpn: protocols the client offers and the server prefers, in order; empty = no ALPN.
        tls: Schannel: the TLS version both sides enable, ``"1.3"`` or ``"1.2"``.
        faults: the fault plan the emulator runs under (SPEC §9), or ``None``.
        trace: record a trace (SPEC §9) for ``run_demo``'s ``trace_sink``.
    """

    package: str = "Schannel"
    rounds: int = 1
    tls: str = DEFAULT_TLS
    alpn: tuple[str, ...] = DEFAULT_ALPN
    faults: FaultPlan | None = None
    trace: bool = False


@dataclass(frozen=True, slots=True)
class DemoEvent:
    """One reported step of the demo.

    Attributes:
        kind: ``"call"`` (an async SSPI call), ``"negotiated"``, ``"names"``, ``"message"`` or
            ``"complete"``.
        text: the human-readable line.
        data: the machine-readable fields (printed by ``--json`` with ``"event": kind``).
    """

    kind: str
    text: str
    data: dict[str, Any] = field(default_factory=dict)

    def record(self) -> dict[str, Any]:
        """The JSON object for ``--json``: ``{"event": kind, **data}``."""
        return {"event": self.kind, **self.data}


Emit = Callable[[DemoEvent], None]
TraceSink = Callable[[list[TraceEvent]], None]
_Queue = Callable[[SspiAsyncContext], Awaitable[int]]


async def _on_complete(actx: SspiAsyncContext, side: _Side) -> None:
    """Notify callback (a coroutine function, run by the emulator): read the call's result with
    ``SspiGetAsyncCallStatus`` and hand it to the side waiting for it."""
    status = await SspiGetAsyncCallStatus(actx)
    if side.done is not None and not side.done.done():
        side.done.set_result(status)


class _Side:
    """One end of the demo: its async context (reused with reinit), credential and context
    handles, and the out-parameters of its calls."""

    def __init__(self, name: str, emit: Emit) -> None:
        self.name = name
        self.emit = emit
        self.cred = CredHandle()
        self.ctx = CtxtHandle()
        self.attrs = ULONG()
        self.expiry = TimeStamp()
        self.started = False
        self.complete = False
        self.done: asyncio.Future[int] | None = None
        self._actx: SspiAsyncContext | None = None

    async def open(self) -> None:
        """Create the async context and register the notify callback (A2)."""
        self._actx = await SspiCreateAsyncContext()
        self._actx.tag = self.name
        status = await SspiSetAsyncNotifyCallback(self._actx, _on_complete, self)
        if status != SEC_E_OK:
            raise DemoError(f"{self.name}: SspiSetAsyncNotifyCallback -> {status_name(status)}")

    async def close(self) -> None:
        """Free the async context. A context whose call is still pending (the demo was
        interrupted) is left to the emulator's shutdown, which completes it (A11, A15)."""
        actx, self._actx = self._actx, None
        if actx is not None and await SspiGetAsyncCallStatus(actx) != SEC_I_ASYNC_CALL_PENDING:
            await SspiFreeAsyncContext(actx)

    async def call(self, function: str, queue: _Queue, output: SecBufferDesc | None = None) -> int:
        """Queue one async call, report queue/pending/result, and return the result.

        ``output``, when given, is the call's ``pOutput``: its token size is reported.
        """
        actx = self._actx
        assert actx is not None, "open() first"
        await SspiReinitAsyncContext(actx)
        self.done = asyncio.get_running_loop().create_future()
        queued = await queue(actx)
        pending = await SspiGetAsyncCallStatus(actx)
        if queued != SEC_E_OK:  # refused at queue time (A4): no callback will come
            raise DemoError(f"{self.name}: {function} was refused: {status_name(queued)}")
        try:
            result = await asyncio.wait_for(self.done, _CALL_TIMEOUT)
        except asyncio.TimeoutError:
            raise DemoError(
                f"{self.name}: {function} queued but no notify callback within {_CALL_TIMEOUT:g} s"
            ) from None
        token = _token_size(output)
        line = (
            f"{self.name:<8}{function} -> queued {status_name(queued)}, "
            f"{status_name(pending)}, completed {status_name(result)}"
        )
        if token is not None:
            line += f" (token {token} bytes)"
        data: dict[str, Any] = {
            "side": self.name,
            "function": function,
            "queued": status_name(queued),
            "after_await": status_name(pending),
            "completed": status_name(result),
        }
        if token is not None:
            data["token_bytes"] = token
        self.emit(DemoEvent("call", line, data))
        if not SEC_SUCCESS(result):
            raise DemoError(f"{self.name}: {function} failed: {status_name(result)}")
        return result

    async def acquire(self, package: str, use: int, auth: object) -> None:
        """SspiAcquireCredentialsHandleAsync for this side."""
        await self.call(
            "SspiAcquireCredentialsHandleAsync",
            lambda actx: SspiAcquireCredentialsHandleAsync(
                actx, None, package, use, None, auth, None, None, self.cred, None
            ),
        )

    async def post_handshake(self, data: bytes, target: str) -> None:
        """Read records that arrive after this side completed (TLS 1.3 session tickets):
        DecryptMessage → ``SEC_I_RENEGOTIATE``, then the follow-up ISC with no input (M2)."""
        while data:
            status, extra = _decrypt_post_handshake(self.ctx, data)
            line = f"{self.name:<8}DecryptMessage -> {status_name(status)} (post-handshake message)"
            self.emit(
                DemoEvent(
                    "call",
                    line,
                    {
                        "side": self.name,
                        "function": "DecryptMessage",
                        "completed": status_name(status),
                    },
                )
            )
            if status == SEC_I_RENEGOTIATE:
                token = await self.step(None, (), target)
                if token:
                    raise DemoError(f"{self.name}: unexpected reply to a post-handshake message")
            data = extra

    async def step(self, token: bytes | None, alpn: tuple[str, ...], target: str) -> bytes:
        """One ISC (client) or ASC (server) step on ``token``; returns the token to send."""
        buffers = []
        if token is not None:
            buffers = [SecBuffer.of(SECBUFFER_TOKEN, token), SecBuffer(SECBUFFER_EMPTY)]
        if self.name == "client" and not self.started and alpn:
            # T12: the client offers ALPN in its first input, Schannel's wire layout.
            protocols = encode_application_protocols(list(alpn))
            buffers.append(SecBuffer.of(SECBUFFER_APPLICATION_PROTOCOLS, protocols))
        pinput = SecBufferDesc(buffers) if buffers else None
        output = SecBufferDesc([SecBuffer(SECBUFFER_TOKEN)])
        phcontext = self.ctx if self.started else None
        if self.name == "client":
            status = await self.call(
                "SspiInitializeSecurityContextAsync",
                lambda actx: SspiInitializeSecurityContextAsync(
                    actx,
                    self.cred,
                    phcontext,
                    target,
                    _ISC_FLAGS,
                    0,
                    SECURITY_NATIVE_DREP,
                    pinput,
                    0,
                    self.ctx,
                    output,
                    self.attrs,
                    self.expiry,
                ),
                output,
            )
        else:
            status = await self.call(
                "SspiAcceptSecurityContextAsync",
                lambda actx: SspiAcceptSecurityContextAsync(
                    actx,
                    self.cred,
                    phcontext,
                    pinput,
                    _ASC_FLAGS,
                    SECURITY_NATIVE_DREP,
                    self.ctx,
                    output,
                    self.attrs,
                    self.expiry,
                ),
                output,
            )
        if status not in (SEC_E_OK, SEC_I_CONTINUE_NEEDED):
            raise DemoError(f"{self.name}: unexpected handshake status {status_name(status)}")
        self.started = True
        self.complete = status == SEC_E_OK
        return _take_token(output)

    async def delete(self) -> None:
        """SspiDeleteSecurityContextAsync for this side's context."""
        await self.call(
            "SspiDeleteSecurityContextAsync",
            lambda actx: SspiDeleteSecurityContextAsync(actx, self.ctx),
        )

    async def free_credentials(self) -> None:
        """SspiFreeCredentialsHandleAsync for this side's credential."""
        await self.call(
            "SspiFreeCredentialsHandleAsync",
            lambda actx: SspiFreeCredentialsHandleAsync(actx, self.cred),
        )


def _token_size(output: SecBufferDesc | None) -> int | None:
    if output is None:
        return None
    return sum(b.cbBuffer for b in output.pBuffers if b.BufferType == SECBUFFER_TOKEN)


def _take_token(output: SecBufferDesc) -> bytes:
    """The produced token, with the package-allocated buffer released (ALLOCATE_MEMORY, M5)."""
    buffer = output.pBuffers[0]
    token = buffer.data()
    if buffer.pvBuffer is not None:
        FreeContextBuffer(buffer.pvBuffer)
        buffer.pvBuffer = None
    return token


def _query(ctx: CtxtHandle, attribute: int) -> object | None:
    """QueryContextAttributes value, or None when the package does not support the attribute."""
    status, value = QueryContextAttributes(ctx, attribute)
    if status == SEC_E_UNSUPPORTED_FUNCTION:
        return None
    if status != SEC_E_OK:
        raise DemoError(f"QueryContextAttributes({attribute}) failed: {status_name(status)}")
    return value


def _encrypt(ctx: CtxtHandle, plaintext: bytes) -> tuple[bytes, SecPkgContext_StreamSizes]:
    """EncryptMessage ``[STREAM_HEADER, DATA, STREAM_TRAILER, EMPTY]`` → one TLS record (M1)."""
    sizes = _query(ctx, SECPKG_ATTR_STREAM_SIZES)
    assert isinstance(sizes, SecPkgContext_StreamSizes)
    message = SecBufferDesc(
        [
            SecBuffer(SECBUFFER_STREAM_HEADER, sizes.cbHeader, bytearray(sizes.cbHeader)),
            SecBuffer.of(SECBUFFER_DATA, bytearray(plaintext)),
            SecBuffer(SECBUFFER_STREAM_TRAILER, sizes.cbTrailer, bytearray(sizes.cbTrailer)),
            SecBuffer(SECBUFFER_EMPTY),
        ]
    )
    status = EncryptMessage(ctx, 0, message, 0)
    if status != SEC_E_OK:
        raise DemoError(f"EncryptMessage failed: {status_name(status)}")
    return b"".join(b.data() for b in message.pBuffers[:3]), sizes


def _decrypt_first(ctx: CtxtHandle, data: bytes) -> tuple[int, bytes, bytes]:
    """DecryptMessage of the first record of ``data`` (M2): status, plaintext, bytes after it."""
    message = SecBufferDesc(
        [
            SecBuffer.of(SECBUFFER_DATA, bytearray(data)),
            SecBuffer(SECBUFFER_EMPTY),
            SecBuffer(SECBUFFER_EMPTY),
            SecBuffer(SECBUFFER_EMPTY),
        ]
    )
    status = DecryptMessage(ctx, message, 0, None)
    plaintext = next((b.data() for b in message.pBuffers if b.BufferType == SECBUFFER_DATA), b"")
    extra = next((b for b in message.pBuffers if b.BufferType == SECBUFFER_EXTRA), None)
    return status, plaintext, data[len(data) - extra.cbBuffer :] if extra is not None else b""


def _decrypt(ctx: CtxtHandle, record: bytes) -> bytes:
    """DecryptMessage of one record: its plaintext."""
    status, plaintext, _ = _decrypt_first(ctx, record)
    if status != SEC_E_OK:
        raise DemoError(f"DecryptMessage failed: {status_name(status)}")
    return plaintext


def _decrypt_post_handshake(ctx: CtxtHandle, data: bytes) -> tuple[int, bytes]:
    """DecryptMessage of the first post-handshake record of ``data``: status, bytes after it."""
    status, _, extra = _decrypt_first(ctx, data)
    if status not in (SEC_E_OK, SEC_I_RENEGOTIATE):
        raise DemoError(f"DecryptMessage of a post-handshake record failed: {status_name(status)}")
    return status, extra


def _schannel_credentials(options: DemoOptions) -> tuple[object, object]:
    """Ephemeral certificates (made now, in memory): a CA, a server certificate for
    ``localhost`` and a client certificate for ``alice`` that the server maps to an account."""
    from sspi_async.testing import CertificateAuthority  # cryptography key generation

    ca = CertificateAuthority()
    server_cert = ca.issue(_SCHANNEL_TARGET)
    client_cert = ca.issue(_CLIENT_PRINCIPAL, dns_names=(), ip_addresses=())
    protocols = ("tls1.3",) if options.tls == "1.3" else ("tls1.2",)
    client = client_cert.schannel_cred(trusted_roots=ca.cert_pem, enabled_protocols=protocols)
    server = server_cert.schannel_cred(
        trusted_roots=ca.cert_pem,
        enabled_protocols=protocols,
        alpn=options.alpn,
        client_certificate_mapping="common_name",
    )
    return client, server


def _credentials(options: DemoOptions) -> tuple[object, object]:
    """Client and server ``pAuthData`` for the package (SimTLS: one shared secret)."""
    if options.package == "Schannel":
        return _schannel_credentials(options)
    # rounds >= 2 is the TLS 1.2 message sequence, so report TLS 1.2 as well.
    version = 0x0304 if options.rounds == 1 else 0x0303
    client = SimTLSCred(
        principal=_CLIENT_PRINCIPAL,
        secret=_SECRET,
        rounds=options.rounds,
        tls_version_bytes=version,
    )
    server = SimTLSCred(
        principal=_TARGET,
        secret=_SECRET,
        rounds=options.rounds,
        alpn=options.alpn,
        tls_version_bytes=version,
    )
    return client, server


async def _handshake(client: _Side, server: _Side, alpn: tuple[str, ...], target: str) -> int:
    """Drive ISC/ASC until both sides returned ``SEC_E_OK``; returns the number of steps.

    A token the server sends with its final ``SEC_E_OK`` after the client completed (TLS 1.3
    session tickets) goes to the client's DecryptMessage, as on a real connection (T8, M2).
    """
    steps = 0
    token: bytes | None = None
    while steps < _MAX_STEPS:
        if not client.complete:
            token = await client.step(token, alpn, target)
            steps += 1
        if client.complete and server.complete:
            return steps
        if not token and server.complete:
            raise DemoError("client: handshake stalled (nothing to send to a finished server)")
        token = await server.step(token, (), target)
        steps += 1
        if client.complete and server.complete:
            if token:
                await client.post_handshake(token, target)
            return steps
    raise DemoError(f"the handshake did not finish within {_MAX_STEPS} steps")


def _negotiated(client: _Side) -> DemoEvent:
    cipher = _query(client.ctx, SECPKG_ATTR_CIPHER_INFO)
    app = _query(client.ctx, SECPKG_ATTR_APPLICATION_PROTOCOL)
    data: dict[str, Any] = {"protocol": None, "cipher_suite": None, "alpn": None}
    if isinstance(cipher, SecPkgContext_CipherInfo):
        data["protocol"] = _PROTOCOLS.get(cipher.dwProtocol, f"0x{cipher.dwProtocol:04X}")
        data["cipher_suite"] = cipher.szCipherSuite
    if (
        isinstance(app, SecPkgContext_ApplicationProtocol)
        and app.ProtoNegoStatus == SecApplicationProtocolNegotiationStatus_Success
    ):
        data["alpn"] = app.ProtocolId[: app.ProtocolIdSize].decode("ascii", "replace")
    text = (
        f"{'':<8}negotiated: protocol {data['protocol'] or '(not reported)'}, "
        f"cipher {data['cipher_suite'] or '(not reported)'}, ALPN {data['alpn'] or '(none)'}"
    )
    return DemoEvent("negotiated", text, data)


def _names(client: _Side, server: _Side) -> DemoEvent:
    peer_of_client = _query(client.ctx, SECPKG_ATTR_NAMES)
    peer_of_server = _query(server.ctx, SECPKG_ATTR_NAMES)
    data = {
        "client_sees": peer_of_client.sUserName
        if isinstance(peer_of_client, SecPkgContext_Names)
        else None,
        "server_sees": peer_of_server.sUserName
        if isinstance(peer_of_server, SecPkgContext_Names)
        else None,
    }
    text = (
        f"{'':<8}names: the client talks to {data['client_sees']!r}, "
        f"the server authenticated {data['server_sees']!r}"
    )
    return DemoEvent("names", text, data)


def _exchange(sender: _Side, receiver: _Side, plaintext: bytes) -> DemoEvent:
    record, sizes = _encrypt(sender.ctx, plaintext)
    received = _decrypt(receiver.ctx, record)
    if received != plaintext:
        raise DemoError(f"{receiver.name}: decrypted {received!r}, expected {plaintext!r}")
    text = (
        f"{sender.name:<8}EncryptMessage {plaintext.decode()!r} ({len(plaintext)} bytes) -> "
        f"record {len(record)} bytes (header {sizes.cbHeader}, trailer {sizes.cbTrailer}); "
        f"{receiver.name} DecryptMessage -> {received.decode()!r}"
    )
    data = {
        "sender": sender.name,
        "receiver": receiver.name,
        "plaintext": plaintext.decode(),
        "plaintext_bytes": len(plaintext),
        "record_bytes": len(record),
        "header_bytes": sizes.cbHeader,
        "trailer_bytes": sizes.cbTrailer,
        "decrypted": received.decode(),
    }
    return DemoEvent("message", text, data)


async def run_demo(options: DemoOptions, emit: Emit, trace_sink: TraceSink | None = None) -> None:
    """Run the whole demo in a fresh :class:`~sspi_async.Emulator`, reporting through ``emit``;
    with ``options.trace``, ``trace_sink`` gets the trace after the emulator shut down (even when
    a call failed).

    Raises:
        DemoError: a call failed; the emulator's shutdown releases what was acquired.
    """
    emulator = Emulator(EmulatorSettings(faults=options.faults, trace=options.trace))
    try:
        await _run(options, emit, emulator)
    finally:
        if trace_sink is not None and options.trace:
            trace_sink(emulator.trace_events())


async def _run(options: DemoOptions, emit: Emit, emulator: Emulator) -> None:
    async with emulator:
        client, server = _Side("client", emit), _Side("server", emit)
        await client.open()
        await server.open()
        try:
            client_auth, server_auth = _credentials(options)
            await client.acquire(options.package, SECPKG_CRED_OUTBOUND, client_auth)
            await server.acquire(options.package, SECPKG_CRED_INBOUND, server_auth)
            target = _SCHANNEL_TARGET if options.package == "Schannel" else _TARGET
            steps = await _handshake(client, server, options.alpn, target)
            negotiated = _negotiated(client)
            emit(negotiated)
            emit(_names(client, server))
            emit(_exchange(client, server, b"ping from the client"))
            emit(_exchange(server, client, b"pong from the server"))
            await client.delete()
            await server.delete()
            await client.free_credentials()
            await server.free_credentials()
        finally:
            await client.close()
            await server.close()
    summary = {
        "package": options.package,
        "handshake_calls": steps,
        "protocol": negotiated.data["protocol"],
        "alpn": negotiated.data["alpn"],
        "messages": 2,
    }
    emit(
        DemoEvent(
            "complete",
            f"handshake complete: {options.package}, {negotiated.data['protocol']}, "
            f"ALPN {negotiated.data['alpn'] or '(none)'}, {steps} handshake calls, "
            "one encrypted message each way",
            summary,
        )
    )
