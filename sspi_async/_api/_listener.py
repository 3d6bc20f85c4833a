"""``SspiTLSListener``: TLS through the async SSPI calls on every accepted connection (SPEC §6, E5).

Theory of operation. The model is ``anyio.streams.tls.TLSListener``: :meth:`SspiTLSListener.serve`
hands a wrapper to the wrapped listener's ``serve()``, so every accepted connection already runs
in its own task of the task group. In that task the wrapper

1. notes the peer's address (while the socket still has one: after a reset it may not);
2. runs the handshake, :meth:`SspiTLSStream.wrap_server`, under ``anyio.move_on_after`` with
   ``handshake_timeout`` (default 60 s, asyncio's ``ssl_handshake_timeout``). On failure or
   timeout ``wrap`` has already deleted the context and forcibly closed the transport; the
   failure is reported once (:meth:`~SspiTLSListener.on_handshake_failure`, by default the log
   event ``sspi.listener.handshake_failed``) and the task ends — ``serve()`` goes on (E5).
   Cancellation and other ``BaseException``\\ s are re-raised, as anyio does;
3. awaits ``handler(stream)``. A *peer-caused* error escaping the handler — the transport reset
   or ended without close_notify (:exc:`anyio.BrokenResourceError`), the peer closed while the
   handler still expected data (:exc:`anyio.EndOfStream`), a record that did not decrypt
   (:exc:`~sspi_async.SspiError`) — ends that connection only and is reported once
   (:meth:`~SspiTLSListener.on_connection_failure`, ``sspi.listener.connection_failed``).
   Any other exception is the handler's own bug and propagates out of ``serve()`` exactly as
   with anyio's ``TLSListener`` (whose wrapper does not catch handler errors at all);
4. closes the stream when the handler is done (trio's ``serve_listeners`` rule): gracefully,
   with close_notify, after a normal return; forcibly after an exception. ``aclose()`` is
   idempotent, so a handler that closes its stream itself loses nothing, and a handler that
   forgets cannot leak its security context (E1). The stream must not outlive the handler.
   That close is bounded by ``handshake_timeout`` too (a peer that reads nothing cannot hold
   the task), after which the stream is closed forcibly.

Reports are log events at ``warning`` level with key-value fields ``peer`` (``"host:port"``, or
``None`` when the socket no longer knows it), ``reason`` (never empty) and ``exc_type``. Like
every event of the library, they are skipped until the application configures structlog
(README, "Logging"). Subclasses override the two ``on_*`` hooks to report elsewhere (the
``sspi-async serve`` command prints one line per failure).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import anyio
from anyio.abc import Listener, SocketAttribute, TaskGroup
from anyio.streams.tls import TLSAttribute

from .._core._log import (
    LISTENER_CONNECTION_FAILED,
    LISTENER_HANDSHAKE_FAILED,
    enabled,
    logger,
)
from .._errors import SspiError
from .._flags import SECPKG_CRED_INBOUND
from ._objects import DEFAULT_ASC_FLAGS, Credentials
from ._stream import SspiTLSStream

__all__ = ("SspiTLSListener",)

#: The handler errors that end one connection only: the peer's doing, not the handler's.
_PEER_ERRORS = (anyio.BrokenResourceError, anyio.EndOfStream, SspiError)


def _peer(stream: Any) -> str | None:
    """``host:port`` of the connection's peer (``[v6]:port``; a UNIX socket's path), or None."""
    try:
        address = stream.extra(SocketAttribute.remote_address, None)
    except (OSError, anyio.TypedAttributeLookupError):
        return None
    if isinstance(address, tuple) and len(address) >= 2:
        host, port = address[0], address[1]
        return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
    return str(address) if address else None


def _reason(exc: BaseException) -> str:
    """A non-empty, one-line account of why a connection ended with ``exc``."""
    text = str(exc).strip()
    if not text:
        cause = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
        if cause is not None:
            text = str(cause).strip() or type(cause).__name__
    if text:
        return text.splitlines()[0]
    if isinstance(exc, anyio.EndOfStream):
        return "the peer closed the connection"
    if isinstance(exc, anyio.BrokenResourceError):
        return "the connection broke"
    return type(exc).__name__


class SspiTLSListener(Listener[SspiTLSStream]):
    """Wraps an anyio ``Listener`` and runs an SSPI TLS handshake (server side) on every
    accepted connection, like ``anyio.streams.tls.TLSListener``.

    Args:
        listener: the listener to wrap (``anyio.create_tcp_listener(...)``, a ``MultiListener``,
            any ``anyio.abc.Listener`` of byte streams).
        credentials: INBOUND (or BOTH) credentials from
            ``acquire_credentials(package, "inbound", ...)``; the caller keeps ownership and
            closes them after the listener.
        handshake_timeout: seconds a client gets to complete its handshake (> 0; default 60, as
            asyncio's ``ssl_handshake_timeout``); an idle client is dropped when it expires.
        standard_compatible: passed to :meth:`SspiTLSStream.wrap_server` (an EOF without
            close_notify is ``BrokenResourceError`` when true, ``EndOfStream`` when false).
        flags: the ``ASC_REQ_*`` flags of every AcceptSecurityContext (default: those of
            :meth:`SspiTLSStream.wrap_server`; add ``ASC_REQ_MUTUAL_AUTH`` to ask clients for a
            certificate).

    Raises:
        TypeError: ``listener`` is not an anyio Listener, ``credentials`` not a
            :class:`~sspi_async.Credentials`, or ``handshake_timeout`` not a number.
        ValueError: the credentials are OUTBOUND only, or ``handshake_timeout`` is not > 0.

    Each accepted connection runs in its own task: the handshake, under ``handshake_timeout``,
    then ``await handler(stream)``, then the stream is closed (with close_notify after a normal
    return; the stream must not outlive the handler). One connection never stops ``serve()``
    (E5): a handshake that fails or times out, and a peer-caused error escaping the handler
    (``anyio.BrokenResourceError``, ``anyio.EndOfStream``, ``SspiError``), close that connection
    and are reported once — by default the structlog events ``sspi.listener.handshake_failed``
    and ``sspi.listener.connection_failed`` (``warning``; fields ``peer``, ``reason``,
    ``exc_type``), or whatever an override of :meth:`on_handshake_failure` /
    :meth:`on_connection_failure` does. Any other exception from the handler is a bug of the
    handler and propagates out of ``serve()``, as with anyio's ``TLSListener``; so do
    cancellation and exceptions raised by the two hooks.
    """

    def __init__(
        self,
        listener: Listener[Any],
        credentials: Credentials,
        *,
        handshake_timeout: float = 60.0,
        standard_compatible: bool = True,
        flags: int = DEFAULT_ASC_FLAGS,
    ) -> None:
        if not isinstance(listener, Listener):
            raise TypeError(
                f"listener must be an anyio.abc.Listener (e.g. from anyio.create_tcp_listener()), "
                f"not {type(listener).__name__}"
            )
        if not isinstance(credentials, Credentials):
            raise TypeError(
                "credentials must be sspi_async.Credentials from "
                f"acquire_credentials(package, 'inbound', ...), not {type(credentials).__name__}"
            )
        if not credentials.use & SECPKG_CRED_INBOUND:
            raise ValueError(
                f"{credentials!r} are OUTBOUND-only credentials and a listener accepts "
                "connections: acquire them with 'inbound' or 'both'"
            )
        if isinstance(handshake_timeout, bool) or not isinstance(handshake_timeout, int | float):
            raise TypeError(
                f"handshake_timeout must be a number of seconds, not {handshake_timeout!r}"
            )
        if math.isnan(handshake_timeout) or handshake_timeout <= 0:
            raise ValueError(f"handshake_timeout must be > 0 seconds, not {handshake_timeout!r}")
        self.listener = listener
        self.credentials = credentials
        self.handshake_timeout = float(handshake_timeout)
        self.standard_compatible = standard_compatible
        self.flags = flags

    async def serve(
        self,
        handler: Callable[[SspiTLSStream], Any],
        task_group: TaskGroup | None = None,
    ) -> None:
        """Accept connections forever; each one's handshake and ``handler`` run in a task of
        their own (in ``task_group`` when given). A failed connection never stops this."""

        async def connection(transport: Any) -> None:
            await self._connection(handler, transport)

        await self.listener.serve(connection, task_group)

    async def _connection(self, handler: Callable[[SspiTLSStream], Any], transport: Any) -> None:
        peer = _peer(transport)
        stream: SspiTLSStream | None = None
        try:
            with anyio.move_on_after(self.handshake_timeout):
                stream = await SspiTLSStream.wrap_server(
                    transport,
                    self.credentials,
                    flags=self.flags,
                    standard_compatible=self.standard_compatible,
                )
        except Exception as exc:
            await anyio.aclose_forcefully(transport)  # wrap() did; a no-op then
            self.on_handshake_failure(peer, _reason(exc), exc)
            return
        except BaseException:  # cancellation, KeyboardInterrupt: not a handshake failure
            await anyio.aclose_forcefully(transport)
            raise
        if stream is None:  # the timeout expired (wrap() deleted the context first)
            await anyio.aclose_forcefully(transport)
            reason = f"no TLS handshake within {self.handshake_timeout:g} s (handshake_timeout)"
            self.on_handshake_failure(peer, reason, TimeoutError(reason))
            return
        try:
            await handler(stream)
        except _PEER_ERRORS as exc:
            await anyio.aclose_forcefully(stream)
            self.on_connection_failure(peer, _reason(exc), exc)
            return
        except BaseException:
            await anyio.aclose_forcefully(stream)
            raise
        # close_notify could wait on a peer that reads nothing: bounded, then forced (by aclose).
        with anyio.move_on_after(self.handshake_timeout):
            await stream.aclose()

    def on_handshake_failure(self, peer: str | None, reason: str, exc: BaseException) -> None:
        """Report a connection whose handshake failed or timed out (already closed). The
        default logs ``sspi.listener.handshake_failed``; override to report elsewhere."""
        if enabled():
            logger.warning(
                LISTENER_HANDSHAKE_FAILED, peer=peer, reason=reason, exc_type=type(exc).__name__
            )

    def on_connection_failure(self, peer: str | None, reason: str, exc: BaseException) -> None:
        """Report a connection that a peer-caused error ended inside the handler (already
        closed). The default logs ``sspi.listener.connection_failed``; override to report
        elsewhere."""
        if enabled():
            logger.warning(
                LISTENER_CONNECTION_FAILED, peer=peer, reason=reason, exc_type=type(exc).__name__
            )

    async def aclose(self) -> None:
        """Close the wrapped listener (the credentials stay the caller's)."""
        await self.listener.aclose()

    @property
    def extra_attributes(self) -> Mapping[Any, Callable[[], Any]]:
        """The wrapped listener's attributes (e.g. ``SocketAttribute.local_port``) and
        ``TLSAttribute.standard_compatible``, as anyio's ``TLSListener`` offers."""
        return {
            **self.listener.extra_attributes,
            TLSAttribute.standard_compatible: lambda: self.standard_compatible,
        }
