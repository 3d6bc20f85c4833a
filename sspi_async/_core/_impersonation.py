"""The emulated thread token: who the running task is acting as (SPEC §7, I1–I13; reference §8).

Theory of operation
-------------------
Windows keeps an impersonation token per *thread*. asyncio's unit of execution is the *task*, so
the token lives in a ``ContextVar`` — but a ContextVar is copied into every child task,
``call_soon`` callback and ``to_thread`` worker, which would leak an impersonation into code that
never asked for it (reference §6.3, pitfalls 1–3). So the variable holds a :class:`Frame` that
records its owner: the task that set it (or, outside any task, the thread that set it). A frame
only counts while its owner is the one reading it and it is ``active``; everyone else sees the
process token. That gives (R12):

* child tasks, gather/TaskGroup members, eager tasks: a new task, a new owner → process token;
* ``call_soon`` callbacks: no task, and every callback runs in its own copy of the context →
  process token (I5); an impersonation made inside the callback ends with it;
* worker threads (``to_thread``, executors): another thread → process token.

Worker threads (E10). A job *starts* at the process token on any pool thread — the submitting
task's impersonation never crosses. What a job does *inside* depends on who owns the pool:

* every pool the emulator owns is a :class:`CleanThreadPool`: each job runs through
  :func:`run_clean`, so an impersonation the job makes and never reverts ends with the job;
* ``asyncio.to_thread`` runs each job in a copy of the caller's context, so the same holds;
* a bare ``loop.run_in_executor(pool, fn)`` or ``pool.submit(fn)`` runs every job of a thread in
  that thread's one context, and a frame outside any task is owned by the thread: a job that
  impersonates without reverting leaves the token **on the pool thread**, and the next job that
  thread runs acts as that client (reference §6.3, pitfall 3). :func:`call_as` is the supported
  way to run a job as a client there: the token is scoped to the one call.

Reverting sets a frame (or ``None``) rather than calling ``ContextVar.reset``, because reset
tokens cannot cross tasks (pitfall 4), and a frame is a mutable object so that COM can retire a
worker task's impersonation from outside that task (R9, ``strict_worker_revert``).

Three kinds of writes share the slot:

* **raw** — ``set_thread_token`` (SetThreadToken; SSPI ``ImpersonateSecurityContext``, R21)
  overwrites whatever is in force and saves nothing; ``revert_to_self`` (SSPI
  ``RevertSecurityContext``, R22) goes straight back to the process token, not nested.
* **COM** — :func:`com_impersonate` (``IServerSecurity::ImpersonateClient``): the *first* one in
  a task saves the frame in force; later ones (through any call's IServerSecurity) do not save
  again, and one :func:`com_revert` restores the saved frame (R4). A raw write over a COM
  impersonation keeps that record, so a later COM revert still restores the COM-saved frame and
  reports that an SSPI impersonation was in force (R26: Windows leaves this undefined).
* **dispatch** — :func:`enter_dispatch`/:func:`leave_dispatch` bracket every COM call the
  dispatcher runs in a task (R8). ``nesting="apartment"`` (I10/R10): the call starts at the
  process token and the task's slot comes back exactly as it was when the call returns, raises or
  is cancelled. ``nesting="traditional"`` (R11): one slot, nothing saved; when the call ends, a
  slot it changed is reverted to the process token (COM calls RevertToSelf), an untouched slot
  (an outer call's impersonation) is left alone.

Limitation (choice): outside any task the owner is the thread, so a plain ``call_soon`` callback
scheduled *by a callback* that impersonates inherits that callback's token. Use :func:`call_as`,
which scopes the token to one call in a private copy of the context.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal, ParamSpec, TypeVar

from .._flags import ImpersonationLevel
from .._identity import SE_IMPERSONATE_NAME, AccessToken

__all__ = (
    "CleanThreadPool",
    "DispatchMark",
    "Frame",
    "Nesting",
    "Reverted",
    "call_as",
    "com_frame",
    "com_impersonate",
    "com_revert",
    "current_token",
    "enter_dispatch",
    "forget_inherited_token",
    "is_impersonating",
    "leave_dispatch",
    "privilege_limited",
    "process_token",
    "retire",
    "revert_to_self",
    "run_as",
    "run_clean",
    "set_process_token",
    "set_thread_token",
)

P = ParamSpec("P")
T = TypeVar("T")
Nesting = Literal["apartment", "traditional"]

_process_token = AccessToken(
    user="SERVER",
    groups=("BUILTIN\\Users",),
    is_process=True,
    privileges=(SE_IMPERSONATE_NAME,),
)


class Frame:
    """One token in force for one unit of execution (a task, or a thread outside any task).

    Attributes:
        owner: the task (or thread id) the frame counts for.
        token: the token in force.
        via: the COM call whose ``ImpersonateClient`` this impersonation belongs to; ``None`` when
            no COM impersonation is in force (a raw write, or ``run_as``).
        saved: with ``via``: the frame in force before the task's first ``ImpersonateClient``
            (``None`` = the process token), which ``RevertToSelf`` restores (R4).
        raw: the token was written by ``set_thread_token`` / ``ImpersonateSecurityContext``.
        active: False once COM retired the frame; an inactive frame reads as its ``saved`` one.
    """

    __slots__ = ("active", "owner", "raw", "saved", "token", "via")

    def __init__(
        self,
        owner: object,
        token: AccessToken,
        *,
        via: object | None = None,
        saved: Frame | None = None,
        raw: bool = True,
    ) -> None:
        self.owner = owner
        self.token = token
        self.via = via
        self.saved = saved
        self.raw = raw
        self.active = True

    def __repr__(self) -> str:
        kind = "raw" if self.raw else "com"
        state = "" if self.active else " retired"
        return f"<Frame {kind} {self.token.user!r}{state}>"


@dataclass(frozen=True, slots=True)
class Reverted:
    """What one COM ``RevertToSelf`` ended (R4, R26)."""

    #: the token that was in force
    ended: AccessToken
    #: the call whose IServerSecurity made the impersonation
    via: object
    #: True when an SSPI / SetThreadToken impersonation was in force over the COM one (R26)
    over_raw: bool


@dataclass(frozen=True, slots=True)
class DispatchMark:
    """The slot as it was when a dispatched call started (R8, R10, R11)."""

    frame: Frame | None
    nesting: Nesting


_frame: contextvars.ContextVar[Frame | None] = contextvars.ContextVar(
    "sspi_async_thread_token", default=None
)


def _owner() -> object:
    """Identify the running unit of execution: the current task, else the thread. (Every loop
    callback runs in its own copy of the context, so a frame set in one dies with it.)"""
    try:
        task = asyncio.current_task()
    except RuntimeError:  # no running loop in this thread
        task = None
    if task is not None:
        return task
    return threading.get_ident()


def _in_force() -> Frame | None:
    """The frame that counts for the running unit, or None (the process token)."""
    frame = _frame.get()
    while frame is not None and not frame.active:
        frame = frame.saved
    if frame is None or frame.owner != _owner():
        return None
    return frame


def retire(frame: Frame) -> None:
    """End a COM impersonation from outside its task (R9 ``strict_worker_revert``): the frame
    then reads as the one it saved. Frames that are no COM impersonation are left alone."""
    if frame.via is not None:
        frame.active = False


def process_token() -> AccessToken:
    """The server's own identity: what every task acts as unless it impersonates."""
    return _process_token


def set_process_token(token: AccessToken) -> None:
    """Configure the process token (e.g. in a test's setup). It must have ``is_process=True``."""
    global _process_token
    if not isinstance(token, AccessToken):
        raise TypeError(f"token must be an AccessToken, got {type(token).__name__}")
    if not token.is_process:
        raise ValueError(
            "a process token needs is_process=True; build it with AccessToken(..., is_process=True)"
        )
    _process_token = token


def privilege_limited(token: AccessToken) -> AccessToken:
    """``token`` as a server may hold it (reference R13, R23): a process token without
    ``SeImpersonatePrivilege`` impersonating another user gets an IDENTIFY token. Impersonation
    still succeeds; only what the token can open changes."""
    me = _process_token
    if (
        token.level >= ImpersonationLevel.SecurityImpersonation
        and SE_IMPERSONATE_NAME not in me.privileges
        and token.user != me.user
    ):
        return dataclasses.replace(token, level=ImpersonationLevel.SecurityIdentification)
    return token


def current_token() -> AccessToken:
    """The token in force for the running task (or callback, or thread)."""
    frame = _in_force()
    return _process_token if frame is None else frame.token


def is_impersonating() -> bool:
    """True when the running unit holds a token other than the process token."""
    return _in_force() is not None


def set_thread_token(token: AccessToken) -> AccessToken:
    """Make ``token`` the running unit's token (raw, R21); return the one it replaces.

    Nothing is saved. A COM impersonation in force keeps its record, so a later COM
    ``RevertToSelf`` restores what COM saved (R26).
    """
    in_force = _in_force()
    previous = _process_token if in_force is None else in_force.token
    if in_force is not None and in_force.via is not None:
        retire(in_force)
        frame = Frame(_owner(), token, via=in_force.via, saved=in_force.saved)
    else:
        frame = Frame(_owner(), token)
    _frame.set(frame)
    return previous


def revert_to_self() -> AccessToken:
    """Return the running unit to the process token (raw, not nested, R22); return the token it
    held. A COM record is dropped with it."""
    in_force = _in_force()
    if in_force is None:
        return _process_token
    retire(in_force)
    _frame.set(None)
    return in_force.token


def forget_inherited_token() -> None:
    """Drop a frame inherited from whoever scheduled the running callback (I5).

    A frame owned by a task never counts in a callback anyway (there is no current task); this
    clears the one case that would: a callback queued from a callback that was impersonating.
    """
    if _frame.get() is not None:
        _frame.set(None)


# ------------------------------------------------------------------------------------ COM (R4)


def com_impersonate(token: AccessToken, via: object) -> Frame:
    """``ImpersonateClient``: put ``token`` in force for the running unit (R3, R4).

    The first COM impersonation saves the frame in force; further ones (through any call's
    IServerSecurity) keep that saved frame, so one :func:`com_revert` undoes them all.
    """
    in_force = _in_force()
    if in_force is not None and in_force.via is not None:
        saved = in_force.saved  # R4: only the first ImpersonateClient saves
        retire(in_force)
    else:
        saved = in_force
    frame = Frame(_owner(), token, via=via, saved=saved, raw=False)
    _frame.set(frame)
    return frame


def com_revert() -> Reverted | None:
    """``RevertToSelf``: restore what the first ``ImpersonateClient`` saved (R4).

    Returns None, changing nothing, when no COM impersonation is in force (R5).
    """
    in_force = _in_force()
    if in_force is None or in_force.via is None:
        return None
    retire(in_force)
    _frame.set(in_force.saved)
    return Reverted(in_force.token, in_force.via, in_force.raw)


def com_frame() -> Frame | None:
    """The running unit's frame when it is a COM impersonation not overwritten by a raw one."""
    in_force = _in_force()
    if in_force is None or in_force.via is None or in_force.raw:
        return None
    return in_force


# ----------------------------------------------------------------------------- dispatch (R8)


def enter_dispatch(nesting: Nesting) -> DispatchMark:
    """Start a dispatched call in the running task (R10: apartment mode starts it at the
    process token; R11: traditional mode leaves the one slot as it is)."""
    mark = DispatchMark(_frame.get(), nesting)
    if nesting == "apartment":
        _frame.set(None)
    return mark


def leave_dispatch(mark: DispatchMark) -> AccessToken | None:
    """End a dispatched call (R8): restore the slot (apartment) or revert a slot the call
    changed (traditional). Runs without awaiting, so nothing else sees the call's token.

    Returns the token of a raw (SSPI / SetThreadToken) impersonation that was still in force and
    made during the call, for the R26 warning; None otherwise.
    """
    current = _frame.get()
    in_force = _in_force()
    changed = current is not mark.frame
    leaked = in_force.token if in_force is not None and in_force.raw and changed else None
    if mark.nesting == "apartment":
        if in_force is not None:
            retire(in_force)
        _frame.set(mark.frame)
    elif changed:
        if in_force is not None:
            retire(in_force)
        _frame.set(None)
    return leaked


# ------------------------------------------------------------------------- hand-over (R12)


async def run_as(
    token: AccessToken, fn: Callable[P, Awaitable[T]], /, *args: P.args, **kwargs: P.kwargs
) -> T:
    """Run ``await fn(*args, **kwargs)`` in a new task that starts with ``token`` in force.

    The explicit hand-over of R12 (choice): like ``SetThreadToken`` on a new thread. COM never
    auto-reverts it; it ends with the task. The caller's token is untouched.
    """
    if not isinstance(token, AccessToken):
        raise TypeError(f"run_as needs an AccessToken, got {type(token).__name__}")

    async def body() -> T:
        _frame.set(Frame(_owner(), token))
        return await fn(*args, **kwargs)

    return await asyncio.ensure_future(body())


def call_as(token: AccessToken, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """Call ``fn(*args, **kwargs)`` with ``token`` in force, in a private copy of the context.

    For worker threads (``to_thread(call_as, token, fn)``, ``executor.submit(call_as, ...)``):
    the token ends when ``fn`` returns and never sticks to the pool's thread (reference §6.3,
    pitfall 3).
    """
    if not isinstance(token, AccessToken):
        raise TypeError(f"call_as needs an AccessToken, got {type(token).__name__}")

    def body() -> T:
        _frame.set(Frame(_owner(), token))
        return fn(*args, **kwargs)

    return contextvars.copy_context().run(body)


# ------------------------------------------------------------------ worker threads (E10)


def run_clean(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """Run one job on a pool thread so that no impersonation crosses its edges (E10).

    A worker thread that is not inside a task owns its frame by thread id, and a pool thread runs
    every job in the same context: a job that impersonates (``set_thread_token``,
    ``ImpersonateSecurityContext``) without reverting would leave the token for whatever job the
    thread runs next (reference §6.3, pitfall 3). Here the job starts at the process token and
    the thread's slot is cleared when it returns or raises.
    """
    if _frame.get() is not None:
        _frame.set(None)
    try:
        return fn(*args, **kwargs)
    finally:
        if _frame.get() is not None:
            _frame.set(None)


class CleanThreadPool(ThreadPoolExecutor):
    """A ``ThreadPoolExecutor`` whose every job runs through :func:`run_clean` (E10).

    Every thread pool the emulator owns is one of these; a user executor is not, and
    :func:`call_as` is the supported way to run a job there as a client.
    """

    def submit(self, fn: Callable[..., T], /, *args: object, **kwargs: object) -> Future[T]:
        return super().submit(run_clean, fn, *args, **kwargs)
