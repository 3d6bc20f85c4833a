"""The async-context rules A1–A15 of SPEC §3 (plus I5 and the §5 "classic functions may be called
from notify callbacks" clause), tested through the flat facade ``sspi_async.sspi``.

Conventions used throughout:

* every test enters its own ``async with Emulator(...)`` so the facade uses a fresh emulator;
* nothing sleeps to wait for an event: results come from ``wait_async_call``, callbacks set
  ``asyncio.Event``\\s, and anything that waits is bounded by ``anyio.fail_after``;
* ``turn_loop()`` lets the event loop run a fixed number of iterations, only to prove that
  something does *not* happen (a refused call never notifies, a callback never runs twice);
* ``run_now(coro)`` drives a coroutine by hand and fails if it suspends: the way to prove that a
  queueing coroutine or ``SspiGetAsyncCallStatus`` never waits (A4, A8, A13, A15).
"""

from __future__ import annotations

import asyncio
import inspect
import os
import sys
import threading
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import anyio
import pytest
import structlog

import sspi_async.sspi as sspi_facade
from sspi_async import (
    Emulator,
    EmulatorSettings,
    SimTLSCred,
    SspiMisuseError,
    current_token,
    process_token,
    register_package,
)
from sspi_async.packages.simtls import SimTLSPackage
from sspi_async.sspi import (
    ASC_REQ_ALLOCATE_MEMORY,
    ASC_REQ_CONFIDENTIALITY,
    ASC_REQ_STREAM,
    ISC_REQ_ALLOCATE_MEMORY,
    ISC_REQ_CONFIDENTIALITY,
    ISC_REQ_STREAM,
    SEC_E_INCOMPLETE_MESSAGE,
    SEC_E_INVALID_HANDLE,
    SEC_E_INVALID_PARAMETER,
    SEC_E_INVALID_TOKEN,
    SEC_E_NO_CREDENTIALS,
    SEC_E_OK,
    SEC_E_SECPKG_NOT_FOUND,
    SEC_E_SHUTDOWN_IN_PROGRESS,
    SEC_E_UNSUPPORTED_FUNCTION,
    SEC_E_WRONG_PRINCIPAL,
    SEC_I_ASYNC_CALL_PENDING,
    SEC_I_CONTINUE_NEEDED,
    SEC_SUCCESS,
    SECBUFFER_ALERT,
    SECBUFFER_EMPTY,
    SECBUFFER_MISSING,
    SECBUFFER_TOKEN,
    SECPKG_CRED_INBOUND,
    SECPKG_CRED_OUTBOUND,
    SECURITY_NATIVE_DREP,
    STATUS_INVALID_PARAMETER,
    STATUS_SUCCESS,
    ULONG,
    AcceptSecurityContext,
    AcquireCredentialsHandle,
    CredHandle,
    CtxtHandle,
    DeleteSecurityContext,
    FreeCredentialsHandle,
    ImpersonateSecurityContext,
    InitializeSecurityContext,
    RevertSecurityContext,
    SecBuffer,
    SecBufferDesc,
    SecIsValidHandle,
    SecurityStatus,
    SspiAcceptSecurityContextAsync,
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
SERVER_AUTH = SimTLSCred(principal="server", secret="s3cret")
TARGET = "server"
ISC_FLAGS = ISC_REQ_ALLOCATE_MEMORY | ISC_REQ_CONFIDENTIALITY | ISC_REQ_STREAM
ASC_FLAGS = ASC_REQ_ALLOCATE_MEMORY | ASC_REQ_CONFIDENTIALITY | ASC_REQ_STREAM
#: Loop iterations that ``turn_loop`` runs. A latency-0 call needs one iteration for its work and
#: one for its notify callback; an ``async def`` callback's task starts one iteration later. 20 is
#: far more than that, so "still not called after turn_loop()" means "never called".
LOOP_TURNS = 20
#: Sentinels pre-filled into out-parameters, to see whether a call wrote them.
ATTR_SENTINEL = 0xABCD
TS_SENTINEL = 123


# --------------------------------------------------------------------------- helpers


async def turn_loop(turns: int = LOOP_TURNS) -> None:
    """Let the event loop run ``turns`` iterations (see LOOP_TURNS): never used to wait for an
    event, only to give something that must not happen every chance to happen."""
    for _ in range(turns):
        await asyncio.sleep(0)


def run_now(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run ``coro`` to completion without giving the event loop a turn; fail if it suspends."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value
    coro.close()
    raise AssertionError(f"{coro!r} suspended: it waited where it must return at once")


def status_now(actx: SspiAsyncContext) -> int:
    """``SspiGetAsyncCallStatus`` from synchronous code (it never suspends, A8)."""
    return run_now(SspiGetAsyncCallStatus(actx))


async def result_of(actx: SspiAsyncContext) -> int:
    """The result of the call queued on ``actx`` (A13), bounded."""
    with anyio.fail_after(5):
        return await wait_async_call(actx)


class Recorder:
    """A synchronous notify callback: records ``(Context, CallbackData, status at call time)``."""

    def __init__(self) -> None:
        self.calls: list[tuple[SspiAsyncContext, object, int | None]] = []
        self._event = asyncio.Event()

    def __call__(self, ctx: SspiAsyncContext, data: object, /) -> None:
        try:
            status: int | None = status_now(ctx)
        except SspiMisuseError:
            status = None
        self.calls.append((ctx, data, status))
        self._event.set()

    async def wait_for(self, count: int = 1) -> None:
        """Wait until the callback has been called ``count`` times (bounded)."""
        with anyio.fail_after(5):
            while len(self.calls) < count:
                self._event.clear()
                await self._event.wait()


def out_desc(extra_empty: int = 0) -> SecBufferDesc:
    """The output descriptor of a handshake step: TOKEN and ALERT (package allocates)."""
    buffers = [SecBuffer(SECBUFFER_TOKEN), SecBuffer(SECBUFFER_ALERT)]
    buffers += [SecBuffer(SECBUFFER_EMPTY) for _ in range(extra_empty)]
    return SecBufferDesc(buffers)


def in_desc(token: bytes) -> SecBufferDesc:
    """The input descriptor of a handshake step: TOKEN then EMPTY."""
    return SecBufferDesc([SecBuffer.of(SECBUFFER_TOKEN, token), SecBuffer(SECBUFFER_EMPTY)])


def classic_cred(use: int, auth: SimTLSCred, package: str = "SimTLS") -> CredHandle:
    """A credential from the classic AcquireCredentialsHandle on the current emulator."""
    cred = CredHandle()
    status = AcquireCredentialsHandle(None, package, use, None, auth, None, None, cred, None)
    assert status == SEC_E_OK
    return cred


class Side:
    """One side of a handshake driven through the async facade on one async context."""

    def __init__(self, actx: SspiAsyncContext, *, client: bool, target: str = TARGET) -> None:
        self.actx = actx
        self.client = client
        self.target = target
        self.cred = CredHandle()
        self.ctx = CtxtHandle()
        self.started = False
        self.out = out_desc()
        self.inp: SecBufferDesc | None = None
        self.attr = ULONG(ATTR_SENTINEL)
        self.ts = TimeStamp(TS_SENTINEL)
        self.results: list[int] = []

    async def acquire(self, package: str = "SimTLS", auth: SimTLSCred | None = None) -> None:
        use = SECPKG_CRED_OUTBOUND if self.client else SECPKG_CRED_INBOUND
        auth = auth if auth is not None else (CLIENT_AUTH if self.client else SERVER_AUTH)
        status = await SspiAcquireCredentialsHandleAsync(
            self.actx, None, package, use, None, auth, None, None, self.cred, TimeStamp()
        )
        assert status == SEC_E_OK
        assert await result_of(self.actx) == SEC_E_OK
        assert await SspiReinitAsyncContext(self.actx) == STATUS_SUCCESS

    async def queue(self, token: bytes | None) -> int:
        """Queue this side's next ISC/ASC step; return the queueing status."""
        self.out = out_desc()
        self.attr = ULONG(ATTR_SENTINEL)
        self.ts = TimeStamp(TS_SENTINEL)
        self.inp = None if token is None else in_desc(token)
        existing = self.ctx if self.started else None
        self.started = True
        if self.client:
            return await SspiInitializeSecurityContextAsync(
                self.actx,
                self.cred,
                existing,
                self.target,
                ISC_FLAGS,
                0,
                SECURITY_NATIVE_DREP,
                self.inp,
                0,
                self.ctx,
                self.out,
                self.attr,
                self.ts,
            )
        return await SspiAcceptSecurityContextAsync(
            self.actx,
            self.cred,
            existing,
            self.inp,
            ASC_FLAGS,
            SECURITY_NATIVE_DREP,
            self.ctx,
            self.out,
            self.attr,
            self.ts,
        )

    def token(self) -> bytes:
        return self.out.pBuffers[0].data()

    async def step(self, token: bytes | None) -> bytes:
        """Queue a step, wait for its result, reinit; return the output token."""
        assert await self.queue(token) == SEC_E_OK
        result = await result_of(self.actx)
        self.results.append(result)
        assert await SspiReinitAsyncContext(self.actx) == STATUS_SUCCESS
        return self.token()


async def handshake(client: Side, server: Side) -> None:
    """A full SimTLS handshake through the async facade (TLS 1.3 shape: CONTINUE, OK each)."""
    token = await client.step(None)
    for _ in range(8):
        if not (client.results[-1] == SEC_E_OK and server.results[-1:] == [SEC_E_OK]):
            token = await server.step(token)
        if client.results[-1] != SEC_E_OK:
            token = await client.step(token)
        if client.results[-1] == SEC_E_OK and server.results[-1] == SEC_E_OK:
            break
    assert client.results == [SEC_I_CONTINUE_NEEDED, SEC_E_OK]
    assert server.results == [SEC_I_CONTINUE_NEEDED, SEC_E_OK]


async def established() -> tuple[Side, Side]:
    """Two sides on fresh async contexts with a complete handshake."""
    client = Side(await SspiCreateAsyncContext(), client=True)
    server = Side(await SspiCreateAsyncContext(), client=False)
    await client.acquire()
    await server.acquire()
    await handshake(client, server)
    return client, server


async def ach_unknown_package(actx: SspiAsyncContext | None) -> int:
    """Queue an ACH that completes with SEC_E_SECPKG_NOT_FOUND (A5)."""
    return await SspiAcquireCredentialsHandleAsync(
        actx, None, "NoSuchPkg", SECPKG_CRED_OUTBOUND, None, None, None, None, CredHandle(), None
    )


async def ach_valid(actx: SspiAsyncContext | None, cred: CredHandle | None = None) -> int:
    """Queue an ACH that completes with SEC_E_OK."""
    cred = CredHandle() if cred is None else cred
    return await SspiAcquireCredentialsHandleAsync(
        actx, None, "SimTLS", SECPKG_CRED_OUTBOUND, None, CLIENT_AUTH, None, None, cred, None
    )


async def completed_with_callback(recorder: Recorder, data: object = "data") -> SspiAsyncContext:
    """A context with ``recorder`` registered whose ACH completed with SEC_E_SECPKG_NOT_FOUND and
    whose callback already ran; the recorder is cleared."""
    actx = await SspiCreateAsyncContext()
    assert await SspiSetAsyncNotifyCallback(actx, recorder, data) == SEC_E_OK
    assert await ach_unknown_package(actx) == SEC_E_OK
    await recorder.wait_for(1)
    assert status_now(actx) == SEC_E_SECPKG_NOT_FOUND
    recorder.calls.clear()
    return actx


# --------------------------------------------------------------------------- A1


async def test_A1_new_context_status_is_unsupported_function() -> None:
    """A new async context's status is SEC_E_UNSUPPORTED_FUNCTION (A1)."""
    async with Emulator():
        actx = await SspiCreateAsyncContext()
        assert isinstance(actx, SspiAsyncContext)
        assert await SspiGetAsyncCallStatus(actx) == SEC_E_UNSUPPORTED_FUNCTION


async def test_A1_async_context_has_no_public_constructor() -> None:
    """SspiAsyncContext is created only by SspiCreateAsyncContext (A1, SPEC §2)."""
    with pytest.raises(TypeError):
        SspiAsyncContext()


# --------------------------------------------------------------------------- A2


async def test_A2_set_callback_returns_ok_and_the_callback_is_used() -> None:
    """SspiSetAsyncNotifyCallback stores the callback and data and returns SEC_E_OK (A2)."""
    async with Emulator():
        actx = await SspiCreateAsyncContext()
        recorder = Recorder()
        data = object()
        assert await SspiSetAsyncNotifyCallback(actx, recorder, data) == SEC_E_OK
        assert await ach_valid(actx) == SEC_E_OK
        await recorder.wait_for(1)
        assert [(c, d) for c, d, _ in recorder.calls] == [(actx, data)]
        assert recorder.calls[0][0] is actx
        assert recorder.calls[0][1] is data


async def test_A2_none_callback_is_allowed_and_notifies_nobody() -> None:
    """Callback None is accepted (SEC_E_OK) and replaces a previous callback (A2)."""
    async with Emulator():
        actx = await SspiCreateAsyncContext()
        recorder = Recorder()
        assert await SspiSetAsyncNotifyCallback(actx, recorder, "x") == SEC_E_OK
        assert await SspiSetAsyncNotifyCallback(actx, None, None) == SEC_E_OK
        assert await SspiAsyncContextRequiresNotify(actx) is False
        assert await ach_valid(actx) == SEC_E_OK
        assert await result_of(actx) == SEC_E_OK
        await turn_loop()
        assert recorder.calls == []


async def test_A2_none_context_is_invalid_parameter() -> None:
    """SspiSetAsyncNotifyCallback(None, ...) returns SEC_E_INVALID_PARAMETER (A2)."""
    async with Emulator():
        assert await SspiSetAsyncNotifyCallback(None, Recorder(), "x") == SEC_E_INVALID_PARAMETER
        assert await SspiSetAsyncNotifyCallback(None, None, None) == SEC_E_INVALID_PARAMETER


@pytest.mark.parametrize("replacement", ["other-callback", "none"])
async def test_A2_pending_context_refused_and_nothing_changed(replacement: str) -> None:
    """Setting a callback on a pending context returns SEC_E_INVALID_PARAMETER and changes
    nothing: the registered callback still fires, once, with its data (A2)."""
    async with Emulator():
        actx = await SspiCreateAsyncContext()
        original, other = Recorder(), Recorder()
        assert await SspiSetAsyncNotifyCallback(actx, original, "original") == SEC_E_OK
        assert await ach_valid(actx) == SEC_E_OK
        assert status_now(actx) == SEC_I_ASYNC_CALL_PENDING
        new_cb = other if replacement == "other-callback" else None
        assert await SspiSetAsyncNotifyCallback(actx, new_cb, "new") == SEC_E_INVALID_PARAMETER
        assert status_now(actx) == SEC_I_ASYNC_CALL_PENDING
        assert await SspiAsyncContextRequiresNotify(actx) is True
        assert await result_of(actx) == SEC_E_OK
        await original.wait_for(1)
        await turn_loop()
        assert [(c, d) for c, d, _ in original.calls] == [(actx, "original")]
        assert other.calls == []
        # The next call still notifies the original callback: the refusal stored nothing.
        assert await SspiReinitAsyncContext(actx) == STATUS_SUCCESS
        assert await ach_valid(actx) == SEC_E_OK
        await original.wait_for(2)
        assert [d for _, d, _ in original.calls] == ["original", "original"]
        assert other.calls == []


async def test_A2_pending_refusal_is_a_named_SecurityStatus() -> None:
    """The A2 refusal is returned as a SecurityStatus member so it prints by name (A2, SPEC §2)."""
    async with Emulator():
        actx = await SspiCreateAsyncContext()
        assert await ach_valid(actx) == SEC_E_OK
        status = await SspiSetAsyncNotifyCallback(actx, Recorder(), "x")
        assert status == SEC_E_INVALID_PARAMETER
        assert isinstance(status, SecurityStatus)
        assert str(status) == "SEC_E_INVALID_PARAMETER"
        await result_of(actx)


# --------------------------------------------------------------------------- A3


async def test_A3_requires_notify_is_true_exactly_when_a_callback_is_registered() -> None:
    """SspiAsyncContextRequiresNotify follows the registered callback (A3)."""

    async def async_cb(ctx: SspiAsyncContext, data: object) -> None:
        return None

    async with Emulator():
        actx = await SspiCreateAsyncContext()
        assert await SspiAsyncContextRequiresNotify(actx) is False
        assert await SspiSetAsyncNotifyCallback(actx, Recorder(), None) == SEC_E_OK
        assert await SspiAsyncContextRequiresNotify(actx) is True
        assert await SspiSetAsyncNotifyCallback(actx, None, "data") == SEC_E_OK
        assert await SspiAsyncContextRequiresNotify(actx) is False
        assert await SspiSetAsyncNotifyCallback(actx, async_cb, None) == SEC_E_OK
        assert await SspiAsyncContextRequiresNotify(actx) is True
        assert await ach_valid(actx) == SEC_E_OK
        assert await SspiAsyncContextRequiresNotify(actx) is True  # while pending
        assert await result_of(actx) == SEC_E_OK
        assert await SspiReinitAsyncContext(actx) == STATUS_SUCCESS
        assert await SspiAsyncContextRequiresNotify(actx) is True  # kept by reinit (A9)


# --------------------------------------------------------------------------- A4

#: A queueing call with everything it needs (fresh handles and out-values per test).
QueueCall = Callable[[SspiAsyncContext | None, "Env"], Awaitable[int]]


class Env:
    """Arguments for the A4 cases: valid credentials and fresh, sentinel-filled out-parameters."""

    def __init__(self) -> None:
        self.client_cred = classic_cred(SECPKG_CRED_OUTBOUND, CLIENT_AUTH)
        self.server_cred = classic_cred(SECPKG_CRED_INBOUND, SERVER_AUTH)
        self.new_cred = CredHandle()
        self.new_ctx = CtxtHandle()
        self.out = out_desc()
        self.attr = ULONG(ATTR_SENTINEL)
        self.ts = TimeStamp(TS_SENTINEL)
        hello = out_desc()
        status = InitializeSecurityContext(
            self.client_cred, None, TARGET, ISC_FLAGS, 0, 0, None, 0, CtxtHandle(), hello, ULONG()
        )
        assert status == SEC_I_CONTINUE_NEEDED
        self.client_hello = hello.pBuffers[0].data()

    def assert_untouched(self) -> None:
        """No out-parameter was written."""
        assert not SecIsValidHandle(self.new_cred)
        assert not SecIsValidHandle(self.new_ctx)
        assert [(b.BufferType, b.cbBuffer, b.pvBuffer) for b in self.out.pBuffers] == [
            (SECBUFFER_TOKEN, 0, None),
            (SECBUFFER_ALERT, 0, None),
        ] + [(SECBUFFER_EMPTY, 0, None)] * (self.out.cBuffers - 2)
        assert self.attr.value == ATTR_SENTINEL
        assert self.ts.value == TS_SENTINEL


def isc(
    *,
    cred: bool = True,
    new_ctx: bool = True,
    output_buffers: int = 2,
    reserved1: int = 0,
    reserved2: int = 0,
) -> QueueCall:
    async def call(actx: SspiAsyncContext | None, env: Env) -> int:
        env.out = out_desc(output_buffers - 2)
        return await SspiInitializeSecurityContextAsync(
            actx,
            env.client_cred if cred else None,
            None,
            TARGET,
            ISC_FLAGS,
            reserved1,
            SECURITY_NATIVE_DREP,
            None,
            reserved2,
            env.new_ctx if new_ctx else None,
            env.out,
            env.attr,
            env.ts,
        )

    return call


def asc(*, cred: bool = True, new_ctx: bool = True, output_buffers: int = 2) -> QueueCall:
    async def call(actx: SspiAsyncContext | None, env: Env) -> int:
        env.out = out_desc(output_buffers - 2)
        return await SspiAcceptSecurityContextAsync(
            actx,
            env.server_cred if cred else None,
            None,
            in_desc(env.client_hello),
            ASC_FLAGS,
            SECURITY_NATIVE_DREP,
            env.new_ctx if new_ctx else None,
            env.out,
            env.attr,
            env.ts,
        )

    return call


def ach(*, cred: bool = True) -> QueueCall:
    async def call(actx: SspiAsyncContext | None, env: Env) -> int:
        return await SspiAcquireCredentialsHandleAsync(
            actx,
            None,
            "SimTLS",
            SECPKG_CRED_OUTBOUND,
            None,
            CLIENT_AUTH,
            None,
            None,
            env.new_cred if cred else None,
            env.ts,
        )

    return call


def dsc(*, handle: bool = True) -> QueueCall:
    async def call(actx: SspiAsyncContext | None, env: Env) -> int:
        return await SspiDeleteSecurityContextAsync(actx, CtxtHandle() if handle else None)

    return call


def fch(*, handle: bool = True) -> QueueCall:
    async def call(actx: SspiAsyncContext | None, env: Env) -> int:
        return await SspiFreeCredentialsHandleAsync(actx, CredHandle() if handle else None)

    return call


#: One valid call per queueing function.
VALID_CALLS = {
    "ACH": ach(),
    "ISC": isc(),
    "ASC": asc(),
    "DSC": dsc(),
    "FCH": fch(),
}

#: (id, call, expected queueing status) for every argument check of A4, and their order.
ARGUMENT_REFUSALS = [
    ("ISC-phNewContext-None", isc(new_ctx=False), SEC_E_INVALID_HANDLE),
    ("ASC-phNewContext-None", asc(new_ctx=False), SEC_E_INVALID_HANDLE),
    ("ISC-no-credential-no-context", isc(cred=False), SEC_E_INVALID_HANDLE),
    ("ASC-no-credential-no-context", asc(cred=False), SEC_E_INVALID_HANDLE),
    ("ACH-phCredential-None", ach(cred=False), SEC_E_INVALID_HANDLE),
    ("DSC-phContext-None", dsc(handle=False), SEC_E_INVALID_HANDLE),
    ("FCH-phCredential-None", fch(handle=False), SEC_E_INVALID_HANDLE),
    ("ISC-19-output-buffers", isc(output_buffers=19), SEC_E_INVALID_PARAMETER),
    ("ASC-19-output-buffers", asc(output_buffers=19), SEC_E_INVALID_PARAMETER),
    ("ISC-Reserved1", isc(reserved1=1), SEC_E_INVALID_PARAMETER),
    ("ISC-Reserved2", isc(reserved2=1), SEC_E_INVALID_PARAMETER),
    # Order: the handle checks come before the parameter checks.
    (
        "ISC-phNewContext-None-before-19-buffers",
        isc(new_ctx=False, output_buffers=19),
        SEC_E_INVALID_HANDLE,
    ),
    (
        "ASC-phNewContext-None-before-19-buffers",
        asc(new_ctx=False, output_buffers=19),
        SEC_E_INVALID_HANDLE,
    ),
    ("ISC-no-credential-before-Reserved1", isc(cred=False, reserved1=7), SEC_E_INVALID_HANDLE),
    ("ISC-no-credential-before-Reserved2", isc(cred=False, reserved2=7), SEC_E_INVALID_HANDLE),
    (
        "ASC-no-credential-before-19-buffers",
        asc(cred=False, output_buffers=19),
        SEC_E_INVALID_HANDLE,
    ),
]


@pytest.mark.parametrize(
    ("call", "expected"),
    [pytest.param(c, e, id=i) for i, c, e in ARGUMENT_REFUSALS],
)
async def test_A4_argument_checks_refuse_at_once_with_context_untouched(
    call: QueueCall, expected: int
) -> None:
    """Each A4 argument check returns its status at queue time, in the A4 order, leaving the
    context's status, the out-parameters and the callback untouched (A4)."""
    async with Emulator():
        env = Env()
        recorder = Recorder()
        actx = await completed_with_callback(recorder)
        coro = call(actx, env)
        status = run_now(coro)  # returns at once: no suspension
        assert status == expected
        assert status_now(actx) == SEC_E_SECPKG_NOT_FOUND  # the previous result, unchanged
        await turn_loop()
        assert recorder.calls == []
        assert status_now(actx) == SEC_E_SECPKG_NOT_FOUND
        env.assert_untouched()


@pytest.mark.parametrize(
    ("call", "expected"),
    [pytest.param(c, e, id=i) for i, c, e in ARGUMENT_REFUSALS],
)
async def test_A4_argument_checks_refuse_on_a_new_context(call: QueueCall, expected: int) -> None:
    """On a never-used context an A4 refusal leaves SEC_E_UNSUPPORTED_FUNCTION in place (A4)."""
    async with Emulator():
        env = Env()
        actx = await SspiCreateAsyncContext()
        recorder = Recorder()
        assert await SspiSetAsyncNotifyCallback(actx, recorder, "x") == SEC_E_OK
        assert await call(actx, env) == expected
        await turn_loop()
        assert status_now(actx) == SEC_E_UNSUPPORTED_FUNCTION
        assert recorder.calls == []
        # Not half queued: the context takes a valid call right away.
        assert await ach_valid(actx) == SEC_E_OK


@pytest.mark.parametrize(
    "call",
    [pytest.param(c, id=name) for name, c in VALID_CALLS.items()]
    + [pytest.param(c, id=f"{i}-but-None-context") for i, c, _ in ARGUMENT_REFUSALS],
)
async def test_A4_none_context_refused_with_invalid_parameter(call: QueueCall) -> None:
    """Context None → SEC_E_INVALID_PARAMETER, checked before every other A4 check (A4)."""
    async with Emulator():
        env = Env()
        assert run_now(call(None, env)) == SEC_E_INVALID_PARAMETER
        await turn_loop()
        env.assert_untouched()


@pytest.mark.parametrize(
    "call",
    [pytest.param(c, id=name) for name, c in VALID_CALLS.items()]
    + [pytest.param(c, id=f"{i}-but-pending") for i, c, _ in ARGUMENT_REFUSALS],
)
async def test_A4_pending_context_refused_with_invalid_parameter(call: QueueCall) -> None:
    """A pending context → SEC_E_INVALID_PARAMETER before any argument check (so a pending
    context with phNewContext None still gives SEC_E_INVALID_PARAMETER); the pending call is
    unaffected and notifies exactly once (A4)."""
    async with Emulator():
        env = Env()
        actx = await SspiCreateAsyncContext()
        recorder = Recorder()
        assert await SspiSetAsyncNotifyCallback(actx, recorder, "first") == SEC_E_OK
        first_cred = CredHandle()
        assert await ach_valid(actx, first_cred) == SEC_E_OK
        assert status_now(actx) == SEC_I_ASYNC_CALL_PENDING
        assert run_now(call(actx, env)) == SEC_E_INVALID_PARAMETER
        assert status_now(actx) == SEC_I_ASYNC_CALL_PENDING
        assert await result_of(actx) == SEC_E_OK  # the first call's result
        await recorder.wait_for(1)
        await turn_loop()
        assert [(d, s) for _, d, s in recorder.calls] == [("first", SEC_E_OK)]
        assert SecIsValidHandle(first_cred)
        env.assert_untouched()


@pytest.mark.parametrize("name", list(VALID_CALLS))
async def test_A4_accepted_call_returns_ok_with_status_pending_before_returning(name: str) -> None:
    """A call that passes the checks returns SEC_E_OK, and the status is already
    SEC_I_ASYNC_CALL_PENDING when the coroutine returns (it never suspends) (A4)."""
    async with Emulator():
        env = Env()
        actx = await SspiCreateAsyncContext()
        coro = VALID_CALLS[name](actx, env)
        assert status_now(actx) == SEC_E_UNSUPPORTED_FUNCTION
        assert run_now(coro) == SEC_E_OK
        assert status_now(actx) == SEC_I_ASYNC_CALL_PENDING
        await result_of(actx)


@pytest.mark.parametrize("role", ["ISC", "ASC"])
async def test_A4_exactly_18_output_buffers_are_accepted(role: str) -> None:
    """The output-buffer limit is 18: 18 buffers queue with SEC_E_OK, 19 do not (A4)."""
    async with Emulator():
        env = Env()
        actx = await SspiCreateAsyncContext()
        call = isc(output_buffers=18) if role == "ISC" else asc(output_buffers=18)
        assert await call(actx, env) == SEC_E_OK
        assert status_now(actx) == SEC_I_ASYNC_CALL_PENDING
        assert await result_of(actx) == SEC_I_CONTINUE_NEEDED


# --------------------------------------------------------------------------- A5


async def _queue_result(call: Callable[[SspiAsyncContext], Awaitable[int]]) -> int:
    actx = await SspiCreateAsyncContext()
    assert await call(actx) == SEC_E_OK  # queued: the problem is not a queue-time error
    assert status_now(actx) == SEC_I_ASYNC_CALL_PENDING
    return await result_of(actx)


async def test_A5_unknown_package_is_a_completion_result() -> None:
    """ACH with an unknown package queues SEC_E_OK and completes SEC_E_SECPKG_NOT_FOUND, as the
    classic function returns (A5, C1)."""
    async with Emulator():
        result = await _queue_result(ach_unknown_package)
        assert result == SEC_E_SECPKG_NOT_FOUND
        classic = AcquireCredentialsHandle(
            None, "NoSuchPkg", SECPKG_CRED_OUTBOUND, None, None, None, None, CredHandle(), None
        )
        assert classic == result


async def test_A5_bad_credential_use_is_a_completion_result() -> None:
    """ACH with an invalid fCredentialUse completes SEC_E_NO_CREDENTIALS (A5, C1)."""

    async def call(actx: SspiAsyncContext) -> int:
        return await SspiAcquireCredentialsHandleAsync(
            actx, None, "SimTLS", 0, None, CLIENT_AUTH, None, None, CredHandle(), None
        )

    async with Emulator():
        result = await _queue_result(call)
        assert result == SEC_E_NO_CREDENTIALS
        classic = AcquireCredentialsHandle(
            None, "SimTLS", 0, None, CLIENT_AUTH, None, None, CredHandle(), None
        )
        assert classic == result


async def test_A5_unknown_credential_handle_is_a_completion_result() -> None:
    """ISC with an unknown (never issued) credential handle completes SEC_E_INVALID_HANDLE (A5)."""

    async def call(actx: SspiAsyncContext) -> int:
        return await SspiInitializeSecurityContextAsync(
            actx, CredHandle(), None, TARGET, ISC_FLAGS, 0, 0, None, 0, new_ctx, out_desc(), ULONG()
        )

    async with Emulator():
        new_ctx = CtxtHandle()
        result = await _queue_result(call)
        assert result == SEC_E_INVALID_HANDLE
        assert not SecIsValidHandle(new_ctx)
        classic = InitializeSecurityContext(
            CredHandle(), None, TARGET, ISC_FLAGS, 0, 0, None, 0, CtxtHandle(), out_desc(), ULONG()
        )
        assert classic == result


async def test_A5_bad_token_is_a_completion_result() -> None:
    """ASC with a garbage token completes SEC_E_INVALID_TOKEN, as the classic ASC returns (A5)."""
    garbage = b"hello world, not a TLS record"
    async with Emulator():
        server_cred = classic_cred(SECPKG_CRED_INBOUND, SERVER_AUTH)

        async def call(actx: SspiAsyncContext) -> int:
            return await SspiAcceptSecurityContextAsync(
                actx,
                server_cred,
                None,
                in_desc(garbage),
                ASC_FLAGS,
                0,
                CtxtHandle(),
                out_desc(),
                ULONG(),
            )

        result = await _queue_result(call)
        assert result == SEC_E_INVALID_TOKEN
        classic = AcceptSecurityContext(
            server_cred, None, in_desc(garbage), ASC_FLAGS, 0, CtxtHandle(), out_desc(), ULONG()
        )
        assert classic == result


async def test_A5_missing_output_descriptor_is_a_completion_result() -> None:
    """ISC with pOutput None is not an A4 check: it completes SEC_E_INVALID_TOKEN (A5, T2)."""
    async with Emulator():
        client_cred = classic_cred(SECPKG_CRED_OUTBOUND, CLIENT_AUTH)

        async def call(actx: SspiAsyncContext) -> int:
            return await SspiInitializeSecurityContextAsync(
                actx,
                client_cred,
                None,
                TARGET,
                ISC_FLAGS,
                0,
                0,
                None,
                0,
                CtxtHandle(),
                None,
                ULONG(),
            )

        assert await _queue_result(call) == SEC_E_INVALID_TOKEN


@pytest.mark.parametrize("function", ["DSC", "FCH"])
async def test_A5_unknown_handles_to_delete_or_free_are_completion_results(function: str) -> None:
    """DSC/FCH of an unknown handle queue SEC_E_OK and complete SEC_E_INVALID_HANDLE (A5, T13, C4)."""

    async def call(actx: SspiAsyncContext) -> int:
        if function == "DSC":
            return await SspiDeleteSecurityContextAsync(actx, CtxtHandle())
        return await SspiFreeCredentialsHandleAsync(actx, CredHandle())

    async with Emulator():
        assert await _queue_result(call) == SEC_E_INVALID_HANDLE
        classic = (
            DeleteSecurityContext(CtxtHandle())
            if function == "DSC"
            else FreeCredentialsHandle(CredHandle())
        )
        assert classic == SEC_E_INVALID_HANDLE


async def test_A5_wrong_principal_is_a_completion_result() -> None:
    """A server principal that does not match pszTargetName fails the client's step at
    completion with SEC_E_WRONG_PRINCIPAL, not at queue time (A5, SPEC §4)."""
    async with Emulator():
        client = Side(await SspiCreateAsyncContext(), client=True, target="someone-else")
        server = Side(await SspiCreateAsyncContext(), client=False)
        await client.acquire()
        await server.acquire()
        token = await client.step(None)
        token = await server.step(token)
        assert await client.queue(token) == SEC_E_OK
        assert status_now(client.actx) == SEC_I_ASYNC_CALL_PENDING
        assert await result_of(client.actx) == SEC_E_WRONG_PRINCIPAL


async def test_A5_wrong_secret_is_a_completion_result() -> None:
    """A shared-secret mismatch is queued with SEC_E_OK and reported as an error result at
    completion of the client's step (A5, SPEC §4)."""
    async with Emulator():
        client = Side(await SspiCreateAsyncContext(), client=True)
        server = Side(await SspiCreateAsyncContext(), client=False)
        await client.acquire()
        await server.acquire(auth=SimTLSCred(principal="server", secret="other"))
        token = await client.step(None)
        token = await server.step(token)
        assert server.results == [SEC_I_CONTINUE_NEEDED]
        assert await client.queue(token) == SEC_E_OK
        assert status_now(client.actx) == SEC_I_ASYNC_CALL_PENDING
        result = await result_of(client.actx)
        assert result != SEC_I_ASYNC_CALL_PENDING
        assert not SEC_SUCCESS(result)


# --------------------------------------------------------------------------- A6


async def test_A6_out_parameters_not_written_at_queue_time() -> None:
    """Out-parameters are written at completion, never at queue time (A6, reference §2.2)."""
    async with Emulator():
        client = Side(await SspiCreateAsyncContext(), client=True)
        await client.acquire()
        assert await client.queue(None) == SEC_E_OK
        assert not SecIsValidHandle(client.ctx)
        assert client.out.pBuffers[0].cbBuffer == 0
        assert client.out.pBuffers[0].pvBuffer is None
        assert client.attr.value == ATTR_SENTINEL
        assert await result_of(client.actx) == SEC_I_CONTINUE_NEEDED
        assert SecIsValidHandle(client.ctx)
        assert client.out.pBuffers[0].cbBuffer > 0


async def test_A6_handshake_out_parameters_are_written_when_the_callback_runs() -> None:
    """At callback time of every handshake step phNewContext, the output token, pfContextAttr
    and (on SEC_E_OK) ptsExpiry are written and the status is the final result (A6)."""
    async with Emulator():
        client = Side(await SspiCreateAsyncContext(), client=True)
        server = Side(await SspiCreateAsyncContext(), client=False)
        await client.acquire()
        await server.acquire()
        snapshots: list[dict[str, Any]] = []
        notified = asyncio.Event()

        def snapshot(ctx: SspiAsyncContext, side: Side, /) -> None:
            snapshots.append(
                {
                    "client": side.client,
                    "status": status_now(ctx),
                    "handle_valid": SecIsValidHandle(side.ctx),
                    "token": side.token(),
                    "attr": side.attr.value,
                    "ts": side.ts.value,
                }
            )
            notified.set()

        for side in (client, server):
            assert await SspiSetAsyncNotifyCallback(side.actx, snapshot, side) == SEC_E_OK

        async def step(side: Side, token: bytes | None) -> bytes:
            notified.clear()
            assert await side.queue(token) == SEC_E_OK
            with anyio.fail_after(5):
                await notified.wait()
            side.results.append(snapshots[-1]["status"])
            assert await SspiReinitAsyncContext(side.actx) == STATUS_SUCCESS
            return snapshots[-1]["token"]

        token = await step(client, None)
        token = await step(server, token)
        token = await step(client, token)
        await step(server, token)
        assert [(s["client"], s["status"]) for s in snapshots] == [
            (True, SEC_I_CONTINUE_NEEDED),
            (False, SEC_I_CONTINUE_NEEDED),
            (True, SEC_E_OK),
            (False, SEC_E_OK),
        ]
        for snap in snapshots:
            assert snap["handle_valid"]
            assert snap["attr"] not in (ATTR_SENTINEL, 0)
        assert all(s["token"] for s in snapshots[:3])  # ClientHello, server flight, Finished
        assert snapshots[2]["ts"] != TS_SENTINEL  # ptsExpiry written with SEC_E_OK
        assert snapshots[3]["ts"] != TS_SENTINEL


async def test_A6_credential_out_parameters_are_written_when_the_callback_runs() -> None:
    """At callback time of an ACH, phCredential and ptsExpiry are written (A6, C3)."""
    async with Emulator():
        actx = await SspiCreateAsyncContext()
        cred, expiry = CredHandle(), TimeStamp(TS_SENTINEL)
        seen: list[tuple[int, bool, int]] = []
        done = asyncio.Event()

        def cb(ctx: SspiAsyncContext, data: object, /) -> None:
            seen.append((status_now(ctx), SecIsValidHandle(cred), expiry.value))
            done.set()

        assert await SspiSetAsyncNotifyCallback(actx, cb, None) == SEC_E_OK
        status = await SspiAcquireCredentialsHandleAsync(
            actx, None, "SimTLS", SECPKG_CRED_OUTBOUND, None, CLIENT_AUTH, None, None, cred, expiry
        )
        assert status == SEC_E_OK
        with anyio.fail_after(5):
            await done.wait()
        assert len(seen) == 1
        status_at_cb, valid, ticks = seen[0]
        assert status_at_cb == SEC_E_OK
        assert valid
        assert ticks != TS_SENTINEL


async def test_A6_input_buffer_types_are_written_when_the_callback_runs() -> None:
    """At callback time an incomplete input's EMPTY buffer has become SECBUFFER_MISSING (A6, T4)."""
    async with Emulator():
        env = Env()
        actx = await SspiCreateAsyncContext()
        inp = in_desc(env.client_hello[:4])
        seen: list[tuple[int, int, int]] = []
        done = asyncio.Event()

        def cb(ctx: SspiAsyncContext, data: object, /) -> None:
            seen.append((status_now(ctx), inp.pBuffers[1].BufferType, inp.pBuffers[1].cbBuffer))
            done.set()

        assert await SspiSetAsyncNotifyCallback(actx, cb, None) == SEC_E_OK
        status = await SspiAcceptSecurityContextAsync(
            actx, env.server_cred, None, inp, ASC_FLAGS, 0, CtxtHandle(), out_desc(), ULONG()
        )
        assert status == SEC_E_OK
        assert inp.pBuffers[1].BufferType == SECBUFFER_EMPTY  # not at queue time
        with anyio.fail_after(5):
            await done.wait()
        assert seen == [(SEC_E_INCOMPLETE_MESSAGE, SECBUFFER_MISSING, 1)]


@pytest.mark.parametrize("completion", ["deferred", "eager"])
async def test_A6_callback_runs_exactly_once_after_the_queueing_coroutine_returned(
    completion: str,
) -> None:
    """The callback runs exactly once per queued call and never before the queueing coroutine
    returned, whatever the completion mode (A6)."""
    async with Emulator(EmulatorSettings(completion=completion)):
        actx = await SspiCreateAsyncContext()
        order: list[str] = []
        done = asyncio.Event()

        def cb(ctx: SspiAsyncContext, data: object, /) -> None:
            order.append("callback")
            done.set()

        assert await SspiSetAsyncNotifyCallback(actx, cb, None) == SEC_E_OK
        for _ in range(3):
            done.clear()
            status = await ach_valid(actx)
            order.append("returned")
            assert status == SEC_E_OK
            with anyio.fail_after(5):
                await done.wait()
            await turn_loop()
            assert await SspiReinitAsyncContext(actx) == STATUS_SUCCESS
        assert order == ["returned", "callback"] * 3


async def test_A6_callback_is_called_positionally_with_context_and_data() -> None:
    """The callback is called as Callback(Context, CallbackData) (A6)."""
    async with Emulator():
        actx = await SspiCreateAsyncContext()
        seen: list[tuple[object, ...]] = []
        done = asyncio.Event()

        def cb(*args: object, **kwargs: object) -> None:
            seen.append((*args, kwargs))
            done.set()

        data = {"any": "object"}
        assert await SspiSetAsyncNotifyCallback(actx, cb, data) == SEC_E_OK
        assert await ach_valid(actx) == SEC_E_OK
        with anyio.fail_after(5):
            await done.wait()
        assert len(seen) == 1
        assert seen[0][0] is actx
        assert seen[0][1] is data
        assert seen[0][2] == {}


@pytest.mark.parametrize("completion", ["deferred", "eager"])
async def test_A6_callback_does_not_run_inside_an_sspi_call(completion: str) -> None:
    """The callback is scheduled on the loop: no SSPI function is on the stack when it runs
    (A6), even when the result was ready before the queueing coroutine returned."""
    facade_files = {
        inspect.getfile(sspi_facade),
        inspect.getfile(sys.modules["sspi_async._core._async_calls"]),
    }
    async with Emulator(EmulatorSettings(completion=completion)):
        actx = await SspiCreateAsyncContext()
        stacks: list[list[str]] = []
        done = asyncio.Event()

        def cb(ctx: SspiAsyncContext, data: object, /) -> None:
            frame = sys._getframe(1)
            files = []
            while frame is not None:
                files.append(frame.f_code.co_filename)
                frame = frame.f_back
            stacks.append(files)
            done.set()

        assert await SspiSetAsyncNotifyCallback(actx, cb, None) == SEC_E_OK
        assert await ach_valid(actx) == SEC_E_OK
        with anyio.fail_after(5):
            await done.wait()
        assert len(stacks) == 1
        assert not facade_files & set(stacks[0])


async def test_A6_async_callback_runs_as_a_task_awaited_at_shutdown() -> None:
    """A coroutine function callback runs as a task; shutdown waits for it to finish (A6)."""
    emu = Emulator()
    started = asyncio.Event()
    gate = asyncio.Event()
    record: list[object] = []

    async def cb(ctx: SspiAsyncContext, data: object) -> None:
        record.append(asyncio.current_task())
        started.set()
        await gate.wait()
        record.append(data)

    async with emu:
        actx = await SspiCreateAsyncContext()
        assert await SspiSetAsyncNotifyCallback(actx, cb, "finished") == SEC_E_OK
        assert await ach_valid(actx) == SEC_E_OK
        with anyio.fail_after(5):
            await started.wait()
        task = record[0]
        assert isinstance(task, asyncio.Task)
        assert task is not asyncio.current_task()
        closer = asyncio.ensure_future(emu.aclose())
        await turn_loop()
        assert not closer.done()  # aclose waits for the callback's task
        gate.set()
        with anyio.fail_after(5):
            await closer
        assert record == [task, "finished"]
        assert task.done()


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_A6_raising_callback_is_logged_and_harms_nothing(kind: str) -> None:
    """An exception from a callback is logged as sspi.callback.failed with its traceback; the
    context and the next call work normally (A6)."""
    raised = asyncio.Event()

    def sync_cb(ctx: SspiAsyncContext, data: object) -> None:
        raised.set()
        raise ValueError("boom")

    async def async_cb(ctx: SspiAsyncContext, data: object) -> None:
        raised.set()
        raise ValueError("boom")

    with structlog.testing.capture_logs() as logs:
        async with Emulator():
            actx = await SspiCreateAsyncContext()
            cb = sync_cb if kind == "sync" else async_cb
            assert await SspiSetAsyncNotifyCallback(actx, cb, None) == SEC_E_OK
            assert await ach_valid(actx) == SEC_E_OK
            with anyio.fail_after(5):
                await raised.wait()
            await turn_loop()
            assert status_now(actx) == SEC_E_OK
            # The next call on the same context works and notifies.
            recorder = Recorder()
            assert await SspiSetAsyncNotifyCallback(actx, recorder, "next") == SEC_E_OK
            assert await SspiReinitAsyncContext(actx) == STATUS_SUCCESS
            assert await ach_valid(actx) == SEC_E_OK
            await recorder.wait_for(1)
            assert [(d, s) for _, d, s in recorder.calls] == [("next", SEC_E_OK)]
    failed = [entry for entry in logs if entry["event"] == "sspi.callback.failed"]
    assert len(failed) == 1
    assert failed[0]["log_level"] == "error"
    assert failed[0].get("exc_info")


# --------------------------------------------------------------------------- A7


async def test_A7_deferred_status_is_pending_right_after_the_await() -> None:
    """By default the work runs after the queueing coroutine returns: right after the await the
    status is SEC_I_ASYNC_CALL_PENDING (A7)."""
    async with Emulator():
        client = Side(await SspiCreateAsyncContext(), client=True)
        await client.acquire()
        assert await client.queue(None) == SEC_E_OK
        assert await SspiGetAsyncCallStatus(client.actx) == SEC_I_ASYNC_CALL_PENDING
        assert await result_of(client.actx) == SEC_I_CONTINUE_NEEDED


async def test_A7_deferred_work_runs_on_the_next_loop_turn() -> None:
    """Without latency the work is dispatched with call_soon: pending right after the queueing
    coroutine returns (A7), complete once the caller has yielded to the loop a single time, the
    turn ``Emulator.result`` (the Pythonic layer's wait) relies on."""
    async with Emulator() as emu:
        client = Side(await SspiCreateAsyncContext(), client=True)
        await client.acquire()
        assert await client.queue(None) == SEC_E_OK
        assert await SspiGetAsyncCallStatus(client.actx) == SEC_I_ASYNC_CALL_PENDING
        await asyncio.sleep(0)
        assert await SspiGetAsyncCallStatus(client.actx) == SEC_I_CONTINUE_NEEDED
        assert await emu.result(client.actx) == SEC_I_CONTINUE_NEEDED


@pytest.mark.parametrize(
    "settings",
    [EmulatorSettings(latency=0.005), EmulatorSettings(completion="eager"), EmulatorSettings()],
    ids=["latency", "eager", "soon"],
)
async def test_A13_emulator_result_returns_what_wait_async_call_returns(
    settings: EmulatorSettings,
) -> None:
    """``Emulator.result`` gives the call's result however it was scheduled (A13)."""
    async with Emulator(settings) as emu:
        client = Side(await SspiCreateAsyncContext(), client=True)
        await client.acquire()
        assert await client.queue(None) == SEC_E_OK
        with anyio.fail_after(5):
            assert await emu.result(client.actx) == SEC_I_CONTINUE_NEEDED
        assert await wait_async_call(client.actx) == SEC_I_CONTINUE_NEEDED


async def test_A7_eager_completion_is_final_on_return_and_the_callback_still_deferred() -> None:
    """With completion="eager" the result is there when the coroutine returns, but the callback
    has not run yet; it runs later, once (A7, A6)."""
    async with Emulator(EmulatorSettings(completion="eager")):
        client = Side(await SspiCreateAsyncContext(), client=True)
        await client.acquire()
        recorder = Recorder()
        assert await SspiSetAsyncNotifyCallback(client.actx, recorder, "x") == SEC_E_OK
        assert await client.queue(None) == SEC_E_OK
        assert await SspiGetAsyncCallStatus(client.actx) == SEC_I_CONTINUE_NEEDED
        assert SecIsValidHandle(client.ctx)
        assert recorder.calls == []
        await recorder.wait_for(1)
        await turn_loop()
        assert [(d, s) for _, d, s in recorder.calls] == [("x", SEC_I_CONTINUE_NEEDED)]


# --------------------------------------------------------------------------- A8


async def test_A8_get_status_never_waits() -> None:
    """SspiGetAsyncCallStatus returns without suspending when idle, pending and complete (A8)."""
    async with Emulator():
        actx = await SspiCreateAsyncContext()
        assert run_now(SspiGetAsyncCallStatus(actx)) == SEC_E_UNSUPPORTED_FUNCTION
        assert await ach_valid(actx) == SEC_E_OK
        assert run_now(SspiGetAsyncCallStatus(actx)) == SEC_I_ASYNC_CALL_PENDING
        assert await result_of(actx) == SEC_E_OK
        assert run_now(SspiGetAsyncCallStatus(actx)) == SEC_E_OK


async def test_A8_get_status_of_none_is_invalid_parameter() -> None:
    """SspiGetAsyncCallStatus(None) returns SEC_E_INVALID_PARAMETER (A8)."""
    async with Emulator():
        assert await SspiGetAsyncCallStatus(None) == SEC_E_INVALID_PARAMETER


# --------------------------------------------------------------------------- A9


async def test_A9_reinit_none_is_status_invalid_parameter() -> None:
    """SspiReinitAsyncContext(None) returns STATUS_INVALID_PARAMETER (A9)."""
    async with Emulator():
        assert await SspiReinitAsyncContext(None) == STATUS_INVALID_PARAMETER
        assert STATUS_INVALID_PARAMETER == 0xC000000D


async def test_A9_reinit_pending_is_refused_and_the_call_completes() -> None:
    """Reinit of a pending context returns STATUS_INVALID_PARAMETER; the call goes on and
    notifies once with its result (A9)."""
    async with Emulator():
        actx = await SspiCreateAsyncContext()
        recorder = Recorder()
        assert await SspiSetAsyncNotifyCallback(actx, recorder, "x") == SEC_E_OK
        assert await ach_unknown_package(actx) == SEC_E_OK
        assert await SspiReinitAsyncContext(actx) == STATUS_INVALID_PARAMETER
        assert status_now(actx) == SEC_I_ASYNC_CALL_PENDING
        assert await result_of(actx) == SEC_E_SECPKG_NOT_FOUND
        await recorder.wait_for(1)
        await turn_loop()
        assert [(d, s) for _, d, s in recorder.calls] == [("x", SEC_E_SECPKG_NOT_FOUND)]


async def test_A9_reinit_completed_resets_status_and_keeps_the_callback() -> None:
    """Reinit of a completed context returns STATUS_SUCCESS, the status goes back to
    SEC_E_UNSUPPORTED_FUNCTION and the callback and its data are kept (A9)."""
    async with Emulator():
        recorder = Recorder()
        actx = await completed_with_callback(recorder, data="kept")
        assert await SspiReinitAsyncContext(actx) == STATUS_SUCCESS
        assert status_now(actx) == SEC_E_UNSUPPORTED_FUNCTION
        assert await SspiAsyncContextRequiresNotify(actx) is True
        assert await wait_async_call(actx) == SEC_E_UNSUPPORTED_FUNCTION
        assert await ach_valid(actx) == SEC_E_OK
        await recorder.wait_for(1)
        assert [(c, d, s) for c, d, s in recorder.calls] == [(actx, "kept", SEC_E_OK)]


async def test_A9_reinit_of_a_new_context_succeeds() -> None:
    """Reinit of a never-used context returns STATUS_SUCCESS and keeps SEC_E_UNSUPPORTED_FUNCTION
    (A9)."""
    async with Emulator():
        actx = await SspiCreateAsyncContext()
        assert await SspiReinitAsyncContext(actx) == STATUS_SUCCESS
        assert STATUS_SUCCESS == 0
        assert status_now(actx) == SEC_E_UNSUPPORTED_FUNCTION


# --------------------------------------------------------------------------- A10


async def test_A10_reuse_without_reinit_is_allowed_by_default() -> None:
    """A completed context takes a new call without reinit by default (A10)."""
    async with Emulator():
        recorder = Recorder()
        actx = await completed_with_callback(recorder)
        assert await ach_valid(actx) == SEC_E_OK
        assert status_now(actx) == SEC_I_ASYNC_CALL_PENDING
        assert await result_of(actx) == SEC_E_OK
        await recorder.wait_for(1)
        assert [s for _, _, s in recorder.calls] == [SEC_E_OK]


async def test_A10_strict_reuse_without_reinit_is_refused_at_queue_time() -> None:
    """With strict=True reuse without reinit → SEC_E_INVALID_PARAMETER at queue time, context
    untouched and no callback; after reinit the call queues (A10)."""
    async with Emulator(EmulatorSettings(strict=True)):
        recorder = Recorder()
        actx = await completed_with_callback(recorder)
        cred = CredHandle()
        assert run_now(ach_valid(actx, cred)) == SEC_E_INVALID_PARAMETER
        await turn_loop()
        assert status_now(actx) == SEC_E_SECPKG_NOT_FOUND
        assert recorder.calls == []
        assert not SecIsValidHandle(cred)
        assert await SspiReinitAsyncContext(actx) == STATUS_SUCCESS
        assert await ach_valid(actx, cred) == SEC_E_OK
        assert await result_of(actx) == SEC_E_OK
        await recorder.wait_for(1)


async def test_A10_strict_refusal_is_a_named_SecurityStatus() -> None:
    """The strict-mode refusal is a SecurityStatus member so it prints by name (A10, SPEC §2)."""
    async with Emulator(EmulatorSettings(strict=True)):
        actx = await SspiCreateAsyncContext()
        assert await ach_valid(actx) == SEC_E_OK
        await result_of(actx)
        status = await ach_valid(actx)
        assert status == SEC_E_INVALID_PARAMETER
        assert isinstance(status, SecurityStatus)
        assert str(status) == "SEC_E_INVALID_PARAMETER"


# --------------------------------------------------------------------------- A11


async def test_A11_free_none_does_nothing() -> None:
    """SspiFreeAsyncContext(None) does nothing (A11)."""
    async with Emulator():
        assert await SspiFreeAsyncContext(None) is None


async def test_A11_free_pending_with_callback_raises_misuse() -> None:
    """Freeing a pending context with a callback raises SspiMisuseError saying what to do; the
    context is untouched, the call completes and notifies once, then it can be freed (A11)."""
    async with Emulator():
        actx = await SspiCreateAsyncContext()
        recorder = Recorder()
        assert await SspiSetAsyncNotifyCallback(actx, recorder, "x") == SEC_E_OK
        assert await ach_valid(actx) == SEC_E_OK
        with pytest.raises(SspiMisuseError) as info:
            await SspiFreeAsyncContext(actx)
        message = str(info.value)
        assert "SspiFreeAsyncContext" in message
        assert "callback" in message
        assert "wait_async_call" in message or "in the callback" in message
        assert isinstance(info.value, RuntimeError)
        assert status_now(actx) == SEC_I_ASYNC_CALL_PENDING
        assert await result_of(actx) == SEC_E_OK
        await recorder.wait_for(1)
        await turn_loop()
        assert len(recorder.calls) == 1
        await SspiFreeAsyncContext(actx)
        with pytest.raises(SspiMisuseError):
            await SspiGetAsyncCallStatus(actx)


async def test_A11_free_while_the_callback_is_still_due_raises_misuse() -> None:
    """Freeing a context whose call completed but whose callback has not run yet raises
    SspiMisuseError (A11, SPEC §2); the callback still runs once."""
    async with Emulator(EmulatorSettings(completion="eager")):
        actx = await SspiCreateAsyncContext()
        recorder = Recorder()
        assert await SspiSetAsyncNotifyCallback(actx, recorder, "x") == SEC_E_OK
        assert await ach_valid(actx) == SEC_E_OK
        assert status_now(actx) == SEC_E_OK  # eager: complete, callback deferred (A7)
        assert recorder.calls == []
        with pytest.raises(SspiMisuseError):
            await SspiFreeAsyncContext(actx)
        await recorder.wait_for(1)
        await turn_loop()
        assert len(recorder.calls) == 1
        await SspiFreeAsyncContext(actx)


async def test_A11_free_pending_without_callback_completes_detached() -> None:
    """After SspiDeleteSecurityContextAsync with no callback the context may be freed at once;
    the deletion still happens: the security context handle is invalid afterwards (A11, T13)."""
    async with Emulator() as emu:
        client = Side(await SspiCreateAsyncContext(), client=True)
        await client.acquire()
        await client.step(None)
        assert SecIsValidHandle(client.ctx)
        actx = await SspiCreateAsyncContext()
        assert await SspiAsyncContextRequiresNotify(actx) is False
        assert await SspiDeleteSecurityContextAsync(actx, client.ctx) == SEC_E_OK
        await SspiFreeAsyncContext(actx)  # allowed: no callback registered
        # A detached call notifies nobody, so there is no event to wait for: turn the loop until
        # the emulator has no pending call left (bounded).
        with anyio.fail_after(5):
            while emu.statistics()["pending_calls"]:  # noqa: ASYNC110 - no event exists
                await asyncio.sleep(0)
        assert DeleteSecurityContext(client.ctx) == SEC_E_INVALID_HANDLE
        with pytest.raises(SspiMisuseError):
            await SspiGetAsyncCallStatus(actx)


def _freed_uses() -> list[Any]:
    async def set_cb(a: SspiAsyncContext) -> object:
        return await SspiSetAsyncNotifyCallback(a, Recorder(), None)

    async def set_none(a: SspiAsyncContext) -> object:
        return await SspiSetAsyncNotifyCallback(a, None, None)

    async def isc_call(a: SspiAsyncContext) -> object:
        return await isc()(a, Env())

    async def asc_call(a: SspiAsyncContext) -> object:
        return await asc()(a, Env())

    uses: dict[str, Callable[[SspiAsyncContext], Awaitable[object]]] = {
        "SspiSetAsyncNotifyCallback": set_cb,
        "SspiSetAsyncNotifyCallback-None": set_none,
        "SspiAsyncContextRequiresNotify": SspiAsyncContextRequiresNotify,
        "SspiGetAsyncCallStatus": SspiGetAsyncCallStatus,
        "SspiReinitAsyncContext": SspiReinitAsyncContext,
        "SspiFreeAsyncContext": SspiFreeAsyncContext,
        "wait_async_call": wait_async_call,
        "ACH": ach_valid,
        "ISC": isc_call,
        "ASC": asc_call,
        "DSC": lambda a: SspiDeleteSecurityContextAsync(a, CtxtHandle()),
        "FCH": lambda a: SspiFreeCredentialsHandleAsync(a, CredHandle()),
    }
    return [pytest.param(use, id=name) for name, use in uses.items()]


@pytest.mark.parametrize("use", _freed_uses())
@pytest.mark.parametrize("how", ["idle", "completed", "detached"])
async def test_A11_any_use_of_a_freed_context_raises_misuse(
    use: Callable[[SspiAsyncContext], Awaitable[object]], how: str
) -> None:
    """Every function given a freed async context raises SspiMisuseError (A11)."""
    async with Emulator():
        actx = await SspiCreateAsyncContext()
        if how == "completed":
            assert await ach_valid(actx) == SEC_E_OK
            assert await result_of(actx) == SEC_E_OK
        elif how == "detached":
            assert await ach_valid(actx) == SEC_E_OK  # pending, no callback
        await SspiFreeAsyncContext(actx)
        with pytest.raises(SspiMisuseError):
            await use(actx)


async def test_A11_free_inside_the_callback_works() -> None:
    """The documented pattern — free the context inside its own notify callback — works (A11)."""
    outcome: list[object] = []
    done = asyncio.Event()

    async def cb(ctx: SspiAsyncContext, data: object) -> None:
        try:
            outcome.append(await SspiGetAsyncCallStatus(ctx))
            await SspiFreeAsyncContext(ctx)
            outcome.append("freed")
        except Exception as exc:  # recorded: an exception here would only be logged
            outcome.append(exc)
        finally:
            done.set()

    with structlog.testing.capture_logs() as logs:
        async with Emulator():
            actx = await SspiCreateAsyncContext()
            assert await SspiSetAsyncNotifyCallback(actx, cb, None) == SEC_E_OK
            assert await ach_valid(actx) == SEC_E_OK
            with anyio.fail_after(5):
                await done.wait()
            assert outcome == [SEC_E_OK, "freed"]
            with pytest.raises(SspiMisuseError):
                await SspiGetAsyncCallStatus(actx)
    assert not [e for e in logs if e["event"] == "sspi.callback.failed"]


# --------------------------------------------------------------------------- A12


async def test_A12_without_callback_the_status_goes_pending_then_result() -> None:
    """With no callback registered the call still runs: PENDING, then the result (A12)."""
    async with Emulator():
        actx = await SspiCreateAsyncContext()
        assert await SspiAsyncContextRequiresNotify(actx) is False
        assert await ach_unknown_package(actx) == SEC_E_OK
        assert status_now(actx) == SEC_I_ASYNC_CALL_PENDING
        assert await result_of(actx) == SEC_E_SECPKG_NOT_FOUND
        assert status_now(actx) == SEC_E_SECPKG_NOT_FOUND


# --------------------------------------------------------------------------- A13


async def test_A13_wait_returns_the_result_of_the_call() -> None:
    """wait_async_call waits for the pending call and returns its result (A13)."""
    async with Emulator():
        actx = await SspiCreateAsyncContext()
        assert await ach_unknown_package(actx) == SEC_E_OK
        assert status_now(actx) == SEC_I_ASYNC_CALL_PENDING
        with anyio.fail_after(5):
            assert await wait_async_call(actx) == SEC_E_SECPKG_NOT_FOUND
        # After completion it returns the result at once.
        assert run_now(wait_async_call(actx)) == SEC_E_SECPKG_NOT_FOUND


async def test_A13_wait_without_a_queued_call_returns_unsupported_function_at_once() -> None:
    """wait_async_call returns SEC_E_UNSUPPORTED_FUNCTION without waiting when nothing was
    queued, also after a reinit (A13)."""
    async with Emulator():
        actx = await SspiCreateAsyncContext()
        assert run_now(wait_async_call(actx)) == SEC_E_UNSUPPORTED_FUNCTION
        assert await ach_valid(actx) == SEC_E_OK
        assert await result_of(actx) == SEC_E_OK
        assert await SspiReinitAsyncContext(actx) == STATUS_SUCCESS
        assert run_now(wait_async_call(actx)) == SEC_E_UNSUPPORTED_FUNCTION


async def test_A13_several_waiters_get_the_same_result() -> None:
    """Every task waiting on a context gets the call's result (A13)."""
    async with Emulator():
        actx = await SspiCreateAsyncContext()
        assert await ach_unknown_package(actx) == SEC_E_OK
        with anyio.fail_after(5):
            results = await asyncio.gather(*(wait_async_call(actx) for _ in range(3)))
        assert results == [SEC_E_SECPKG_NOT_FOUND] * 3


# --------------------------------------------------------------------------- A14


class _RecordingContext:
    """Wraps a SimTLS context: records the thread each step runs on, optionally blocks on a gate."""

    def __init__(self, inner: Any, package: _OffloadedSimTLS) -> None:
        self._inner = inner
        self._package = package

    def step(self, data: bytes) -> Any:
        self._package.step_threads.append(threading.get_ident())
        if self._package.on_step is not None:
            self._package.on_step()
        gate = self._package.gate
        if gate is not None:
            self._package.gate_opened.append(gate.wait(timeout=2))
        return self._inner.step(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _OffloadedSimTLS(SimTLSPackage):
    """SimTLS flagged ``offload=True`` (as a public-key package would be), recording step threads."""

    __slots__ = ("gate", "gate_opened", "on_step", "step_threads")

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.step_threads: list[int] = []
        self.gate = gate
        self.gate_opened: list[bool] = []
        self.on_step: Callable[[], None] | None = None

    def step_started(self) -> asyncio.Event:
        """An event the loop sees set once a step has started (from any thread)."""
        event = asyncio.Event()
        loop = asyncio.get_running_loop()
        self.on_step = lambda: loop.call_soon_threadsafe(event.set)
        return event

    @property
    def offload(self) -> bool:
        return True

    def new_context(self, credential: Any, request: Any) -> Any:
        return _RecordingContext(super().new_context(credential, request), self)


def _register_offloaded(gate: threading.Event | None = None) -> tuple[str, _OffloadedSimTLS]:
    """Register a fresh offload-flagged package under a unique name (the registry is global)."""
    name = f"OffloadTest-{uuid.uuid4().hex}"
    package = _OffloadedSimTLS(gate)
    register_package(name, lambda: package, auth_model=SimTLSCred)
    return name, package


@pytest.mark.parametrize("workers", [0, 2])
async def test_A14_simtls_handshake_completes_with_and_without_crypto_workers(workers: int) -> None:
    """A SimTLS handshake through the async calls completes with crypto_workers 0 and 2 (A14)."""
    async with Emulator(EmulatorSettings(crypto_workers=workers)):
        client, server = await established()
        assert SecIsValidHandle(client.ctx)
        assert SecIsValidHandle(server.ctx)


@pytest.mark.parametrize("workers", [0, 2])
async def test_A14_offloaded_package_handshake_completes(workers: int) -> None:
    """A handshake over an offload-flagged package completes with 0 and 2 crypto workers (A14)."""
    name, package = _register_offloaded()
    async with Emulator(EmulatorSettings(crypto_workers=workers)):
        client = Side(await SspiCreateAsyncContext(), client=True)
        server = Side(await SspiCreateAsyncContext(), client=False)
        await client.acquire(package=name)
        await server.acquire(package=name)
        await handshake(client, server)
    assert len(package.step_threads) == 4


async def test_A14_offloaded_step_runs_off_the_loop_thread_with_workers() -> None:
    """With crypto_workers > 0 an offload-flagged package's step runs in a worker thread (A14)."""
    name, package = _register_offloaded()
    loop_thread = threading.get_ident()
    async with Emulator(EmulatorSettings(crypto_workers=2)):
        client = Side(await SspiCreateAsyncContext(), client=True)
        await client.acquire(package=name)
        await client.step(None)
    assert client.results == [SEC_I_CONTINUE_NEEDED]
    assert len(package.step_threads) == 1
    assert package.step_threads[0] != loop_thread


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's")
@pytest.mark.parametrize("niceness", [0, 10])
async def test_A14_crypto_workers_run_at_the_configured_niceness(niceness: int) -> None:
    """Crypto workers run ``worker_niceness`` below the loop thread's priority, so the loop is not
    made to wait for a CPU behind them (A14, loop lag); 0 leaves them as they are."""
    name, package = _register_offloaded()
    seen: list[int] = []
    package.on_step = lambda: seen.append(
        os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    )
    base = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    async with Emulator(EmulatorSettings(crypto_workers=1, worker_niceness=niceness)):
        client = Side(await SspiCreateAsyncContext(), client=True)
        await client.acquire(package=name)
        await client.step(None)
    assert seen == [min(19, base + niceness)]
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == base  # the loop's own


async def test_A14_offloaded_step_runs_on_the_loop_thread_without_workers() -> None:
    """With crypto_workers=0 an offload-flagged package's step runs inline on the loop (A14)."""
    name, package = _register_offloaded()
    loop_thread = threading.get_ident()
    async with Emulator(EmulatorSettings(crypto_workers=0)):
        client = Side(await SspiCreateAsyncContext(), client=True)
        await client.acquire(package=name)
        await client.step(None)
    assert client.results == [SEC_I_CONTINUE_NEEDED]
    assert package.step_threads == [loop_thread]


async def test_A14_offloaded_step_does_not_block_the_loop() -> None:
    """While an offloaded step runs, the loop keeps running: the step waits on a gate that only
    the loop opens, and still completes (A14)."""
    gate = threading.Event()
    name, package = _register_offloaded(gate)
    async with Emulator(EmulatorSettings(crypto_workers=2)):
        client = Side(await SspiCreateAsyncContext(), client=True)
        await client.acquire(package=name)
        started = package.step_started()
        try:
            assert await client.queue(None) == SEC_E_OK
            with anyio.fail_after(5):
                await started.wait()  # the step started in its worker
            gate.set()  # only reachable if the loop is not blocked by the step
            assert await result_of(client.actx) == SEC_I_CONTINUE_NEEDED
        finally:
            gate.set()
    assert package.gate_opened == [True]


# --------------------------------------------------------------------------- A15


@pytest.mark.parametrize("name", list(VALID_CALLS))
async def test_A15_queueing_coroutines_never_suspend(name: str) -> None:
    """A queueing coroutine runs to its return without suspending, so cancellation cannot hit it
    half way (A15)."""
    async with Emulator():
        env = Env()
        actx = await SspiCreateAsyncContext()
        assert run_now(VALID_CALLS[name](actx, env)) == SEC_E_OK
        await result_of(actx)


async def test_A15_cancel_before_the_queueing_coroutine_ran_leaves_the_context_untouched() -> None:
    """A task cancelled before its queueing coroutine ran queued nothing: status unchanged, no
    callback, out-parameters untouched, and the context takes a new call (A15)."""
    async with Emulator():
        actx = await SspiCreateAsyncContext()
        recorder = Recorder()
        assert await SspiSetAsyncNotifyCallback(actx, recorder, "x") == SEC_E_OK
        cred = CredHandle()
        task = asyncio.ensure_future(ach_valid(actx, cred))
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await turn_loop()
        assert status_now(actx) == SEC_E_UNSUPPORTED_FUNCTION
        assert recorder.calls == []
        assert not SecIsValidHandle(cred)
        assert await ach_valid(actx, cred) == SEC_E_OK
        assert await result_of(actx) == SEC_E_OK
        await recorder.wait_for(1)


async def test_A15_cancel_after_queueing_lets_the_call_complete_and_notify() -> None:
    """A task cancelled after its queueing coroutine returned leaves a queued call that completes
    and notifies exactly once (A15)."""
    async with Emulator():
        actx = await SspiCreateAsyncContext()
        recorder = Recorder()
        assert await SspiSetAsyncNotifyCallback(actx, recorder, "x") == SEC_E_OK
        queued: list[int] = []
        queued_event = asyncio.Event()
        cred = CredHandle()

        async def queue_then_block() -> None:
            queued.append(await ach_valid(actx, cred))
            queued_event.set()
            await asyncio.Event().wait()

        task = asyncio.ensure_future(queue_then_block())
        with anyio.fail_after(5):
            await queued_event.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert queued == [SEC_E_OK]
        assert await result_of(actx) == SEC_E_OK
        await recorder.wait_for(1)
        await turn_loop()
        assert len(recorder.calls) == 1
        assert SecIsValidHandle(cred)


async def test_A15_cancelled_scope_around_a_queueing_call_never_half_queues() -> None:
    """A queueing call inside an already-cancelled anyio scope either queued completely (and
    completes and notifies) or left the context untouched (A15)."""
    async with Emulator():
        actx = await SspiCreateAsyncContext()
        recorder = Recorder()
        assert await SspiSetAsyncNotifyCallback(actx, recorder, "x") == SEC_E_OK
        statuses: list[int] = []
        with anyio.CancelScope() as scope:
            scope.cancel()
            statuses.append(await ach_valid(actx))
        after = status_now(actx)
        if statuses:
            assert statuses == [SEC_E_OK]
            assert after in (SEC_I_ASYNC_CALL_PENDING, SEC_E_OK)
            assert await result_of(actx) == SEC_E_OK
            await recorder.wait_for(1)
        else:
            assert after == SEC_E_UNSUPPORTED_FUNCTION
        await turn_loop()
        assert len(recorder.calls) == len(statuses)


async def _queue_pending_calls() -> tuple[list[SspiAsyncContext], list[Recorder], list[Any]]:
    """Queue one call of each kind on its own context (with latency they stay pending): sync
    callbacks on most, an async callback on one, no callback on one."""
    env = Env()
    contexts, recorders, async_seen = [], [], []

    async def async_cb(ctx: SspiAsyncContext, data: object) -> None:
        async_seen.append((ctx, data, status_now(ctx)))

    for name, call in VALID_CALLS.items():
        actx = await SspiCreateAsyncContext()
        recorder = Recorder()
        assert await SspiSetAsyncNotifyCallback(actx, recorder, name) == SEC_E_OK
        assert await call(actx, env) == SEC_E_OK
        contexts.append(actx)
        recorders.append(recorder)
    actx = await SspiCreateAsyncContext()
    assert await SspiSetAsyncNotifyCallback(actx, async_cb, "async") == SEC_E_OK
    assert await ach_valid(actx) == SEC_E_OK
    contexts.append(actx)
    bare = await SspiCreateAsyncContext()
    assert await ach_valid(bare) == SEC_E_OK  # no callback (A12)
    contexts.append(bare)
    await turn_loop()
    for actx in contexts:
        assert status_now(actx) == SEC_I_ASYNC_CALL_PENDING
    return contexts, recorders, async_seen


@pytest.mark.parametrize("how", ["aclose", "async-with-exit"])
async def test_A15_shutdown_completes_pending_calls_with_shutdown_in_progress(how: str) -> None:
    """Shutting the emulator down completes every pending call with SEC_E_SHUTDOWN_IN_PROGRESS and
    runs each callback exactly once, without waiting for the latency (A15)."""
    emu = Emulator(EmulatorSettings(latency=10))
    with anyio.fail_after(5):
        async with emu:
            contexts, recorders, async_seen = await _queue_pending_calls()
            waiter = asyncio.ensure_future(wait_async_call(contexts[0]))
            await asyncio.sleep(0)  # one turn: the waiter starts waiting
            if how == "aclose":
                await emu.aclose()
                await emu.aclose()  # idempotent
        assert waiter.done()
        assert waiter.result() == SEC_E_SHUTDOWN_IN_PROGRESS
    await turn_loop()
    for actx in contexts:
        assert status_now(actx) == SEC_E_SHUTDOWN_IN_PROGRESS
    for recorder, name in zip(recorders, VALID_CALLS, strict=True):
        assert [(d, s) for _, d, s in recorder.calls] == [(name, SEC_E_SHUTDOWN_IN_PROGRESS)]
    assert async_seen == [(contexts[-2], "async", SEC_E_SHUTDOWN_IN_PROGRESS)]
    assert emu.statistics()["pending_calls"] == 0


async def test_A15_shutdown_runs_callbacks_that_are_due_exactly_once() -> None:
    """A call that completed before shutdown but whose callback was still due keeps its result,
    and the callback runs exactly once during shutdown (A15, A6)."""
    emu = Emulator(EmulatorSettings(completion="eager"))
    with anyio.fail_after(5):
        async with emu:
            actx = await SspiCreateAsyncContext()
            recorder = Recorder()
            assert await SspiSetAsyncNotifyCallback(actx, recorder, "due") == SEC_E_OK
            assert await ach_valid(actx) == SEC_E_OK
            assert status_now(actx) == SEC_E_OK  # complete, callback still due (A7)
            assert recorder.calls == []
            await emu.aclose()
            assert [(d, s) for _, d, s in recorder.calls] == [("due", SEC_E_OK)]
    await turn_loop()
    assert len(recorder.calls) == 1
    assert status_now(actx) == SEC_E_OK


async def test_A15_queueing_after_shutdown_returns_shutdown_in_progress() -> None:
    """After shutdown every queueing call returns SEC_E_SHUTDOWN_IN_PROGRESS, leaving the context
    untouched and notifying nobody (A15)."""
    emu = Emulator()
    async with emu:
        env = Env()
        recorder = Recorder()
        actx = await completed_with_callback(recorder)
    assert emu.closed
    for call in VALID_CALLS.values():
        assert await call(actx, env) == SEC_E_SHUTDOWN_IN_PROGRESS
    await turn_loop()
    assert status_now(actx) == SEC_E_SECPKG_NOT_FOUND
    assert recorder.calls == []
    env.assert_untouched()


@pytest.mark.parametrize("point", ["not-dispatched", "running-in-worker"])
async def test_A15_shutdown_completes_an_offloaded_call_at_any_point(point: str) -> None:
    """An offloaded call still pending when the emulator shuts down — before its work was
    dispatched, or while the step runs in a worker — completes with SEC_E_SHUTDOWN_IN_PROGRESS and
    notifies once, and shutdown returns (A15, A14). A running step is let finish: it owns the
    package context, and no worker thread may outlive the emulator."""
    gate = threading.Event()  # keeps the step (once started) in its worker until shutdown began
    name, package = _register_offloaded(gate)
    emu = Emulator(EmulatorSettings(crypto_workers=2))
    try:
        with anyio.fail_after(5):
            async with emu:
                client = Side(await SspiCreateAsyncContext(), client=True)
                await client.acquire(package=name)
                recorder = Recorder()
                assert await SspiSetAsyncNotifyCallback(client.actx, recorder, "x") == SEC_E_OK
                started = package.step_started()
                assert await client.queue(None) == SEC_E_OK
                if point == "running-in-worker":
                    await started.wait()
                    assert status_now(client.actx) == SEC_I_ASYNC_CALL_PENDING
                    closer = asyncio.ensure_future(emu.aclose())
                    await turn_loop()  # shutdown has begun while the step is blocked
                    assert not closer.done()  # it waits for the worker to come back
                    gate.set()
                    await closer
                else:
                    assert status_now(client.actx) == SEC_I_ASYNC_CALL_PENDING
                    await emu.aclose()
    finally:
        gate.set()
    await turn_loop()
    assert status_now(client.actx) == SEC_E_SHUTDOWN_IN_PROGRESS
    assert [(d, s) for _, d, s in recorder.calls] == [("x", SEC_E_SHUTDOWN_IN_PROGRESS)]
    assert emu.statistics()["pending_calls"] == 0
    assert len(package.step_threads) == (0 if point == "not-dispatched" else 1)


async def test_A15_shutdown_cancels_an_offloaded_step_still_waiting_for_a_worker() -> None:
    """With one crypto worker held busy, a second offloaded step waits in the pool's queue; at
    shutdown it is cancelled there (it never runs), both calls complete with
    SEC_E_SHUTDOWN_IN_PROGRESS and notify once, and no worker thread survives (A15, A14)."""
    gate = threading.Event()
    name, package = _register_offloaded(gate)
    emu = Emulator(EmulatorSettings(crypto_workers=1))
    try:
        with anyio.fail_after(5):
            async with emu:
                first = Side(await SspiCreateAsyncContext(), client=True)
                second = Side(await SspiCreateAsyncContext(), client=True)
                await first.acquire(package=name)
                await second.acquire(package=name)
                recorder = Recorder()
                for side, data in ((first, "first"), (second, "second")):
                    assert await SspiSetAsyncNotifyCallback(side.actx, recorder, data) == SEC_E_OK
                started = package.step_started()
                assert await first.queue(None) == SEC_E_OK
                await started.wait()  # the only worker is now held at the gate
                assert await second.queue(None) == SEC_E_OK
                await turn_loop()  # the second step is handed to the pool, behind the first
                closer = asyncio.ensure_future(emu.aclose())
                await turn_loop()
                gate.set()
                await closer
    finally:
        gate.set()
    await turn_loop()
    assert len(package.step_threads) == 1  # the queued step never ran
    assert sorted(d for _, d, _ in recorder.calls) == ["first", "second"]
    assert {s for _, _, s in recorder.calls} == {SEC_E_SHUTDOWN_IN_PROGRESS}
    # This emulator's worker was joined (other tests' default emulators may still own pools).
    assert package.step_threads[0] not in {t.ident for t in threading.enumerate()}


# --------------------------------------------------------------------------- I5


@pytest.mark.parametrize("completion", ["deferred", "eager"])
@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_I5_callback_runs_with_the_process_token_while_the_task_impersonates(
    kind: str, completion: str
) -> None:
    """A notify callback starts at the process token even if the queueing task impersonates (I5)."""
    async with Emulator(EmulatorSettings(completion=completion)):
        _, server = await established()
        assert ImpersonateSecurityContext(server.ctx) == SEC_E_OK
        assert current_token().user == "alice"
        seen: list[object] = []
        done = asyncio.Event()

        def sync_cb(ctx: SspiAsyncContext, data: object) -> None:
            seen.append(current_token())
            done.set()

        async def async_cb(ctx: SspiAsyncContext, data: object) -> None:
            seen.append(current_token())
            done.set()

        actx = await SspiCreateAsyncContext()
        cb = sync_cb if kind == "sync" else async_cb
        assert await SspiSetAsyncNotifyCallback(actx, cb, None) == SEC_E_OK
        assert await ach_valid(actx) == SEC_E_OK
        with anyio.fail_after(5):
            await done.wait()
        assert seen == [process_token()]
        assert current_token().user == "alice"  # the task's own impersonation is unchanged
        assert RevertSecurityContext(server.ctx) == SEC_E_OK
        assert current_token() == process_token()


@pytest.mark.parametrize("completion", ["deferred", "eager"])
@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_I5_impersonation_inside_a_callback_ends_with_it(kind: str, completion: str) -> None:
    """An impersonation made inside a callback does not leak into the queueing task nor into the
    next callback (I5)."""
    async with Emulator(EmulatorSettings(completion=completion)):
        _, server = await established()
        assert current_token() == process_token()
        seen: list[tuple[object, int, object]] = []
        done = asyncio.Event()

        def sync_cb(ctx: SspiAsyncContext, data: object) -> None:
            before = current_token()
            status = ImpersonateSecurityContext(server.ctx)
            seen.append((before, status, current_token()))
            done.set()

        async def async_cb(ctx: SspiAsyncContext, data: object) -> None:
            sync_cb(ctx, data)

        actx = await SspiCreateAsyncContext()
        cb = sync_cb if kind == "sync" else async_cb
        assert await SspiSetAsyncNotifyCallback(actx, cb, None) == SEC_E_OK
        for _ in range(2):
            done.clear()
            assert await ach_valid(actx) == SEC_E_OK
            with anyio.fail_after(5):
                await done.wait()
            await turn_loop()
            assert current_token() == process_token()
            assert await SspiReinitAsyncContext(actx) == STATUS_SUCCESS
        assert len(seen) == 2
        for before, status, during in seen:
            assert before == process_token()
            assert status == SEC_E_OK
            assert getattr(during, "user", None) == "alice"


@pytest.mark.parametrize("completion", ["deferred", "eager"])
async def test_I5_callback_of_a_call_queued_by_an_impersonating_callback_starts_at_process_token(
    completion: str,
) -> None:
    """A callback that impersonates and queues another call does not pass its token on: the
    second call's callback starts at the process token (I5)."""
    async with Emulator(EmulatorSettings(completion=completion)):
        _, server = await established()
        first, second = await SspiCreateAsyncContext(), await SspiCreateAsyncContext()
        seen: list[object] = []
        done = asyncio.Event()

        def second_cb(ctx: SspiAsyncContext, data: object) -> None:
            seen.append(current_token())
            done.set()

        def first_cb(ctx: SspiAsyncContext, data: object) -> None:
            seen.append(ImpersonateSecurityContext(server.ctx))
            seen.append(run_now(ach_valid(second)))  # queueing never suspends (A15)
            seen.append(getattr(current_token(), "user", None))

        assert await SspiSetAsyncNotifyCallback(first, first_cb, None) == SEC_E_OK
        assert await SspiSetAsyncNotifyCallback(second, second_cb, None) == SEC_E_OK
        assert await ach_valid(first) == SEC_E_OK
        with anyio.fail_after(5):
            await done.wait()
        assert seen == [SEC_E_OK, SEC_E_OK, "alice", process_token()]
        assert current_token() == process_token()


# --------------------------------------------------------------------------- §5 in callbacks


async def test_spec5_classic_functions_can_be_called_from_a_notify_callback() -> None:
    """The classic synchronous functions work inside a notify callback and share the emulator's
    tables (SPEC §5, A6)."""
    async with Emulator():
        results: list[object] = []
        done = asyncio.Event()

        def cb(ctx: SspiAsyncContext, cred: CredHandle) -> None:
            new_cred, new_ctx, out = CredHandle(), CtxtHandle(), out_desc()
            results.append(
                AcquireCredentialsHandle(
                    None,
                    "SimTLS",
                    SECPKG_CRED_OUTBOUND,
                    None,
                    CLIENT_AUTH,
                    None,
                    None,
                    new_cred,
                    None,
                )
            )
            results.append(
                InitializeSecurityContext(
                    cred, None, TARGET, ISC_FLAGS, 0, 0, None, 0, new_ctx, out, ULONG()
                )
            )
            results.append(bool(out.pBuffers[0].cbBuffer))
            results.append(DeleteSecurityContext(new_ctx))
            results.append(FreeCredentialsHandle(new_cred))
            done.set()

        actx = await SspiCreateAsyncContext()
        cred = CredHandle()
        assert await SspiSetAsyncNotifyCallback(actx, cb, cred) == SEC_E_OK
        assert await ach_valid(actx, cred) == SEC_E_OK  # the callback uses this credential
        with anyio.fail_after(5):
            await done.wait()
        assert results == [SEC_E_OK, SEC_I_CONTINUE_NEEDED, True, SEC_E_OK, SEC_E_OK]
