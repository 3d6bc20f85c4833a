"""The emulator's logger and event names (SPEC §11).

The library never calls ``structlog.configure``; applications decide where events go (README,
"Logging"). Event names are stable and dotted; fields are key-value pairs; nothing secret (keys,
secrets, plaintext, token bytes) is ever logged.
"""

from __future__ import annotations

import contextlib
import sys
from typing import Any, Final

import structlog

_structlog_logger = structlog.get_logger("sspi_async")
_failures: list[str] = []  # events whose logging failed (the first is reported on stderr)


class _SafeLogger:
    """structlog's logger, except that a failure *inside* logging — a processor that raises, a
    closed stdout (``python app.py | head -1``) — never propagates into the emulator: a call
    completes and notifies whatever the logging does ("never a hang"). The first such failure is
    reported in one line on stderr; later ones are dropped."""

    __slots__ = ()

    def debug(self, event: str, **fields: Any) -> None:
        _emit("debug", event, fields)

    def info(self, event: str, **fields: Any) -> None:
        _emit("info", event, fields)

    def warning(self, event: str, **fields: Any) -> None:
        _emit("warning", event, fields)

    def error(self, event: str, **fields: Any) -> None:
        _emit("error", event, fields)

    def exception(self, event: str, **fields: Any) -> None:
        _emit("exception", event, fields)


def _emit(method: str, event: str, fields: dict[str, Any]) -> None:
    try:
        getattr(_structlog_logger, method)(event, **fields)
    except Exception as exc:
        _failures.append(event)
        if len(_failures) == 1:
            with contextlib.suppress(Exception):  # stderr is gone too: nothing left to tell
                sys.stderr.write(
                    f"sspi_async: logging {event!r} failed ({type(exc).__name__}: {exc}); "
                    "the emulator goes on, and further logging failures are not reported\n"
                )


logger = _SafeLogger()


#: Whether the application configured structlog. Unconfigured structlog prints every event to
#: stdout, which a library must not do to its host, so until the application calls
#: ``structlog.configure`` (or a test uses ``capture_logs``) only errors are emitted; everything
#: else is skipped at the cost of this one check (an alias: no extra frame on the hot path).
enabled = structlog.is_configured


CALL_QUEUED: Final = "sspi.call.queued"
CALL_REFUSED: Final = "sspi.call.refused"
CALL_COMPLETED: Final = "sspi.call.completed"
CALL_CANCELLED: Final = "sspi.call.cancelled"
CALLBACK_DISPATCHED: Final = "sspi.callback.dispatched"
CALLBACK_FAILED: Final = "sspi.callback.failed"
#: E7: a coroutine notify callback still running when ``aclose()``'s grace period ended, cancelled.
CALLBACK_ABANDONED: Final = "sspi.callback.abandoned"
#: E8: a queued step met a classic ISC/ASC that raced in on the same context.
CONTEXT_BUSY: Final = "sspi.context.busy"
CREDENTIALS_REJECTED: Final = "sspi.credentials.rejected"
IMPERSONATION_BEGIN: Final = "sspi.impersonation.begin"
IMPERSONATION_END: Final = "sspi.impersonation.end"
#: COM (sspi_async.com): a call started in its apartment, its server signaled, Begin_ (or the
#: synchronous method) returned; a COM revert or auto-revert ended an SSPI impersonation (R26).
COM_CALL_DISPATCHED: Final = "com.call.dispatched"
COM_CALL_SIGNALED: Final = "com.call.signaled"
COM_CALL_RETURNED: Final = "com.call.returned"
COM_MIXED_REVERT: Final = "com.impersonation.mixed_revert"
EMULATOR_STARTED: Final = "sspi.emulator.started"
EMULATOR_CLOSED: Final = "sspi.emulator.closed"
#: SspiTLSListener (E5): one accepted connection's TLS handshake failed or timed out; one
#: connection's handler ended on a peer-caused error (reset, EOF without close_notify, a record
#: that did not decrypt). Fields: ``peer``, ``reason`` (never empty), ``exc_type``.
LISTENER_HANDSHAKE_FAILED: Final = "sspi.listener.handshake_failed"
LISTENER_CONNECTION_FAILED: Final = "sspi.listener.connection_failed"
