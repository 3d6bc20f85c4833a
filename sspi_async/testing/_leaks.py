"""What a test left behind in an emulator: the leak check of the ``sspi_emulator`` fixture.

DESIGN "Concurrency": no task is left behind, and tests fail on a leaked task, thread or handle.
:class:`LeakCheck` is taken when the emulator is made (it remembers the crypto threads already
running) and asked twice at the end of the test:

* :meth:`LeakCheck.before_close`, while the emulator still runs: calls queued and never completed,
  notify callbacks never dispatched, callback tasks still running, credential and context handles
  never freed;
* :meth:`LeakCheck.after_close`, after ``Emulator.aclose()``: crypto worker threads
  (``sspi-async-crypto*``) that did not exist before and still run — the threads of an emulator
  the test made and never closed.

Each finding is a phrase (``1 security context handle (Schannel, server side)``);
:func:`leak_message` joins them into the failure message.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence

from .._core._emulator import Emulator
from .._core._trace_steps import pending_calls
from .._flags import SECPKG_CRED_INBOUND, SECPKG_CRED_OUTBOUND

__all__ = ("CRYPTO_THREAD_PREFIX", "LeakCheck", "leak_message")

#: The name prefix of the emulator's crypto worker threads.
CRYPTO_THREAD_PREFIX = "sspi-async-crypto"


def _count(number: int, singular: str, plural: str | None = None) -> str:
    return f"{number} {singular if number == 1 else plural or singular + 's'}"


def _use(use: int) -> str:
    inbound, outbound = bool(use & SECPKG_CRED_INBOUND), bool(use & SECPKG_CRED_OUTBOUND)
    return "inbound+outbound" if inbound and outbound else "inbound" if inbound else "outbound"


def _crypto_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith(CRYPTO_THREAD_PREFIX)}


class LeakCheck:
    """Finds what a test leaked in ``emulator`` (see the module docstring)."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self._threads_before = _crypto_threads()

    def before_close(self) -> list[str]:
        """Pending calls, undispatched callbacks, running callback tasks and live handles, as
        phrases; empty when the emulator is clean."""
        stats = self.emulator.statistics()
        found = self._handles()
        if stats["pending_calls"]:
            found.append(self._pending(stats["pending_calls"]))
        if stats["callbacks_due"]:
            found.append(
                _count(stats["callbacks_due"], "notify callback")
                + " never dispatched (the call completed but the test ended before its callback"
                " ran; await the callback, e.g. with an asyncio.Event it sets)"
            )
        if stats["callback_tasks"]:
            found.append(
                _count(stats["callback_tasks"], "callback task")
                + " still running (a coroutine notify callback that had not finished)"
            )
        return found

    def after_close(self) -> list[str]:
        """Crypto worker threads started during the test and still running, as a phrase."""
        leaked = sorted(t.name for t in _crypto_threads() - self._threads_before if t.is_alive())
        if not leaked:
            return []
        return [
            _count(len(leaked), "crypto worker thread")
            + f" still running ({', '.join(leaked)}): an Emulator made in the test was never"
            " closed; use 'async with Emulator(...)' or await its aclose()"
        ]

    def _handles(self) -> list[str]:
        engine = self.emulator.engine
        contexts = Counter(
            (entry.package.info.Name, entry.role.value)
            for entry in engine.contexts.values()
            if not entry.deleted
        )
        credentials = Counter(
            (entry.package.info.Name, _use(entry.use))
            for entry in engine.credentials.values()
            if not entry.freed
        )
        found = [
            f"{_count(n, 'security context handle')} ({package}, {role} side)"
            for (package, role), n in sorted(contexts.items())
        ]
        found += [
            f"{_count(n, 'credential handle')} ({package}, {use})"
            for (package, use), n in sorted(credentials.items())
        ]
        return found

    def _pending(self, count: int) -> str:
        what = _count(count, "call") + " queued and never completed"
        names = [
            f"{event.function} on async context {event.actx}"
            for event in pending_calls(self.emulator.trace_events())
        ]
        if names and len(names) == count:
            what += f" ({', '.join(names)})"
        return what + "; await each call (wait_async_call) or its notify callback"


def leak_message(found: Sequence[str], *, fixture: str = "sspi_emulator") -> str:
    """``sspi_emulator: the test leaked A, B and C`` plus what to do."""
    listed = found[0] if len(found) == 1 else ", ".join(found[:-1]) + " and " + found[-1]
    advice = ""
    if any("handle" in phrase for phrase in found):
        advice += (
            "Free handles with DeleteSecurityContext / FreeCredentialsHandle (or 'async with' / "
            "aclose() on Credentials and SecurityContext objects). "
        )
    return (
        f"{fixture}: the test leaked {listed}.\n{advice}To skip this check, mark the test "
        "@pytest.mark.sspi_emulator(check_leaks=False)."
    )
