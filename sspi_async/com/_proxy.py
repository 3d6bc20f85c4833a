"""Client proxies and client call objects (reference §2.2; I11–I13, R16–R20).

A :class:`Proxy` points at an object in an apartment and carries the client's security blanket
(``IClientSecurity``). ``await proxy.call("M", *in)`` (or ``await proxy.M(*in)``) makes a
synchronous call: the caller waits — in an STA, in the modal loop — and gets ``(HRESULT, *out)``.
``proxy.CreateCall("M")`` (``ICallFactory::CreateCall``) gives a :class:`ClientCall`:
``Begin_M(*in)`` sends the call and returns at once; ``sync.Wait(ms)`` waits for the reply;
``await Finish_M()`` returns ``(HRESULT, *out)`` exactly as the synchronous call would (R19).

With standard marshaling a client may always make either kind of call (reference §2.3): an
asynchronous call to a method that has only a synchronous form runs that method, and a
synchronous call to a method that has only a call object runs ``Begin_``/``Finish_``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from .._identity import AccessToken
from ._apartment import ObjectRef, call_in_loop, current_apartment, modal_wait
from ._call_state import ClientEvent, ClientState, Refused, client_transition
from ._cancel import ICancelMethodCalls
from ._cloaking import ClientBlanket, capture, check_blanket, client_token, presented_identity
from ._dispatch import Invocation, Reply
from ._hresults import INFINITE, RPC_C_AUTHN_DEFAULT, RPC_C_AUTHN_LEVEL_NONE, HResult
from ._server_call import CallBlanket, ServerCall
from ._synchronize import EventKind, ISynchronize

if TYPE_CHECKING:
    from ._runtime import Runtime

__all__ = ("ClientCall", "Proxy")

_UNSET: Any = object()


def _replier(loop: asyncio.AbstractEventLoop, fut: asyncio.Future[tuple[Any, ...]]) -> Reply:
    """Deliver a reply into ``fut`` from whichever thread completes the call."""

    def put(result: tuple[Any, ...]) -> None:
        if not fut.done():
            fut.set_result(result)

    def reply(result: tuple[Any, ...]) -> None:
        call_in_loop(loop, put, result)

    return reply


class Proxy:
    """A client's reference to a COM object, with its security blanket."""

    def __init__(
        self,
        runtime: Runtime,
        ref: ObjectRef,
        blanket: ClientBlanket,
        *,
        client_machine: str = "local",
        privs: object = _UNSET,
        no_client: bool = False,
    ) -> None:
        self.runtime = runtime
        self.ref = ref
        self.client_machine = client_machine
        self._blanket = blanket
        self._captured: AccessToken | None = None
        self._privs = privs
        self._no_client = no_client

    # ------------------------------------------------------------- IClientSecurity (R16, R17)

    def QueryBlanket(self) -> tuple[int, ClientBlanket]:
        """``IClientSecurity::QueryBlanket``: ``(S_OK, blanket)``."""
        return HResult.S_OK, self._blanket

    def SetBlanket(
        self,
        dwAuthnSvc: int | None = None,
        dwAuthzSvc: int | None = None,
        pServerPrincName: str | None = None,
        dwAuthnLevel: int | None = None,
        dwImpLevel: int | None = None,
        pAuthInfo: AccessToken | None = None,
        dwCapabilities: int | None = None,
    ) -> int:
        """``IClientSecurity::SetBlanket``; ``None`` (and ``RPC_C_AUTHN_DEFAULT``) keep the
        current value. Static cloaking set here captures the thread token now (R16). Both
        cloaking flags, or cloaking with Schannel → ``E_INVALIDARG`` and no change (R17)."""
        old = self._blanket
        new = ClientBlanket(
            authn_svc=old.authn_svc if dwAuthnSvc in (None, RPC_C_AUTHN_DEFAULT) else dwAuthnSvc,
            authz_svc=old.authz_svc if dwAuthzSvc is None else dwAuthzSvc,
            server_principal=old.server_principal if pServerPrincName is None else pServerPrincName,
            authn_level=old.authn_level if dwAuthnLevel is None else dwAuthnLevel,
            imp_level=old.imp_level if dwImpLevel is None else dwImpLevel,
            identity=old.identity if pAuthInfo is None else pAuthInfo,
            capabilities=old.capabilities if dwCapabilities is None else dwCapabilities,
        )
        hr = check_blanket(new)
        if hr != HResult.S_OK:
            return hr
        self._blanket = new
        self._captured = capture(new)
        return HResult.S_OK

    # ----------------------------------------------------------------------------- calls

    def start(
        self, method: str, args: tuple[Any, ...], *, prefer_async: bool
    ) -> tuple[int, ServerCall | None, asyncio.Future[tuple[Any, ...]] | None]:
        """Send one call to the object's apartment; return its server call and reply future."""
        apartment = self.ref.apartment
        if apartment.closed:
            return HResult.RPC_E_DISCONNECTED, None, None
        blanket = self._blanket.resolved()
        presented, self._captured = presented_identity(blanket, self._captured)
        caller = current_apartment()
        machine = caller.machine if caller is not None else self.client_machine
        hr, token = client_token(presented, blanket, crossing=machine != apartment.machine)
        if hr != HResult.S_OK:
            return hr, None, None
        unauthenticated = blanket.authn_level == RPC_C_AUTHN_LEVEL_NONE
        if self._no_client or unauthenticated:
            token = None
        privs = self._privs if self._privs is not _UNSET else (token and token.user)
        call = ServerCall(
            call_id=self.runtime.next_call_id(),
            method=method,
            client=token,
            blanket=CallBlanket(
                authn_svc=blanket.authn_svc,
                authz_svc=blanket.authz_svc,
                server_principal=self.runtime.server_principal,
                authn_level=blanket.authn_level,
                privs=None if unauthenticated else privs,
                capabilities=blanket.capabilities,
            ),
            apartment=apartment,
            options=self.runtime.options,
        )
        loop = asyncio.get_running_loop()
        reply: asyncio.Future[tuple[Any, ...]] = loop.create_future()
        invocation = Invocation(
            call, self.ref.obj, args, prefer_async=prefer_async, reply=_replier(loop, reply)
        )
        apartment.post(invocation)
        return HResult.S_OK, call, reply

    async def call(self, method: str, *args: Any) -> tuple[Any, ...]:
        """A synchronous call: ``(HRESULT, *out)``. In an STA the wait dispatches incoming
        calls (I10)."""
        hr, _, reply = self.start(method, args, prefer_async=False)
        if reply is None:
            return (hr,)
        await modal_wait(reply)
        return reply.result()

    def CreateCall(
        self,
        method: str,
        *,
        event: EventKind = EventKind.StdEvent,
        cancel_enabled: bool = True,
    ) -> tuple[int, ClientCall | None]:
        """``ICallFactory::CreateCall``: a call object for asynchronous calls of ``method``.

        ``(E_NOINTERFACE, None)`` when the object has no method of that name. ``event`` picks the
        call object's ISynchronize; ``cancel_enabled=False`` makes ``Cancel`` return
        ``CO_E_CANCEL_DISABLED``.
        """
        if not self.ref.obj.supports(method):
            return HResult.E_NOINTERFACE, None
        return HResult.S_OK, ClientCall(self, method, event=event, cancel_enabled=cancel_enabled)

    def __getattr__(self, name: str) -> Callable[..., Awaitable[tuple[Any, ...]]]:
        ref = self.__dict__.get("ref")
        if name.startswith("_") or ref is None or not ref.obj.supports(name):
            owner = "the object" if ref is None else type(ref.obj).__name__
            raise AttributeError(
                f"{owner} has no COM method {name!r}; define it on the server class "
                "(or call proxy.call(name, ...))"
            )

        async def invoke(*args: Any) -> tuple[Any, ...]:
            return await self.call(name, *args)

        return invoke

    def __repr__(self) -> str:
        return f"<Proxy to {self.ref!r}>"


class ClientCall:
    """A client call object (``Async<I>`` from the proxy's call factory), one call at a time."""

    def __init__(
        self, proxy: Proxy, method: str, *, event: EventKind, cancel_enabled: bool
    ) -> None:
        self.proxy = proxy
        self.method = method
        self.cancel_enabled = cancel_enabled
        self.state = ClientState.IDLE
        self.sync = ISynchronize(event)
        self.cancel = ICancelMethodCalls(self)
        self._server: ServerCall | None = None
        self._reply: asyncio.Future[tuple[Any, ...]] | None = None
        self._settled: asyncio.Future[None] | None = None
        self._result: tuple[Any, ...] = ()

    @property
    def call_id(self) -> int | None:
        """The id of the current (or last) call (as in the ``com.call.*`` log events)."""
        return None if self._server is None else self._server.call_id

    def Begin(self, *args: Any) -> int:
        """``Begin_<M>``: send the call; ``S_OK``, or ``RPC_S_CALLPENDING`` while a call is
        pending, replied or cancelled but not finished (R19)."""
        nxt = client_transition(self.state, ClientEvent.BEGIN)
        if isinstance(nxt, Refused):
            return int(nxt)
        hr, server, reply = self.proxy.start(self.method, args, prefer_async=True)
        if reply is None:
            return hr
        self.state, self._server, self._reply = nxt, server, reply
        self._settled = reply.get_loop().create_future()
        reply.add_done_callback(self._on_reply)
        return HResult.S_OK

    def _settle(self) -> None:
        if self._settled is not None and not self._settled.done():
            self._settled.set_result(None)

    def _on_reply(self, fut: asyncio.Future[tuple[Any, ...]]) -> None:
        if fut is not self._reply:
            return
        nxt = client_transition(self.state, ClientEvent.REPLY)
        if self.state is ClientState.PENDING:
            self._result = fut.result()
            self.sync.Signal()
        self.state = nxt if isinstance(nxt, ClientState) else self.state
        self._settle()

    async def Finish(self) -> tuple[Any, ...]:
        """``Finish_<M>``: wait for the reply, then ``(HRESULT, *out)`` of the call (R19);
        ``(RPC_E_CALL_COMPLETE,)`` with no call; ``(RPC_E_CALL_CANCELED,)`` after a cancel."""
        while self.state is ClientState.PENDING and self._settled is not None:
            await modal_wait(self._settled)
        was = self.state
        nxt = client_transition(was, ClientEvent.FINISH)
        if isinstance(nxt, Refused):
            return (int(nxt),)
        self.state = nxt
        if was is ClientState.CANCELLED:
            return (HResult.RPC_E_CALL_CANCELED,)
        return self._result

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = self.__dict__.get("method")
        if name == f"Begin_{method}":
            return self.Begin
        if name == f"Finish_{method}":
            return self.Finish
        raise AttributeError(
            f"this call object is for {method!r}: use Begin_{method} and Finish_{method}"
        )

    # ------------------------------------------------------------ CancelTarget (R20)

    async def cancel_call(self, seconds: int) -> int:
        """``ICancelMethodCalls::Cancel`` from the client."""
        if self.state in (ClientState.IDLE, ClientState.REPLIED) or self._reply is None:
            return HResult.RPC_E_CALL_COMPLETE
        if self.state is ClientState.CANCELLED:
            return HResult.RPC_E_CALL_CANCELED
        if not self.cancel_enabled:
            return HResult.CO_E_CANCEL_DISABLED
        assert self._server is not None
        if self._server.cancelled:
            return HResult.RPC_E_CALL_CANCELED
        self._server.request_cancel()
        timeout = None if seconds == INFINITE else seconds
        if await modal_wait(self._reply, timeout):
            return HResult.RPC_E_CALL_COMPLETE
        if self.state is ClientState.PENDING:
            nxt = client_transition(self.state, ClientEvent.CANCEL)
            assert isinstance(nxt, ClientState)
            self.state = nxt
            self._settle()
        return HResult.S_OK

    def test_cancel(self) -> int:
        """``TestCancel`` from the client."""
        if self._server is None or self.state is ClientState.IDLE:
            return HResult.RPC_E_CALL_COMPLETE
        if self.state is ClientState.CANCELLED or self._server.cancelled:
            return HResult.RPC_E_CALL_CANCELED
        return HResult.RPC_S_CALLPENDING

    async def cancel_requested(self) -> None:
        """Return once cancellation of the current call was requested."""
        if self._server is not None:
            await self._server.cancel_requested()

    def __repr__(self) -> str:
        return f"<ClientCall {self.method} {self.state.value}>"
