"""``ContextPair``: ready client and server credentials of one package and an in-memory handshake
driver (the ``simtls_pair`` and ``schannel_pair`` fixtures of the pytest plugin).

    pair = await ContextPair.simtls()                      # on the current emulator
    conn = await pair.handshake()
    assert conn.server.decrypt(conn.client.encrypt(b"ping")).data == b"ping"
    await pair.aclose()                                    # contexts, then credentials

Everything a pair makes is freed by :meth:`ContextPair.aclose`, also after the emulator was shut
down (the handles are then freed synchronously, as ``DeleteSecurityContext`` and
``FreeCredentialsHandle`` do), so a leak check after it sees only what the test itself made.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .._api._handshake import handshake
from .._api._objects import Credentials, SecurityContext, acquire_credentials
from .._core._config import SimTLSCred
from .._core._emulator import Emulator, current_emulator
from .._core._schannel_cred import SchannelCred
from .._flags import SCHANNEL_NAME

__all__ = ("Connection", "ContextPair")

#: The shared secret of the SimTLS pair (SimTLS proves both sides know it; it protects nothing).
SIMTLS_TEST_SECRET = "sspi-async test secret"


@dataclass(frozen=True)
class Connection:
    """Both sides of a completed handshake.

    Attributes:
        client: the client side (``InitializeSecurityContext``), complete.
        server: the server side (``AcceptSecurityContext``), complete.
    """

    client: SecurityContext
    server: SecurityContext

    def client_to_server(self, data: bytes) -> bytes:
        """Encrypt ``data`` on the client, decrypt it on the server; return what the server read."""
        return self.server.decrypt(self.client.encrypt(data)).data

    def server_to_client(self, data: bytes) -> bytes:
        """Encrypt ``data`` on the server, decrypt it on the client; return what the client read."""
        return self.client.decrypt(self.server.encrypt(data)).data


class ContextPair:
    """Client and server credentials of one package on one emulator, and a handshake driver.

    Attributes:
        emulator: the emulator the credentials live in.
        package: the package name (``"SimTLS"``, ``"Schannel"``).
        client_credentials: the outbound credential (:class:`~sspi_async.Credentials`).
        server_credentials: the inbound credential.
        target: the server's name, passed as ``pszTargetName`` by :meth:`contexts`.
    """

    def __init__(
        self,
        emulator: Emulator,
        client_credentials: Credentials,
        server_credentials: Credentials,
        target: str | None,
    ) -> None:
        self.emulator = emulator
        self.package = client_credentials.package
        self.client_credentials = client_credentials
        self.server_credentials = server_credentials
        self.target = target
        self._contexts: list[SecurityContext] = []
        self._closed = False

    @classmethod
    async def acquire(
        cls,
        package: str,
        client_auth: object,
        server_auth: object,
        *,
        target: str | None,
        emulator: Emulator | None = None,
    ) -> ContextPair:
        """Acquire an outbound and an inbound credential of ``package`` (on ``emulator``, default
        the current one). If the second acquisition fails, the first credential is freed."""
        emulator = emulator or current_emulator()
        client = await acquire_credentials(package, "outbound", client_auth, emulator=emulator)
        try:
            server = await acquire_credentials(package, "inbound", server_auth, emulator=emulator)
        except BaseException:
            await _free_credentials(client)
            raise
        return cls(emulator, client, server, target)

    @classmethod
    async def simtls(
        cls, *, emulator: Emulator | None = None, **server_options: Any
    ) -> ContextPair:
        """A SimTLS pair: client ``alice``, server ``localhost`` (the target), one shared secret;
        ``server_options`` are more :class:`~sspi_async.SimTLSCred` fields of the server (e.g.
        ``alpn=("h2",)``, ``session_tickets=True``)."""
        client = SimTLSCred(principal="alice", secret=SIMTLS_TEST_SECRET)
        server = SimTLSCred(principal="localhost", secret=SIMTLS_TEST_SECRET, **server_options)
        return await cls.acquire("SimTLS", client, server, target="localhost", emulator=emulator)

    @classmethod
    async def schannel(
        cls,
        client_cred: SchannelCred,
        server_cred: SchannelCred,
        *,
        target: str = "localhost",
        emulator: Emulator | None = None,
    ) -> ContextPair:
        """A Schannel pair from credential data (see :class:`~sspi_async.testing.TlsPki`)."""
        return await cls.acquire(
            SCHANNEL_NAME, client_cred, server_cred, target=target, emulator=emulator
        )

    def contexts(
        self,
        *,
        target: str | None = None,
        alpn: list[str] | None = None,
        client_flags: int | None = None,
        server_flags: int | None = None,
    ) -> tuple[SecurityContext, SecurityContext]:
        """A new client and server context, not started (drive them with ``step``); the pair
        deletes them in :meth:`aclose`.

        Args:
            target: ``pszTargetName`` (default :attr:`target`).
            alpn: protocols the client offers.
            client_flags / server_flags: ``ISC_REQ_*`` / ``ASC_REQ_*`` (default: a stream with
                confidentiality, replay and sequence detection).
        """
        if self._closed:
            raise RuntimeError(
                f"this {self.package} ContextPair was closed (its fixture was torn down); "
                "make new contexts inside the test"
            )
        client_options: dict[str, Any] = {"alpn": alpn}
        if client_flags is not None:
            client_options["flags"] = client_flags
        server_options: dict[str, Any] = {}
        if server_flags is not None:
            server_options["flags"] = server_flags
        client = self.client_credentials.client_context(target or self.target, **client_options)
        server = self.server_credentials.server_context(**server_options)
        self._contexts += (client, server)
        return client, server

    async def handshake(
        self,
        *,
        target: str | None = None,
        alpn: list[str] | None = None,
        client_flags: int | None = None,
        server_flags: int | None = None,
    ) -> Connection:
        """Run a complete in-memory handshake between new contexts (arguments as
        :meth:`contexts`) with :func:`sspi_async.handshake`: tokens are passed chunk by chunk
        (a fault plan's ``split``), and the client reads the server's post-handshake records
        (TLS 1.3 session tickets), so the next record either side sends is application data.

        Raises:
            SspiError: either side failed (the error of the side that failed first).
        """
        client, server = self.contexts(
            target=target, alpn=alpn, client_flags=client_flags, server_flags=server_flags
        )
        await handshake(client, server)
        return Connection(client, server)

    async def aclose(self) -> None:
        """Delete every context made by :meth:`contexts`, then free both credentials
        (idempotent)."""
        if self._closed:
            return
        self._closed = True
        contexts, self._contexts = self._contexts, []
        for context in contexts:
            await _delete_context(context)
        await _free_credentials(self.client_credentials)
        await _free_credentials(self.server_credentials)

    def __repr__(self) -> str:
        return f"<ContextPair {self.package} target={self.target!r}>"


async def _delete_context(context: SecurityContext) -> None:
    """``context.aclose()``, or, on an emulator that was shut down (async calls are refused),
    the synchronous ``DeleteSecurityContext``."""
    if context.emulator.closed:
        context.emulator.engine.delete_context(context.handle)
    await context.aclose()


async def _free_credentials(credentials: Credentials) -> None:
    """``credentials.aclose()``, or ``FreeCredentialsHandle`` on a shut-down emulator."""
    if credentials.emulator.closed:
        credentials.emulator.engine.free_credentials(credentials.handle)
    await credentials.aclose()
