"""Server objects and server call objects (reference §2.1, §2.3).

A server object derives from :class:`ComObject`. Its **synchronous methods** are ordinary
methods (``async def`` so that they can make outgoing calls) returning an HRESULT or a tuple
``(HRESULT, *out)``; ``None`` counts as ``S_OK``. Its **asynchronous methods** are server call
objects made by its call factory (``ICallFactory::CreateCall``): a :class:`ServerCallObject`
subclass with ``async def Begin_<M>(self, *in) -> HRESULT`` and
``def Finish_<M>(self) -> HRESULT | (HRESULT, *out)``, listed in ``async_calls``::

    class SumCall(ServerCallObject):
        async def Begin_Sum(self, a, b):
            self.total = a + b
            self.sync.Signal()          # closes the call context (I8)
            return S_OK

        def Finish_Sum(self):
            return S_OK, self.total

    class Calculator(ComObject):
        async_calls = {"Sum": SumCall}

        async def Add(self, a, b):
            return S_OK, a + b

A new server call object is made for every call, in the server's apartment, when the call is
dispatched. Its ``sync`` is the aggregated system event: calling ``Signal`` on it tells COM the
call's results are ready (``Finish_`` runs once ``Begin_`` has returned too). Its ``cancel``
tells whether the client asked to cancel.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar

from ._hresults import HResult

if TYPE_CHECKING:
    from ._cancel import ICancelMethodCalls
    from ._synchronize import ISynchronize

__all__ = ("ComObject", "ServerCallObject")

#: Attributes of ComObject that are not COM methods.
_RESERVED = frozenset({"CreateCall", "async_calls", "has_method", "supports"})


class ServerCallObject:
    """Base of server call objects (``Async<I>`` on the server side, aggregating ISynchronize)."""

    def __init__(self, server: ComObject) -> None:
        self.server = server
        self._sync: ISynchronize | None = None
        self._cancel: ICancelMethodCalls | None = None
        self._call_id: int | None = None

    def attach(self, call_id: int, sync: ISynchronize, cancel: ICancelMethodCalls) -> None:
        """Bind this call object to its call (the dispatcher does this before ``Begin_``)."""
        self._call_id, self._sync, self._cancel = call_id, sync, cancel

    def _attached(self) -> tuple[ISynchronize, ICancelMethodCalls]:
        if self._sync is None or self._cancel is None:
            raise RuntimeError(
                f"{type(self).__name__} is not bound to a call; COM creates call objects through "
                "the server's call factory when a client calls Begin_"
            )
        return self._sync, self._cancel

    @property
    def sync(self) -> ISynchronize:
        """The call's ``ISynchronize``: ``Signal()`` it when the results are ready (I8, I12)."""
        return self._attached()[0]

    @property
    def cancel(self) -> ICancelMethodCalls:
        """The call's ``ICancelMethodCalls`` (``TestCancel``, ``requested()``; R20)."""
        return self._attached()[1]

    @property
    def call_id(self) -> int | None:
        """The id of the call (as in the ``com.call.*`` log events)."""
        return self._call_id


class ComObject:
    """Base of server objects: synchronous methods plus a call factory for asynchronous ones."""

    #: Asynchronous methods: method name → server call object class (the call factory's table).
    async_calls: ClassVar[Mapping[str, type[ServerCallObject]]] = {}

    def CreateCall(self, method: str) -> tuple[int, ServerCallObject | None]:
        """``ICallFactory::CreateCall``: a new server call object for ``method``.

        Returns ``(S_OK, call object)``, or ``(E_NOINTERFACE, None)`` when ``method`` has no
        asynchronous form. Override to build call objects some other way.
        """
        factory = self.async_calls.get(method)
        if factory is None:
            return HResult.E_NOINTERFACE, None
        return HResult.S_OK, factory(self)

    def has_method(self, method: str) -> bool:
        """True when ``method`` is a synchronous COM method of this object."""
        if method.startswith("_") or method in _RESERVED:
            return False
        return callable(getattr(self, method, None))

    def supports(self, method: str) -> bool:
        """True when a client may call ``method``, synchronously or asynchronously."""
        overridden = type(self).CreateCall is not ComObject.CreateCall
        return self.has_method(method) or method in self.async_calls or overridden
