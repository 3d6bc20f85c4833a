"""The Microsoft "Asynchronous Contexts" sample, ported line by line to sspi_async.

Source: learn.microsoft.com, "Asynchronous Contexts", section "API Sample" (the C++ is quoted in
``shared/reference/seed-documents.md``). The two functions below keep the sample's names, its
parameters, its comments (adapted) and its asserts, in the same order:

* ``AsyncCallCompleted(AsyncContext, pCallbackData)`` — the notify callback: reads the result with
  ``SspiGetAsyncCallStatus``, asserts ``SEC_E_OK``, performs its actions and frees the async
  context **inside** the callback.
* ``DoASCCall(phCred, phContext, pInput, pOutput, pfContextAttr, ptsExpiry)`` — creates the async
  context, registers the callback, queues ``SspiAcceptSecurityContextAsync`` and asserts the
  queueing status and the status right after queueing.

Differences forced by Python, each marked ``# Python:`` below: every ``Sspi*`` function is a
coroutine (``await`` it), so the callback is an ``async def`` (the emulator runs it as a task);
``pCallbackData`` is a small object instead of a ``PVOID``; and the callback sets an
``asyncio.Event`` so that ``main()`` can keep the event loop alive until it ran (the C++ process
simply keeps running). Nothing sleeps.

Setting the scene honestly
--------------------------
The sample's callback asserts that the ASC call completed with ``SEC_E_OK``. A *first* ASC on a
ClientHello never does: it returns ``SEC_I_CONTINUE_NEEDED`` (T8). And the C++ passes
``phContext`` both as ``phContext`` and as ``phNewContext``: on a first call ``phContext`` is NULL,
so ``phNewContext`` would be NULL too, which the emulator (like the API contract) refuses at queue
time with ``SEC_E_INVALID_HANDLE`` (A4) — Windows would have nowhere to write the new handle.
Both statements hold exactly for the server's **last** step, and nowhere else: there ``phContext``
is the server's existing context and passing it again as ``phNewContext`` is what Schannel
requires anyway (T7: on a continuation ``phNewContext`` equals ``phContext``). So ``main()`` first
runs the earlier handshake steps (client ClientHello, server flight, client Finished) with the
classic synchronous functions, then calls ``DoASCCall`` for the server's final step on the
client's Finished — the ASC call that completes with ``SEC_E_OK``. (For a first call you would
pass ``phContext=None`` and a fresh ``CtxtHandle()`` as ``phNewContext``.)

Run: ``python examples/async_contexts_sample.py``
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from sspi_async import Emulator, SimTLSCred, SspiAsyncContext
from sspi_async.sspi import (
    ASC_REQ_CONNECTION,
    SEC_E_OK,
    SEC_I_ASYNC_CALL_PENDING,
    SEC_I_CONTINUE_NEEDED,
    SECBUFFER_EMPTY,
    SECBUFFER_TOKEN,
    SECPKG_ATTR_NAMES,
    SECPKG_CRED_INBOUND,
    SECPKG_CRED_OUTBOUND,
    SECURITY_NATIVE_DREP,
    ULONG,
    AcceptSecurityContext,
    AcquireCredentialsHandle,
    CredHandle,
    CtxtHandle,
    DeleteSecurityContext,
    FreeCredentialsHandle,
    InitializeSecurityContext,
    QueryContextAttributes,
    QuerySecurityPackageInfo,
    SecBuffer,
    SecBufferDesc,
    SecPkgContext_Names,
    SspiAcceptSecurityContextAsync,
    SspiCreateAsyncContext,
    SspiFreeAsyncContext,
    SspiGetAsyncCallStatus,
    SspiSetAsyncNotifyCallback,
    TimeStamp,
)

PACKAGE = "SimTLS"
TARGET = "server.example"


@dataclass
class CallbackData:
    """``pCallbackData``: the state the callback needs (the sample's "Setup any state needed
    for callback")."""

    context: CtxtHandle  # phContext: the server context being established
    output: SecBufferDesc  # pOutput: where the final token (if any) lands
    attributes: ULONG  # pfContextAttr
    # Python: set by the callback so that main() knows it ran.
    completed: asyncio.Event = field(default_factory=asyncio.Event)
    result: int | None = None


async def AsyncCallCompleted(AsyncContext: SspiAsyncContext, pCallbackData: CallbackData) -> None:
    """The notify callback (``SspiAsyncNotifyCallback``) of the sample."""
    try:
        # Get result.
        Status = await SspiGetAsyncCallStatus(AsyncContext)
        print(f"AsyncCallCompleted: SspiGetAsyncCallStatus -> {Status}")
        assert Status == SEC_E_OK, Status

        # *Perform any needed callback actions, use pCallbackData if needed*
        pCallbackData.result = Status
        _, names = QueryContextAttributes(pCallbackData.context, SECPKG_ATTR_NAMES)
        assert isinstance(names, SecPkgContext_Names)
        print(
            f"AsyncCallCompleted: server context established, attributes "
            f"0x{pCallbackData.attributes.value:x}, client {names.sUserName!r}, "
            f"output token {pCallbackData.output.pBuffers[0].cbBuffer} bytes"
        )

        # Clean up async context when done.
        await SspiFreeAsyncContext(AsyncContext)
        print("AsyncCallCompleted: SspiFreeAsyncContext done")
    finally:
        # Python: wake main(), which keeps the event loop running until the callback ran.
        pCallbackData.completed.set()


async def DoASCCall(
    phCred: CredHandle | None,
    phContext: CtxtHandle | None,
    pInput: SecBufferDesc | None,
    pOutput: SecBufferDesc | None,
    pfContextAttr: ULONG,
    ptsExpiry: TimeStamp | None,
) -> CallbackData:
    """Queue one AcceptSecurityContext, as the sample does.

    Python: returns the callback data, so the caller can wait for the callback (the C++ returns
    void and lets the process run on).
    """
    # Create context for async call
    AsyncContext = await SspiCreateAsyncContext()

    # Check for out of memory condition
    # (Python: creation raises MemoryError instead of returning NULL; kept for the line-by-line port.)
    assert AsyncContext

    # Register callback that continues execution upon completion.
    # (Python: the callback's actions read the context and the output, so this port needs both.)
    assert phContext is not None
    assert pOutput is not None
    # Setup any state needed for callback.
    pCallbackData = CallbackData(phContext, pOutput, pfContextAttr)
    Status = await SspiSetAsyncNotifyCallback(AsyncContext, AsyncCallCompleted, pCallbackData)
    print(f"DoASCCall: SspiSetAsyncNotifyCallback -> {Status}")
    assert Status == SEC_E_OK, Status

    # Queue asynchronous call.
    # As in the C++, phContext is passed again as phNewContext: this is a continuation, so the
    # new context handle is the one we already hold (T7).
    Status = await SspiAcceptSecurityContextAsync(
        AsyncContext,
        phCred,
        phContext,
        pInput,
        ASC_REQ_CONNECTION,
        SECURITY_NATIVE_DREP,
        phContext,
        pOutput,
        pfContextAttr,
        ptsExpiry,
    )

    # All async functions return the status of queueing the async call,
    # not the call's result.
    print(f"DoASCCall: SspiAcceptSecurityContextAsync queued -> {Status}")
    assert Status == SEC_E_OK, Status

    # At this point, the call can be pending or complete.
    # If complete, the result or error is returned.
    # For this example, we assume if it finished, it finished with SEC_E_OK.
    # (The emulator's default completion="deferred" makes it pending here; "eager" may finish.)
    Status = await SspiGetAsyncCallStatus(AsyncContext)
    print(f"DoASCCall: SspiGetAsyncCallStatus -> {Status}")
    assert Status in (SEC_I_ASYNC_CALL_PENDING, SEC_E_OK), Status

    # Execution will continue in the callback upon completion
    return pCallbackData


# --------------------------------------------------------------------------- the scene


def token_output(cbMaxToken: int) -> SecBufferDesc:
    """One caller-allocated TOKEN buffer of the package's maximum token size (no ALLOCATE_MEMORY,
    as in the sample's flags)."""
    return SecBufferDesc([SecBuffer(SECBUFFER_TOKEN, cbMaxToken, bytearray(cbMaxToken))])


def token_input(token: bytes) -> SecBufferDesc:
    """A received token as Schannel input: ``[TOKEN, EMPTY]``."""
    return SecBufferDesc([SecBuffer.of(SECBUFFER_TOKEN, token), SecBuffer(SECBUFFER_EMPTY)])


async def main() -> None:
    """Run the handshake up to the server's final step, then the sample for that step."""
    async with Emulator():
        _, info = QuerySecurityPackageInfo(PACKAGE)
        assert info is not None
        client_cred, server_cred = CredHandle(), CredHandle()
        client_auth = SimTLSCred(principal="alice", secret="sample-secret")
        server_auth = SimTLSCred(principal=TARGET, secret="sample-secret")
        for cred, use, auth in (
            (client_cred, SECPKG_CRED_OUTBOUND, client_auth),
            (server_cred, SECPKG_CRED_INBOUND, server_auth),
        ):
            status = AcquireCredentialsHandle(
                None, PACKAGE, use, None, auth, None, None, cred, None
            )
            assert status == SEC_E_OK, status

        # The scene: the handshake steps before the server's last one (classic functions).
        client_ctx, server_ctx = CtxtHandle(), CtxtHandle()
        client_attr, server_attr, expiry = ULONG(), ULONG(), TimeStamp()
        out = token_output(info.cbMaxToken)
        status = InitializeSecurityContext(
            client_cred,
            None,
            TARGET,
            0,
            0,
            SECURITY_NATIVE_DREP,
            None,
            0,
            client_ctx,
            out,
            client_attr,
            expiry,
        )
        hello = out.pBuffers[0].data()
        print(
            f"scene: client InitializeSecurityContext -> {status} (ClientHello, {len(hello)} bytes)"
        )
        assert status == SEC_I_CONTINUE_NEEDED, status

        out = token_output(info.cbMaxToken)
        status = AcceptSecurityContext(
            server_cred,
            None,
            token_input(hello),
            ASC_REQ_CONNECTION,
            SECURITY_NATIVE_DREP,
            server_ctx,
            out,
            server_attr,
            expiry,
        )
        flight = out.pBuffers[0].data()
        print(
            f"scene: server AcceptSecurityContext -> {status} (server flight, {len(flight)} bytes)"
        )
        assert status == SEC_I_CONTINUE_NEEDED, status

        out = token_output(info.cbMaxToken)
        status = InitializeSecurityContext(
            client_cred,
            client_ctx,
            TARGET,
            0,
            0,
            SECURITY_NATIVE_DREP,
            token_input(flight),
            0,
            client_ctx,
            out,
            client_attr,
            expiry,
        )
        finished = out.pBuffers[0].data()
        print(
            f"scene: client InitializeSecurityContext -> {status} (Finished, {len(finished)} bytes)"
        )
        assert status == SEC_E_OK, status

        # The sample: the server's final AcceptSecurityContext, queued asynchronously.
        pCallbackData = await DoASCCall(
            server_cred,
            server_ctx,
            token_input(finished),
            token_output(info.cbMaxToken),
            server_attr,
            expiry,
        )
        await pCallbackData.completed.wait()
        assert pCallbackData.result == SEC_E_OK, "the callback did not complete as expected"

        for ctx in (client_ctx, server_ctx):
            DeleteSecurityContext(ctx)
        for cred in (client_cred, server_cred):
            FreeCredentialsHandle(cred)
        print("sample complete: both sides established, async context freed in its callback")


if __name__ == "__main__":
    asyncio.run(main())
