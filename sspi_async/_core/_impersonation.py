"""The emulated thread token: who the running task is acting as (SPEC §7, I1–I5).

Theory of operation
-------------------
Windows keeps an impersonation token per *thread*. asyncio's unit of execution is the *task*, so
the token lives in a ``ContextVar`` — but a ContextVar is copied into every child task,
``call_soon`` callback and ``to_thread`` worker, which would leak an impersonation into code that
never asked for it (reference §6.3, pitfalls 1–3). So the variable holds a *frame* that records its
owner: the task that set it (or, outside any task, the thread that set it
). A frame only counts while its owner is the one reading it; everyone else sees the process
token. That gives:

* child tasks, gather/TaskGroup members, eager tasks: a new task, a new owner → process token;
* ``call_soon`` callbacks run by the emulator: no task, and every callback runs in its own copy
  of the context → process token (I5); an impersonation made inside the callback ends with it;
* worker threads: another thread → process token.

Reverting sets a fresh frame rather than ``ContextVar.reset`` because reset tokens cannot cross
tasks (reference §6.3, pitfall 4).
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from dataclasses import dataclass

from .._identity import AccessToken

__all__ = (
    "current_token",
    "forget_inherited_token",
    "is_impersonating",
    "process_token",
    "revert_to_self",
    "set_process_token",
    "set_thread_token",
)

_process_token = AccessToken(user="SERVER", groups=("BUILTIN\\Users",), is_process=True)


@dataclass(frozen=True, slots=True)
class _Frame:
    owner: object
    token: AccessToken


_frame: contextvars.ContextVar[_Frame | None] = contextvars.ContextVar(
    "sspi_async_thread_token", default=None
)
_unit: contextvars.ContextVar[object | None] = contextvars.ContextVar(
    "sspi_async_callback_unit", default=None
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


def current_token() -> AccessToken:
    """The token in force for the running task (or callback, or thread)."""
    frame = _frame.get()
    if frame is not None and frame.owner == _owner():
        return frame.token
    return _process_token


def is_impersonating() -> bool:
    """True when the running unit holds a token other than the process token."""
    frame = _frame.get()
    return frame is not None and frame.owner == _owner()


def set_thread_token(token: AccessToken) -> AccessToken:
    """Make ``token`` the running unit's token; return the one it replaces."""
    previous = current_token()
    _frame.set(_Frame(_owner(), token))
    return previous


def revert_to_self() -> AccessToken:
    """Return the running unit to the process token; return the token it held."""
    previous = current_token()
    _frame.set(None)
    return previous


def forget_inherited_token() -> None:
    """Drop a frame inherited from whoever scheduled the running callback (I5).

    A frame owned by a task never counts in a callback anyway (there is no current task); this
    clears the one case that would: a callback queued from a callback that was impersonating.
    """
    if _frame.get() is not None:
        _frame.set(None)
