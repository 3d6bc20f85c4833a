"""A hypothesis state machine over the async-context API (SPEC §3, A1–A15).

Random sequences of ``SspiCreateAsyncContext``, ``SspiSetAsyncNotifyCallback`` (sync function,
``async def`` function, an ``async def`` that frees its context — the documented pattern —, or
None), the five queueing functions (valid, refused at queue time, failing at completion),
``SspiReinitAsyncContext``, ``SspiFreeAsyncContext``, ``wait_async_call`` and loop turns run on
several async contexts inside one event loop, against a model of each context.

How it is driven: hypothesis rules are synchronous, so the machine owns a private event loop. One
long-lived *driver* task enters ``async with Emulator(...)`` (so the flat facade uses that emulator
in the driver and in everything it schedules) and runs the coroutines the rules submit, one at a
time; a rule submits its coroutine and runs the loop until it is done. Running the loop also lets
queued calls complete between rules, so rules that need a call to still be pending (queue twice,
reinit/free/set-callback while pending) come from the ``burst`` rule, which runs several actions in
one coroutine without letting the loop turn between them.

What the model checks, after every step (invariants) and at teardown:

* every value any function returns is a documented status (a ``SecurityStatus`` member, or for
  ``SspiReinitAsyncContext`` ``STATUS_SUCCESS``/``STATUS_INVALID_PARAMETER``) and the one the
  rules say (A2, A4, A9, A10, A11, A13);
* ``SspiGetAsyncCallStatus`` agrees with the model: ``SEC_E_UNSUPPORTED_FUNCTION`` with no call,
  ``SEC_I_ASYNC_CALL_PENDING`` until the call completes, then its result, never back to pending
  (A1, A4, A7, A8, A12); ``SspiAsyncContextRequiresNotify`` follows the callback (A3);
* each queued call with a callback notifies exactly once, never before its queueing coroutine
  returned, with its context and data, after the status became final (A6); at teardown, after
  shutdown, every such call has notified exactly once and nothing is pending (A15);
* freeing raises ``SspiMisuseError`` exactly when the rules say (A11).

Callbacks never raise (an exception there would only be logged, A6): they record violations,
which the invariants assert are empty.
"""

from __future__ import annotations

import asyncio
import contextlib
import traceback
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, ClassVar

import anyio
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, rule

from sspi_async import Emulator, EmulatorSettings, SimTLSCred, SspiMisuseError
from sspi_async.sspi import (
    ISC_REQ_ALLOCATE_MEMORY,
    SEC_E_INVALID_HANDLE,
    SEC_E_INVALID_PARAMETER,
    SEC_E_NO_CREDENTIALS,
    SEC_E_OK,
    SEC_E_SECPKG_NOT_FOUND,
    SEC_E_SHUTDOWN_IN_PROGRESS,
    SEC_E_UNSUPPORTED_FUNCTION,
    SEC_I_ASYNC_CALL_PENDING,
    SEC_I_CONTINUE_NEEDED,
    SECBUFFER_ALERT,
    SECBUFFER_EMPTY,
    SECBUFFER_TOKEN,
    SECPKG_CRED_OUTBOUND,
    STATUS_INVALID_PARAMETER,
    STATUS_SUCCESS,
    ULONG,
    AcquireCredentialsHandle,
    CredHandle,
    CtxtHandle,
    SecBuffer,
    SecBufferDesc,
    SecurityStatus,
    SspiAcquireCredentialsHandleAsync,
    SspiAsyncContext,
    SspiAsyncContextRequiresNotify,
    SspiCreateAsyncContext,
    SspiDeleteSecurityContextAsync,
    SspiFreeAsyncContext,
    SspiFreeCredentialsHandleAsync,
    SspiGetAsyncCallStatus,
    SspiInitializeSecurityContextAsync,
    SspiReinitAsyncContext,
    SspiSetAsyncNotifyCallback,
    TimeStamp,
    wait_async_call,
)

CLIENT_AUTH = SimTLSCred(principal="alice", secret="s3cret")
#: Every SECURITY_STATUS value the project documents (SPEC §2).
DOCUMENTED = frozenset(int(member) for member in SecurityStatus)
NT_DOCUMENTED = frozenset({STATUS_SUCCESS, STATUS_INVALID_PARAMETER})
#: How long a submitted coroutine may take before the rule fails (nothing here should wait).
COMMAND_TIMEOUT = 10


def run_now(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run ``coro`` without giving the loop a turn; fail if it suspends (A4, A8, A13)."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value
    coro.close()
    raise AssertionError(f"{coro!r} suspended where it must return at once")


def out_desc(buffers: int = 2) -> SecBufferDesc:
    descs = [SecBuffer(SECBUFFER_TOKEN), SecBuffer(SECBUFFER_ALERT)]
    descs += [SecBuffer(SECBUFFER_EMPTY) for _ in range(buffers - 2)]
    return SecBufferDesc(descs)


def documented(value: object) -> bool:
    """A SECURITY_STATUS the project documents, as a ``SecurityStatus`` member (SPEC §2: statuses
    print by name)."""
    return isinstance(value, SecurityStatus) and int(value) in DOCUMENTED


# --------------------------------------------------------------------------- model


class HandleModel:
    """A credential or security-context handle some queued call produces (ACH, ISC)."""

    def __init__(self, handle: CredHandle | CtxtHandle, producer: CallModel | None) -> None:
        self.handle = handle
        self.producer = producer
        self.state = "unborn"  # -> "live" when the producer succeeded, -> "dead" when freed/deleted
        self.in_flight = 0  # consumers (FCH/DSC) queued whose result the model has not seen

    def consumer_results(self) -> frozenset[int]:
        """What an FCH/DSC of this handle queued now may complete with."""
        if self.producer is None or self.state == "dead":
            return frozenset({SEC_E_INVALID_HANDLE})
        if self.state == "live" and self.in_flight == 0:
            return frozenset({SEC_E_OK})
        return frozenset({SEC_E_OK, SEC_E_INVALID_HANDLE})


class CallModel:
    """One queued call."""

    _ids = 0

    def __init__(
        self,
        ctx: CtxModel,
        op: str,
        allowed: frozenset[int],
        *,
        produces: HandleModel | None = None,
        consumes: HandleModel | None = None,
        success: frozenset[int] = frozenset(),
    ) -> None:
        CallModel._ids += 1
        self.id = CallModel._ids
        self.ctx = ctx
        self.op = op
        self.allowed = allowed
        self.callback_kind = ctx.callback_kind
        self.data = ctx.data
        self.returned = False
        self.notified = 0
        self.result: int | None = None
        self.produces = produces
        self.consumes = consumes
        self.success = success  # results that make ``produces`` live

    def __repr__(self) -> str:
        return f"<call #{self.id} {self.op} on ctx #{self.ctx.label} result={self.result!r}>"


class CtxModel:
    """What the model knows about one async context."""

    def __init__(self, actx: SspiAsyncContext, label: int) -> None:
        self.actx = actx
        self.label = label
        self.freed = False
        self.callback_kind: str | None = None
        self.data: object = None
        self.current: CallModel | None = None  # None: no call since creation/reinit
        self.awaiting: deque[CallModel] = deque()  # calls with a callback not yet notified

    def __repr__(self) -> str:
        return f"<ctx #{self.label}{' freed' if self.freed else ''}>"


QUEUE_ACTIONS = (
    "ach_ok",
    "ach_unknown_package",
    "ach_bad_use",
    "isc_first",
    "dsc_unknown",
    "fch_unknown",
    "fch_cred",
    "dsc_security_context",
    # Refused at queue time (A4).
    "ach_no_phCredential",
    "isc_no_phNewContext",
    "isc_no_credential_no_context",
    "isc_19_output_buffers",
    "isc_reserved1",
    "dsc_no_phContext",
    "fch_no_phCredential",
)
OTHER_ACTIONS = (
    "set_callback_sync",
    "set_callback_async",
    "set_callback_async_free",
    "set_callback_none",
    "reinit",
    "free",
    "wait",
    "status",
    "turn",
)
ACTIONS = QUEUE_ACTIONS + OTHER_ACTIONS
#: Bursts may also shut the emulator down in the middle (rarely: 1 in len(BURST_ACTIONS)).
BURST_ACTIONS = (*ACTIONS, "shutdown")
CALLBACK_KINDS = ("sync", "async", "async_free", "none")
NONE_FUNCTIONS = (
    "set_callback",
    "get_status",
    "reinit",
    "free",
    "ach",
    "isc",
    "dsc",
    "fch",
)


class AsyncContextMachine(RuleBasedStateMachine):
    """Drives the async-context API on several contexts against a model (see module docstring)."""

    EMULATOR_SETTINGS: ClassVar[EmulatorSettings] = EmulatorSettings()

    contexts = Bundle("contexts")

    def __init__(self) -> None:
        super().__init__()
        self.strict = self.EMULATOR_SETTINGS.strict
        self.eager = self.EMULATOR_SETTINGS.completion == "eager"
        self.loop = asyncio.new_event_loop()
        self.commands: asyncio.Queue[tuple[Any, asyncio.Future[Any] | None]] = asyncio.Queue()
        self.ctxs: list[CtxModel] = []
        self.by_actx: dict[int, CtxModel] = {}
        self.calls: list[CallModel] = []
        self.creds: list[HandleModel] = []
        self.secs: list[HandleModel] = []
        self.violations: list[str] = []
        self.closing = False  # shutdown has begun: SEC_E_SHUTDOWN_IN_PROGRESS is a possible result
        self.closed = False  # shutdown is over: queueing returns SEC_E_SHUTDOWN_IN_PROGRESS
        self.emu: Emulator | None = None
        self.isc_cred = CredHandle()
        self.driver = self.loop.create_task(self._drive())

    # ------------------------------------------------------------------ plumbing

    async def _drive(self) -> None:
        async with Emulator(self.EMULATOR_SETTINGS) as emu:
            self.emu = emu
            status = AcquireCredentialsHandle(
                None, "SimTLS", SECPKG_CRED_OUTBOUND, None, CLIENT_AUTH, None, None, self.isc_cred
            )
            assert status == SEC_E_OK
            while True:
                command, future = await self.commands.get()
                if command is None:
                    break
                assert future is not None
                try:
                    result = await command()
                except Exception as exc:
                    future.set_exception(exc)
                else:
                    future.set_result(result)
        # Leaving the block shut the emulator down (A15): every callback has run.

    def _do(self, command: Callable[[], Awaitable[Any]]) -> Any:
        """Run ``command`` in the driver task; return its result or raise its exception."""

        async def submit() -> Any:
            future = self.loop.create_future()
            self.commands.put_nowait((command, future))
            return await asyncio.wait_for(future, COMMAND_TIMEOUT)

        return self.loop.run_until_complete(submit())

    def _violation(self, message: str) -> None:
        self.violations.append(message)

    def _expect(self, condition: bool, message: str) -> None:
        if not condition:
            raise AssertionError(message)

    # ------------------------------------------------------------------ observing

    def _allowed(self, call: CallModel) -> frozenset[int]:
        if self.closing:
            return call.allowed | {SEC_E_SHUTDOWN_IN_PROGRESS}
        return call.allowed

    def _complete(self, call: CallModel, status: int) -> None:
        self._expect(
            status in self._allowed(call),
            f"{call}: completed with {status!r}, allowed {call.allowed}",
        )
        call.result = status
        if call.produces is not None and status in call.success and call.produces.state == "unborn":
            call.produces.state = "live"  # (a consumer's result may have been seen first: "dead")
        if call.consumes is not None:
            call.consumes.in_flight -= 1
            if status == SEC_E_OK:
                call.consumes.state = "dead"

    def _observe(self, c: CtxModel, status: int) -> None:
        """Check an observed SspiGetAsyncCallStatus value against the model and learn from it."""
        self._expect(documented(status), f"{c}: undocumented status {status!r}")
        call = c.current
        if call is None:
            self._expect(
                status == SEC_E_UNSUPPORTED_FUNCTION,
                f"{c}: no call since creation/reinit but status {status!r} (A1, A9)",
            )
        elif call.result is None:
            if status == SEC_I_ASYNC_CALL_PENDING:
                self._expect(call.notified == 0, f"{call}: notified while still pending (A6)")
            else:
                self._complete(call, status)
        else:
            self._expect(
                status == call.result,
                f"{call}: status went from {call.result!r} to {status!r} without a new call",
            )

    def _status(self, c: CtxModel) -> int:
        status = run_now(SspiGetAsyncCallStatus(c.actx))  # A8: never waits
        self._observe(c, status)
        return status

    # ------------------------------------------------------------------ callbacks

    def _on_notify(self, actx: SspiAsyncContext, data: object, kind: str) -> None:
        try:
            c = self.by_actx.get(id(actx))
            if c is None or c.actx is not actx:
                self._violation(f"callback with an unknown context {actx!r}")
                return
            # The call this notification is for: the oldest one waiting with this callback and
            # data. (An async callback's body runs later than a sync callback dispatched after
            # it, so only calls of one registration are notified in queue order.)
            call = next((x for x in c.awaiting if x.data is data and x.callback_kind == kind), None)
            if call is None:
                self._violation(
                    f"{c}: {kind} callback with data {data!r} but no queued call waits for it "
                    "(called twice, or with the wrong data?) (A6)"
                )
                return
            c.awaiting.remove(call)
            call.notified += 1
            if not call.returned:
                self._violation(f"{call}: callback before its queueing coroutine returned (A6)")
            if not c.freed and c.current is call:
                status = run_now(SspiGetAsyncCallStatus(actx))
                if status == SEC_I_ASYNC_CALL_PENDING:
                    self._violation(f"{call}: status still pending in its callback (A6)")
                else:
                    self._observe(c, status)
        except Exception:
            self._violation(traceback.format_exc())

    def _sync_callback(self, actx: SspiAsyncContext, data: object) -> None:
        self._on_notify(actx, data, "sync")

    async def _async_callback(self, actx: SspiAsyncContext, data: object) -> None:
        self._on_notify(actx, data, "async")
        await asyncio.sleep(0)

    async def _async_free_callback(self, actx: SspiAsyncContext, data: object) -> None:
        self._on_notify(actx, data, "async_free")
        c = self.by_actx.get(id(actx))
        if c is None:
            return
        try:
            if c.freed:
                await self._misuse(c, "free", 0)
            else:
                await self._free(c)  # the documented pattern: free the context in its callback
        except Exception:
            self._violation(traceback.format_exc())

    # ------------------------------------------------------------------ actions

    async def _create(self, kind: str) -> CtxModel:
        actx = await SspiCreateAsyncContext()
        c = CtxModel(actx, len(self.ctxs) + 1)
        self.ctxs.append(c)
        self.by_actx[id(actx)] = c
        self._expect(self._status(c) == SEC_E_UNSUPPORTED_FUNCTION, "A1")
        self._expect(run_now(SspiAsyncContextRequiresNotify(actx)) is False, "A3")
        await self._set_callback(c, kind)
        return c

    async def _misuse(self, c: CtxModel, action: str, pick: int) -> None:
        """Every use of a freed context raises SspiMisuseError (A11)."""
        try:
            await self._perform(c, action, pick)
        except SspiMisuseError:
            return
        raise AssertionError(f"{action} on freed {c} did not raise SspiMisuseError (A11)")

    async def _apply(self, c: CtxModel, action: str, pick: int) -> None:
        if action == "turn":
            await asyncio.sleep(0)
            return
        if action == "shutdown":
            await self._shutdown()
            return
        if c.freed:
            await self._misuse(c, action, pick)
            return
        await self._perform(c, action, pick)

    async def _perform(self, c: CtxModel, action: str, pick: int) -> None:
        if action in QUEUE_ACTIONS:
            await self._queue(c, action, pick)
        elif action.startswith("set_callback_"):
            await self._set_callback(c, action.removeprefix("set_callback_"))
        elif action == "reinit":
            await self._reinit(c)
        elif action == "free":
            await self._free(c)
        elif action == "wait":
            await self._wait(c)
        elif action == "status":
            if c.freed:
                await SspiGetAsyncCallStatus(c.actx)
            else:
                self._status(c)
        else:  # pragma: no cover - the action lists are closed
            raise AssertionError(action)

    async def _set_callback(self, c: CtxModel, kind: str) -> None:
        callbacks: dict[str, Any] = {
            "sync": self._sync_callback,
            "async": self._async_callback,
            "async_free": self._async_free_callback,
            "none": None,
        }
        data = object()
        before = None if c.freed else self._status(c)
        status = await SspiSetAsyncNotifyCallback(c.actx, callbacks[kind], data)
        self._expect(documented(status), f"undocumented {status!r}")
        if before == SEC_I_ASYNC_CALL_PENDING:
            self._expect(status == SEC_E_INVALID_PARAMETER, f"A2: pending → {status!r}")
        else:
            self._expect(status == SEC_E_OK, f"A2: {status!r}")
            c.callback_kind = None if kind == "none" else kind
            c.data = data
        self._expect(
            run_now(SspiAsyncContextRequiresNotify(c.actx)) is (c.callback_kind is not None), "A3"
        )

    async def _reinit(self, c: CtxModel) -> None:
        before = None if c.freed else self._status(c)
        status = await SspiReinitAsyncContext(c.actx)
        self._expect(status in NT_DOCUMENTED, f"A9: undocumented NTSTATUS {status!r}")
        if before == SEC_I_ASYNC_CALL_PENDING:
            self._expect(status == STATUS_INVALID_PARAMETER, f"A9: pending → {status!r}")
            self._expect(self._status(c) == SEC_I_ASYNC_CALL_PENDING, "A9: pending changed")
        else:
            self._expect(status == STATUS_SUCCESS, f"A9: {status!r}")
            c.current = None
            self._expect(self._status(c) == SEC_E_UNSUPPORTED_FUNCTION, "A9")

    async def _free(self, c: CtxModel) -> None:
        if c.freed:
            await SspiFreeAsyncContext(c.actx)  # raises SspiMisuseError (checked by _misuse)
            return
        pending = self._status(c) == SEC_I_ASYNC_CALL_PENDING
        must_raise = may_raise = False
        for call in c.awaiting:
            if (call is c.current and pending) or call.callback_kind == "sync":
                must_raise = True  # pending with a callback, or a sync callback still due
            else:
                may_raise = True  # an async callback: already dispatched, or still due
        try:
            await SspiFreeAsyncContext(c.actx)
        except SspiMisuseError:
            self._expect(must_raise or may_raise, f"A11: freeing {c} raised, nothing was due")
            return
        self._expect(not must_raise, f"A11: freeing {c} with a callback due did not raise")
        c.freed = True

    async def _wait(self, c: CtxModel) -> None:
        if c.current is None:
            self._expect(
                run_now(wait_async_call(c.actx)) == SEC_E_UNSUPPORTED_FUNCTION,
                "A13: nothing queued",
            )
            return
        call = c.current
        self._status(c)
        try:
            result = await asyncio.wait_for(wait_async_call(c.actx), 5)
        except SspiMisuseError:
            # A11/A13: an async_free callback freed the context first — wait_for starts the wait
            # as a new task, which runs after the callback's task — or while the wait was on.
            self._expect(c.freed, f"A13: waiting on live {c} raised SspiMisuseError")
            return
        self._expect(documented(result), f"A13: undocumented {result!r}")
        self._expect(result != SEC_I_ASYNC_CALL_PENDING, "A13: wait returned pending")
        if call.result is None:
            self._complete(call, result)
        self._expect(result == call.result, f"A13: {call}: wait returned {result!r}")
        if not c.freed and c.current is call:
            self._status(c)

    def _queue_call(
        self, c: CtxModel, action: str, pick: int
    ) -> tuple[Callable[[], Awaitable[int]], int, dict[str, Any]]:
        """(coroutine factory, expected status if queued or the A4 refusal, CallModel fields)."""
        actx = c.actx
        expiry = TimeStamp()
        if action == "ach_ok":
            handle = HandleModel(CredHandle(), None)
            cred = handle.handle
            return (
                lambda: SspiAcquireCredentialsHandleAsync(
                    actx,
                    None,
                    "SimTLS",
                    SECPKG_CRED_OUTBOUND,
                    None,
                    CLIENT_AUTH,
                    None,
                    None,
                    cred,
                    expiry,
                ),
                SEC_E_OK,
                {
                    "allowed": frozenset({SEC_E_OK}),
                    "produces": handle,
                    "success": frozenset({SEC_E_OK}),
                },
            )
        if action == "ach_unknown_package":
            return (
                lambda: SspiAcquireCredentialsHandleAsync(
                    actx,
                    None,
                    "NoSuchPkg",
                    SECPKG_CRED_OUTBOUND,
                    None,
                    None,
                    None,
                    None,
                    CredHandle(),
                ),
                SEC_E_OK,
                {"allowed": frozenset({SEC_E_SECPKG_NOT_FOUND})},
            )
        if action == "ach_bad_use":
            return (
                lambda: SspiAcquireCredentialsHandleAsync(
                    actx, None, "SimTLS", 0, None, CLIENT_AUTH, None, None, CredHandle()
                ),
                SEC_E_OK,
                {"allowed": frozenset({SEC_E_NO_CREDENTIALS})},
            )
        if action == "ach_no_phCredential":
            return (
                lambda: SspiAcquireCredentialsHandleAsync(
                    actx, None, "SimTLS", SECPKG_CRED_OUTBOUND, None, CLIENT_AUTH, None, None, None
                ),
                SEC_E_INVALID_HANDLE,
                {},
            )
        if action.startswith("isc_"):
            handle = HandleModel(CtxtHandle(), None)
            cred: CredHandle | None = self.isc_cred
            new_ctx: CtxtHandle | None = handle.handle
            buffers, reserved1, expected = 2, 0, SEC_E_OK
            if action == "isc_no_phNewContext":
                new_ctx, expected = None, SEC_E_INVALID_HANDLE
            elif action == "isc_no_credential_no_context":
                cred, expected = None, SEC_E_INVALID_HANDLE
            elif action == "isc_19_output_buffers":
                buffers, expected = 19, SEC_E_INVALID_PARAMETER
            elif action == "isc_reserved1":
                reserved1, expected = 1, SEC_E_INVALID_PARAMETER
            out = out_desc(buffers)
            return (
                lambda: SspiInitializeSecurityContextAsync(
                    actx,
                    cred,
                    None,
                    "server",
                    ISC_REQ_ALLOCATE_MEMORY,
                    reserved1,
                    0,
                    None,
                    0,
                    new_ctx,
                    out,
                    ULONG(),
                    expiry,
                ),
                expected,
                {
                    "allowed": frozenset({SEC_I_CONTINUE_NEEDED}),
                    "produces": handle,
                    "success": frozenset({SEC_I_CONTINUE_NEEDED}),
                },
            )
        if action in ("dsc_unknown", "dsc_no_phContext", "dsc_security_context"):
            target: HandleModel | None = None
            sec: CtxtHandle | None = CtxtHandle()
            if action == "dsc_no_phContext":
                sec = None
            elif action == "dsc_security_context" and self.secs:
                target = self.secs[pick % len(self.secs)]
                sec = target.handle  # type: ignore[assignment]
            fields: dict[str, Any] = {"allowed": frozenset({SEC_E_INVALID_HANDLE})}
            if target is not None:
                fields = {"allowed": target.consumer_results(), "consumes": target}
            expected = SEC_E_INVALID_HANDLE if sec is None else SEC_E_OK
            return (lambda: SspiDeleteSecurityContextAsync(actx, sec), expected, fields)
        if action in ("fch_unknown", "fch_no_phCredential", "fch_cred"):
            target = None
            cred = CredHandle()
            if action == "fch_no_phCredential":
                cred = None
            elif action == "fch_cred" and self.creds:
                target = self.creds[pick % len(self.creds)]
                cred = target.handle  # type: ignore[assignment]
            fields = {"allowed": frozenset({SEC_E_INVALID_HANDLE})}
            if target is not None:
                fields = {"allowed": target.consumer_results(), "consumes": target}
            expected = SEC_E_INVALID_HANDLE if cred is None else SEC_E_OK
            return (lambda: SspiFreeCredentialsHandleAsync(actx, cred), expected, fields)
        raise AssertionError(action)  # pragma: no cover

    async def _queue(self, c: CtxModel, action: str, pick: int) -> None:
        factory, expected, fields = self._queue_call(c, action, pick)
        if c.freed:
            await factory()  # raises SspiMisuseError (checked by _misuse)
            return
        before = self._status(c)
        acceptable = {expected}
        if before == SEC_I_ASYNC_CALL_PENDING:
            acceptable = {SEC_E_INVALID_PARAMETER}  # A4: checked before everything else
        else:
            if self.strict and c.current is not None:
                # A10: reuse without reinit is refused; A4 does not order it against the
                # argument checks, so an argument refusal is accepted too.
                acceptable = {SEC_E_INVALID_PARAMETER} | ({expected} - {SEC_E_OK})
            if self.closed:
                # A15: after shutdown nothing queues (the order against the other refusals is
                # not specified).
                acceptable = (acceptable - {SEC_E_OK}) | {SEC_E_SHUTDOWN_IN_PROGRESS}
        call: CallModel | None = None
        consumes: HandleModel | None = fields.get("consumes")
        if SEC_E_OK in acceptable:
            call = CallModel(c, action, **fields)
            if call.callback_kind is not None:
                c.awaiting.append(call)  # before the await: a too-early callback is caught
            status = await factory()
            call.returned = True
        else:
            status = await factory()
        self._expect(documented(status), f"{action}: undocumented queue status {status!r}")
        self._expect(status in acceptable, f"{action} on {c}: queued {status!r}, want {acceptable}")
        if status != SEC_E_OK:
            self._expect(self._status(c) == before, f"A4: refused {action} changed the status")
            return
        assert call is not None
        self.calls.append(call)
        c.current = call
        if call.produces is not None:
            call.produces.producer = call
            (self.creds if action == "ach_ok" else self.secs).append(call.produces)
        if consumes is not None:
            consumes.in_flight += 1
        after = self._status(c)
        if not self.eager:
            self._expect(after == SEC_I_ASYNC_CALL_PENDING, f"A7: {call} not pending on return")

    async def _shutdown(self) -> None:
        """Shut the emulator down in the middle of a burst (A15): pending calls complete with
        SEC_E_SHUTDOWN_IN_PROGRESS, every due callback runs exactly once."""
        assert self.emu is not None
        self.closing = True
        with anyio.fail_after(5):  # not asyncio.wait_for: a new task would let the loop turn
            await self.emu.aclose()
        self.closed = True
        for call in self.calls:
            if call.callback_kind is not None:
                self._expect(call.notified == 1, f"{call}: notified {call.notified} times (A15)")
        for c in self.ctxs:
            if not c.freed:
                status = self._status(c)
                self._expect(status != SEC_I_ASYNC_CALL_PENDING, f"{c}: pending after shutdown")

    async def _queue_everywhere_then_shut_down(self) -> None:
        """Queue a call on every live context and shut down before the loop turns, so that the
        shutdown meets pending calls (deferred) or due callbacks (eager) (A15)."""
        if not self.closed:
            for c in self.ctxs:
                if c.freed or self._status(c) == SEC_I_ASYNC_CALL_PENDING:
                    continue
                if self.strict:
                    await self._reinit(c)
                await self._queue(c, "ach_ok", 0)
            await self._shutdown()

    async def _none_context(self, function: str) -> None:
        """Every function given None as its context (A2, A4, A8, A9, A11)."""
        if function == "set_callback":
            result: object = await SspiSetAsyncNotifyCallback(None, self._sync_callback, None)
        elif function == "get_status":
            result = await SspiGetAsyncCallStatus(None)
        elif function == "reinit":
            result = await SspiReinitAsyncContext(None)
            self._expect(result == STATUS_INVALID_PARAMETER, f"A9: {result!r}")
            return
        elif function == "free":
            result = await SspiFreeAsyncContext(None)
            self._expect(result is None, "A11: free(None) is a no-op")
            return
        elif function == "ach":
            result = await SspiAcquireCredentialsHandleAsync(
                None, None, "SimTLS", SECPKG_CRED_OUTBOUND, None, CLIENT_AUTH, None, None, None
            )
        elif function == "isc":
            result = await SspiInitializeSecurityContextAsync(
                None, None, None, "server", 0, 1, 0, None, 1, None, out_desc(19), ULONG()
            )
        elif function == "dsc":
            result = await SspiDeleteSecurityContextAsync(None, None)
        else:
            result = await SspiFreeCredentialsHandleAsync(None, None)
        self._expect(documented(result), f"undocumented {result!r}")
        self._expect(result == SEC_E_INVALID_PARAMETER, f"{function}(None) → {result!r}")

    # ------------------------------------------------------------------ rules

    @initialize(target=contexts, kind=st.sampled_from(CALLBACK_KINDS))
    def first_context(self, kind: str) -> CtxModel:
        return self._do(lambda: self._create(kind))

    @rule(target=contexts, kind=st.sampled_from(CALLBACK_KINDS))
    def create(self, kind: str) -> CtxModel:
        """A new context, with a callback of ``kind`` set right away."""
        return self._do(lambda: self._create(kind))

    @rule(c=contexts, action=st.sampled_from(ACTIONS), pick=st.integers(0, 1000))
    def act(self, c: CtxModel, action: str, pick: int) -> None:
        self._do(lambda: self._apply(c, action, pick))

    @rule(
        steps=st.lists(
            st.tuples(contexts, st.sampled_from(BURST_ACTIONS), st.integers(0, 1000)),
            min_size=2,
            max_size=6,
        )
    )
    def burst(self, steps: list[tuple[CtxModel, str, int]]) -> None:
        """Several actions in one coroutine: no loop turn between them (except 'turn' and a
        'wait' on a pending call), so calls are still pending for the next action."""

        async def run() -> None:
            for c, action, pick in steps:
                await self._apply(c, action, pick)

        self._do(run)

    @rule(
        c=contexts,
        actions=st.lists(st.sampled_from(BURST_ACTIONS), min_size=2, max_size=6),
        pick=st.integers(0, 1000),
    )
    def focused_burst(self, c: CtxModel, actions: list[str], pick: int) -> None:
        """Like ``burst``, all on one context: queue, then queue again, reinit, set a callback,
        free or wait while the call is pending."""

        async def run() -> None:
            for action in actions:
                await self._apply(c, action, pick)

        self._do(run)

    @rule(function=st.sampled_from(NONE_FUNCTIONS))
    def none_context(self, function: str) -> None:
        self._do(lambda: self._none_context(function))

    @rule(turns=st.integers(0, 8))
    def turn_loop(self, turns: int) -> None:
        async def run() -> None:
            for _ in range(turns):
                await asyncio.sleep(0)

        self._do(run)

    # ------------------------------------------------------------------ invariants

    @invariant()
    def no_violations(self) -> None:
        assert not self.violations, "\n".join(self.violations)

    @invariant()
    def each_call_notifies_at_most_once(self) -> None:
        for call in self.calls:
            assert call.notified <= 1, f"{call} notified {call.notified} times (A6)"
            if call.callback_kind is None:
                assert call.notified == 0, f"{call} had no callback but notified"

    @invariant()
    def status_agrees_with_model(self) -> None:
        async def check() -> None:
            for c in self.ctxs:
                if c.freed:
                    continue
                self._status(c)
                requires = run_now(SspiAsyncContextRequiresNotify(c.actx))
                assert requires is (c.callback_kind is not None), f"{c}: A3"

        self._do(check)

    # ------------------------------------------------------------------ teardown

    def teardown(self) -> None:
        try:
            self._do(self._queue_everywhere_then_shut_down)
            self.commands.put_nowait((None, None))
            self.loop.run_until_complete(asyncio.wait_for(self.driver, COMMAND_TIMEOUT))
            assert not self.violations, "\n".join(self.violations)
            for call in self.calls:
                if call.callback_kind is not None:
                    assert call.notified == 1, f"{call} notified {call.notified} times (A6, A15)"
            for c in self.ctxs:
                if not c.freed:
                    status = run_now_outside_loop(self.loop, c.actx)
                    assert status != SEC_I_ASYNC_CALL_PENDING, f"{c} pending after shutdown"
                    self._observe(c, status)
        finally:
            self._close_loop()

    def _close_loop(self) -> None:
        if not self.driver.done():
            self.driver.cancel()
            with contextlib.suppress(Exception, asyncio.CancelledError):  # the test already failed
                self.loop.run_until_complete(asyncio.wait_for(self.driver, 5))
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()


def run_now_outside_loop(loop: asyncio.AbstractEventLoop, actx: SspiAsyncContext) -> int:
    """SspiGetAsyncCallStatus after shutdown, on the machine's loop."""
    return loop.run_until_complete(SspiGetAsyncCallStatus(actx))


class StrictMachine(AsyncContextMachine):
    """The same machine with ``strict=True``: reuse without reinit is refused (A10)."""

    EMULATOR_SETTINGS: ClassVar[EmulatorSettings] = EmulatorSettings(strict=True)


class EagerMachine(AsyncContextMachine):
    """The same machine with ``completion="eager"``: results are final on return (A7)."""

    EMULATOR_SETTINGS: ClassVar[EmulatorSettings] = EmulatorSettings(completion="eager")


_SETTINGS = settings(
    max_examples=40,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

TestAsyncContextMachine = AsyncContextMachine.TestCase
TestAsyncContextMachine.settings = _SETTINGS
TestStrictAsyncContextMachine = StrictMachine.TestCase
TestStrictAsyncContextMachine.settings = _SETTINGS
TestEagerAsyncContextMachine = EagerMachine.TestCase
TestEagerAsyncContextMachine.settings = _SETTINGS
