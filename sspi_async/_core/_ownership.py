"""One loop, one owner (SPEC E6): which event loop an emulator belongs to, and the check.

An emulator's futures (``wait_async_call``), its ``call_soon`` work and its notify callbacks all
live on one event loop; a future of one loop resolved from another never wakes its waiter. So an
emulator belongs to the loop it is first used on, and every operation that waits or changes an
async context checks that it runs there. The check is one ``asyncio.get_running_loop()`` and one
identity comparison; the emulator inlines it on its hot paths (``owner.ref() is loop``) and calls
:meth:`LoopOwner.adopt` only when it fails, to bind a new owner or raise.

The loop is held weakly: the per-loop default emulators are the values of a
``WeakKeyDictionary`` keyed by their loop, which a strong reference would keep alive forever.
"""

from __future__ import annotations

import asyncio
import threading
import weakref

from .._errors import SspiMisuseError

__all__ = ("LoopOwner",)


def _describe(loop: asyncio.AbstractEventLoop | None, thread: threading.Thread) -> str:
    """``the event loop _UnixSelectorEventLoop at 0x… in thread 'MainThread'``."""
    if loop is None:
        return f"thread {thread.name!r}, which runs no event loop"
    return f"the event loop {type(loop).__name__} at {id(loop):#x} in thread {thread.name!r}"


class LoopOwner:
    """The loop (and its thread) an emulator belongs to; unbound until first used in a loop.

    Attributes:
        ref: a weak reference to the owner loop, ``None`` while unbound.
        thread: the thread that runs the owner loop, ``None`` while unbound.
    """

    __slots__ = ("ref", "thread")

    def __init__(self) -> None:
        self.ref: weakref.ref[asyncio.AbstractEventLoop] | None = None
        self.thread: threading.Thread | None = None
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # made outside any loop: bound on first use
            return
        self._bind(loop)

    def _bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self.ref = weakref.ref(loop)
        self.thread = threading.current_thread()

    def adopt(self, what: str, loop: asyncio.AbstractEventLoop | None) -> None:
        """``loop`` (the running one, or ``None`` outside any loop) is about to be used for
        ``what``: bind to it when unbound, accept it when it is the owner (or, outside any loop,
        when this is the owner's thread), else raise :class:`SspiMisuseError` naming both."""
        ref = self.ref
        if ref is None:
            if loop is not None:
                self._bind(loop)
            return
        if loop is None:
            if threading.current_thread() is self.thread:
                return
        elif ref() is loop:
            return
        raise self._error(what, loop)

    def check(self, what: str) -> asyncio.AbstractEventLoop:
        """For an async operation: the running loop, which must be the owner (or become it)."""
        loop = asyncio.get_running_loop()
        ref = self.ref
        if ref is None or ref() is not loop:
            self.adopt(what, loop)
        return loop

    def check_sync(self, what: str) -> None:
        """For a synchronous operation: on the owner loop, or in its thread outside any loop
        (e.g. after ``asyncio.run`` returned)."""
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        ref = self.ref
        if ref is None or loop is None or ref() is not loop:
            self.adopt(what, loop)

    def _error(self, what: str, loop: asyncio.AbstractEventLoop | None) -> SspiMisuseError:
        owner = self.ref() if self.ref is not None else None
        thread = self.thread
        assert thread is not None  # bound
        home = (
            _describe(owner, thread)
            if owner is not None
            else f"an event loop that no longer exists (it ran in thread {thread.name!r})"
        )
        return SspiMisuseError(
            f"{what}: this Emulator and its async contexts belong to {home}, and were used from "
            f"{_describe(loop, threading.current_thread())}; a future of one loop never wakes a "
            "task of another, so use it only from its own loop (hand work over with "
            "asyncio.run_coroutine_threadsafe or loop.call_soon_threadsafe), or make one "
            "Emulator per loop"
        )
