"""``sspi-async serve`` and ``sspi-async connect``: TLS over TCP through the emulator (SPEC §10).

``serve`` is a TLS echo server on :class:`~sspi_async.SspiTLSListener`: every accepted connection
runs AcceptSecurityContext through the async SSPI calls in a task of its own and echoes what it
decrypts. A client that resets, sends garbage, fails or never finishes its handshake
(``--handshake-timeout``) or leaves without close_notify ends its own connection with one line
``PEER: handshake failed: REASON`` or ``PEER: connection failed: REASON`` (E5). Without ``--cert`` it issues an
ephemeral certificate for ``localhost``/127.0.0.1 and writes its CA certificate to a file, so that
``openssl s_client -CAfile`` or ``curl --cacert`` can verify it. ``connect`` is the client: it
runs InitializeSecurityContext over a TCP connection, reports what was negotiated, sends one
message and prints the first reply.
"""

from __future__ import annotations

import asyncio
import signal
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

import anyio
import anyio.abc
from anyio.streams.tls import TLSAttribute

from sspi_async import (
    ConfigurationError,
    Credentials,
    SchannelCred,
    SspiError,
    SspiTLSAttribute,
    SspiTLSListener,
    SspiTLSStream,
    acquire_credentials,
)
from sspi_async import (
    SecurityStatus as S,
)
from sspi_async.sspi import (
    ASC_REQ_CONFIDENTIALITY,
    ASC_REQ_EXTENDED_ERROR,
    ASC_REQ_MUTUAL_AUTH,
    ASC_REQ_REPLAY_DETECT,
    ASC_REQ_SEQUENCE_DETECT,
    ASC_REQ_STREAM,
    ISC_REQ_CONFIDENTIALITY,
    ISC_REQ_EXTENDED_ERROR,
    ISC_REQ_MANUAL_CRED_VALIDATION,
    ISC_REQ_REPLAY_DETECT,
    ISC_REQ_SEQUENCE_DETECT,
    ISC_REQ_STREAM,
)

__all__ = ("ConnectOptions", "ServeOptions", "connect", "serve")

Emit = Callable[[str], None]
_DEFAULT_ASC: Final = (
    ASC_REQ_REPLAY_DETECT
    | ASC_REQ_SEQUENCE_DETECT
    | ASC_REQ_CONFIDENTIALITY
    | ASC_REQ_STREAM
    | ASC_REQ_EXTENDED_ERROR
)
_DEFAULT_ISC: Final = (
    ISC_REQ_REPLAY_DETECT
    | ISC_REQ_SEQUENCE_DETECT
    | ISC_REQ_CONFIDENTIALITY
    | ISC_REQ_STREAM
    | ISC_REQ_EXTENDED_ERROR
)


@dataclass(frozen=True, slots=True)
class ServeOptions:
    """What ``serve`` runs (see ``sspi-async serve --help``)."""

    host: str = "127.0.0.1"
    port: int = 0
    cert: Path | None = None
    key: Path | None = None
    ca_out: Path | None = None
    alpn: tuple[str, ...] = ()
    tls: tuple[str, ...] = ("tls1.2", "tls1.3")
    request_client_certificate: bool = False
    connections: int = 0
    handshake_timeout: float = 60.0


@dataclass(frozen=True, slots=True)
class ConnectOptions:
    """What ``connect`` runs (see ``sspi-async connect --help``)."""

    host: str
    port: int
    cafile: Path | None = None
    servername: str | None = None
    insecure: bool = False
    alpn: tuple[str, ...] = ()
    tls: tuple[str, ...] = ("tls1.2", "tls1.3")
    message: bytes = b"hello from sspi-async\n"
    timeout: float = 10.0


def describe(stream: SspiTLSStream) -> str:
    """``TLSv1.3 TLS_AES_256_GCM_SHA384, ALPN h2, peer CN=localhost`` for a connected stream."""
    version = stream.extra(TLSAttribute.tls_version, "?")
    suite = stream.extra(SspiTLSAttribute.cipher_suite, None) or "?"
    alpn = stream.extra(TLSAttribute.alpn_protocol, None) or "(none)"
    peer = stream.extra(SspiTLSAttribute.peer_name, None) or "(anonymous)"
    return f"{version} {suite}, ALPN {alpn}, peer {peer}"


def _ephemeral(options: ServeOptions, emit: Emit, scratch: Path) -> SchannelCred:
    """Credentials from a throw-away CA; its certificate goes to ``--ca-out`` or into
    ``scratch`` (a temporary folder the caller removes when the server stops)."""
    from sspi_async.testing import CertificateAuthority

    ca = CertificateAuthority()
    server = ca.issue("localhost")
    ca_path = options.ca_out or scratch / "ca.pem"
    try:
        ca_path.write_bytes(ca.cert_pem)
    except OSError as exc:
        raise ConfigurationError(f"cannot write --ca-out {ca_path}: {exc.strerror}") from None
    removed = "" if options.ca_out else " (removed when the server stops)"
    emit(
        f"ephemeral certificate for localhost, 127.0.0.1; CA certificate written to {ca_path}"
        + removed
    )
    return server.schannel_cred(
        trusted_roots=ca.cert_pem,
        alpn=options.alpn,
        enabled_protocols=options.tls,
    )


#: What to try when the server's certificate is refused (SEC_E_UNTRUSTED_ROOT, ...WRONG_PRINCIPAL).
_CONNECT_HINTS: Final[dict[int, str]] = {
    S.SEC_E_UNTRUSTED_ROOT: (
        "the server's certificate is not issued by a trusted CA; pass the CA certificate with "
        "--cafile FILE (sspi-async serve prints where it wrote it), or --insecure to skip the check"
    ),
    S.SEC_E_WRONG_PRINCIPAL: (
        "the server's certificate is not for {target!r}; pass the name it was issued for with "
        "--servername NAME"
    ),
    S.SEC_E_CERT_EXPIRED: "the server's certificate has expired (or is not valid yet)",
}


async def _acquire(
    cred: SchannelCred, use: Literal["inbound", "outbound"], problem: str
) -> Credentials:
    """AcquireCredentialsHandle for the command line: unusable certificate data is the user's
    mistake, so it is a one-line configuration error naming the options."""
    try:
        return await acquire_credentials("Schannel", use, cred)
    except SspiError as exc:
        if exc.status in (S.SEC_E_UNKNOWN_CREDENTIALS, S.SEC_E_NO_CREDENTIALS):
            raise ConfigurationError(f"{problem} ({exc})") from None
        raise


def _read(path: Path, option: str) -> bytes:
    """The bytes of a file named on the command line; an unreadable one is the user's mistake."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"cannot read {option} {path}: {exc.strerror}") from None


async def serve(options: ServeOptions, emit: Emit) -> None:
    """Serve TLS echo connections until cancelled, SIGTERM (a clean stop), or until
    ``options.connections`` were served. A CA certificate written to a temporary folder is
    removed when the server stops."""
    with tempfile.TemporaryDirectory(prefix="sspi-async-") as scratch:
        stop = _stop_on_sigterm()
        try:
            await _serve(options, emit, Path(scratch))
        except asyncio.CancelledError:
            if not stop.requested:
                raise
            emit("terminated (SIGTERM)")
        finally:
            stop.uninstall()


class _SigtermStop:
    """SIGTERM cancels the serving task (so ``finally`` blocks run) instead of killing the
    process; ``requested`` tells that cancellation apart from any other."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None) -> None:
        self.loop = loop
        self.requested = False

    def uninstall(self) -> None:
        if self.loop is not None:
            self.loop.remove_signal_handler(signal.SIGTERM)


def _stop_on_sigterm() -> _SigtermStop:
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    stop = _SigtermStop(loop)

    def terminate() -> None:
        stop.requested = True
        if task is not None:
            task.cancel()

    try:
        loop.add_signal_handler(signal.SIGTERM, terminate)
    except (NotImplementedError, RuntimeError, ValueError):  # Windows, or not the main thread
        stop.loop = None
    return stop


async def _serve(options: ServeOptions, emit: Emit, scratch: Path) -> None:
    if options.cert is not None:
        cred = SchannelCred(
            certificate_chain=_read(options.cert, "--cert"),
            private_key=_read(options.key, "--key") if options.key else None,
            alpn=options.alpn,
            enabled_protocols=options.tls,
        )
    else:
        cred = _ephemeral(options, emit, scratch)
    flags = _DEFAULT_ASC | (ASC_REQ_MUTUAL_AUTH if options.request_client_certificate else 0)
    served = 0
    problem = "--cert/--key are not a PEM certificate chain and its matching private key"
    async with await _acquire(cred, "inbound", problem) as credentials:
        try:
            tcp = await anyio.create_tcp_listener(local_host=options.host, local_port=options.port)
        except OSError as exc:
            where = f"{options.host}:{options.port}"
            raise ConfigurationError(f"cannot listen on {where}: {exc.strerror or exc}") from None
        listener = _EchoListener(
            tcp, credentials, emit, handshake_timeout=options.handshake_timeout, flags=flags
        )
        async with listener:
            port = listener.extra(anyio.abc.SocketAttribute.local_port)
            emit(f"serving TLS echo on {options.host}:{port}")
            async with anyio.create_task_group() as group:

                async def handle(stream: SspiTLSStream) -> None:
                    nonlocal served
                    try:
                        await _echo(stream, emit)
                    finally:
                        served += 1
                        if options.connections and served >= options.connections:
                            group.cancel_scope.cancel()

                await listener.serve(handle, group)


def peer_of(stream: anyio.abc.ByteStream) -> str:
    """``host:port`` of a connection's peer, or ``unknown peer`` (a socket reset early)."""
    address = stream.extra(anyio.abc.SocketAttribute.remote_address, None)
    if isinstance(address, tuple):
        host, port = address[0], address[1]
        return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
    return str(address) if address else "unknown peer"


class _EchoListener(SspiTLSListener):
    """The listener of ``serve``: each failed connection is one line of output (E5) instead of
    a log event."""

    def __init__(
        self, listener: anyio.abc.Listener[Any], credentials: Credentials, emit: Emit, **kw: Any
    ) -> None:
        super().__init__(listener, credentials, **kw)
        self._emit = emit

    def on_handshake_failure(self, peer: str | None, reason: str, exc: BaseException) -> None:
        self._emit(f"{peer or 'unknown peer'}: handshake failed: {reason}")

    def on_connection_failure(self, peer: str | None, reason: str, exc: BaseException) -> None:
        self._emit(f"{peer or 'unknown peer'}: connection failed: {reason}")


async def _echo(stream: SspiTLSStream, emit: Emit) -> None:
    """Echo until the client's close_notify. Anything else the peer does (a reset, an EOF
    without close_notify, a bad record) propagates to the listener, which reports it."""
    peer = peer_of(stream)
    emit(f"{peer}: connected, {describe(stream)}")
    total = 0
    async for data in stream:
        total += len(data)
        await stream.send(data)
    emit(f"{peer}: closed after echoing {total} bytes")


async def connect(options: ConnectOptions, emit: Emit) -> bytes:
    """Connect, report the negotiated parameters, send the message and return the first reply."""
    cred = SchannelCred(
        trusted_roots=_read(options.cafile, "--cafile") if options.cafile else None,
        alpn=options.alpn,
        enabled_protocols=options.tls,
    )
    flags = _DEFAULT_ISC | (ISC_REQ_MANUAL_CRED_VALIDATION if options.insecure else 0)
    target = options.servername if options.servername is not None else options.host
    with anyio.fail_after(options.timeout):
        credentials = await _acquire(cred, "outbound", "--cafile holds no usable PEM certificate")
        async with credentials:
            tcp = await anyio.connect_tcp(options.host, options.port)
            try:
                stream = await SspiTLSStream.wrap_client(tcp, credentials, target, flags=flags)
            except SspiError as exc:
                hint = _CONNECT_HINTS.get(exc.status)
                if hint is None:
                    raise
                raise type(exc)(
                    f"{exc.args[0]}: {hint.format(target=target)}", exc.status
                ) from None
            async with stream:
                emit(f"connected to {options.host}:{options.port}, {describe(stream)}")
                reply = b""
                if options.message:
                    await stream.send(options.message)
                    try:
                        reply = await stream.receive()
                    except anyio.EndOfStream:
                        reply = b""
                    emit(f"reply: {reply!r}")
                return reply
