"""``SspiAsyncContext``: the opaque object that tracks one asynchronous call at a time (SPEC §2–§3)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from .._status import SecurityStatus, status_name
from ._lifecycle import CallState

if TYPE_CHECKING:
    from ._callinfo import CallInfo
    from ._delays import VirtualHandle
    from ._emulator import Emulator

__all__ = ("Callback", "PendingCall", "SspiAsyncContext")

#: ``SspiAsyncNotifyCallback(Handle, CallbackData)``; a coroutine function is accepted too (A6).
Callback = Callable[["SspiAsyncContext", Any], object]


class SspiAsyncContext:
    """An async context. Create one with ``SspiCreateAsyncContext()``; it has no public constructor.

    It belongs to the emulator that created it: every call queued on it runs there, on that
    emulator's event loop. Queueing, waiting, reinit, setting the callback and freeing from another
    loop or thread raise ``SspiMisuseError`` (E6); reading ``status`` is allowed anywhere. After the
    emulator's ``aclose()`` the context holds nothing: calls queued on it are refused with
    ``SEC_E_SHUTDOWN_IN_PROGRESS`` (E1, A15).
    """

    __slots__ = (
        "__weakref__",
        "_call",
        "_callback",
        "_callback_data",
        "_callback_due",
        "_emulator",
        "_serial",
        "_state",
        "_status",
        "_token_chunks",
        "_waiters",
        "tag",
    )

    _emulator: Emulator
    _state: CallState
    _status: int
    _callback: Callback | None
    _callback_data: Any
    _callback_due: int
    _call: PendingCall | None
    _waiters: list[asyncio.Future[int]] | None
    _serial: int
    #: The output token's chunks after a ``split`` fault (SPEC §9) of the last call completed
    #: while a fault plan or trace was active; ``None`` when not split.
    _token_chunks: tuple[bytes, ...] | None
    #: A free-form label for logs and traces (e.g. "client"); not part of the Win32 API.
    tag: str | None

    def __init__(self) -> None:
        raise TypeError(
            "SspiAsyncContext has no public constructor; use 'await SspiCreateAsyncContext()'"
        )

    @classmethod
    def _create(cls, emulator: Emulator) -> SspiAsyncContext:
        self = object.__new__(cls)
        self._emulator = emulator
        self._state = CallState.IDLE
        self._status = SecurityStatus.SEC_E_UNSUPPORTED_FUNCTION  # A1
        self._callback = None
        self._callback_data = None
        self._callback_due = 0
        self._call = None
        self._waiters = None
        self._serial = next(emulator._actx_ids)
        self._token_chunks = None
        self.tag = None
        return self

    @property
    def id(self) -> int:
        """A small number identifying this context in logs and traces: 1, 2, … in the order the
        contexts of one emulator were created (so two runs of a program trace the same ids)."""
        return self._serial

    @property
    def status(self) -> int:
        """The same value as ``SspiGetAsyncCallStatus(ctx)``, readable without ``await``.

        A Python extension for plain-function notify callbacks, which cannot await the coroutine.
        """
        return self._status

    @property
    def state(self) -> str:
        """``"idle"``, ``"pending"``, ``"complete"`` or ``"freed"`` (for diagnostics)."""
        return self._state.value

    def __repr__(self) -> str:
        return f"<SspiAsyncContext #{self._serial} {self._state.value} status={status_name(self._status)}>"


class PendingCall:
    """One queued call: what to run, where it is scheduled, and whom to notify."""

    __slots__ = (
        "actx",
        "callback",
        "callback_data",
        "detached",
        "function",
        "info",
        "offloaded",
        "on_detached",
        "scheduled",
        "work",
    )

    def __init__(
        self,
        actx: SspiAsyncContext,
        function: str,
        work: Callable[[], object],
        info: CallInfo | None = None,
    ) -> None:
        self.actx = actx
        self.function = function
        self.work = work
        #: What fault plans and traces know about the call; ``None`` unless one is active.
        self.info = info
        # A6: the callback registered when the call was queued (it cannot change while pending, A2).
        self.callback = actx._callback
        self.callback_data = actx._callback_data
        self.detached = False
        self.scheduled: asyncio.Handle | asyncio.TimerHandle | VirtualHandle | None = None
        #: The worker's future once the step was handed to a crypto worker (A14): only its return
        #: (or its cancellation at shutdown) completes the call.
        self.offloaded: Future[Any] | None = None
        #: Run on the loop when the call completes detached (:meth:`Emulator.release`, E1).
        self.on_detached: Callable[[], None] | None = None
