"""A COM server whose ``Begin_`` impersonates its client, signals, and keeps working.

This is "Impersonation and Asynchronous Calls" (the seed document) in running form:

* the client, alice, authenticates with SimTLS; the COM call is made through a proxy over that
  SSPI server context, so it carries alice's identity and impersonation level;
* the server's ``Begin_Report`` impersonates alice and opens a file as her, then calls
  ``ISynchronize::Signal``. The impersonation made **before** Signal stays in force (I9), but a
  new ``ImpersonateClient`` **after** Signal fails with ``RPC_E_CALL_COMPLETE`` (I8), even though
  ``Begin_`` is still running;
* ``Begin_`` keeps working as alice, then returns; the dispatcher restores the apartment's token
  (the process token, ``SERVER``).

The last lines print the timeline of the server's token before and after Signal and after
``Begin_`` returned.

Run: ``python examples/impersonation_async_call.py``
"""

from __future__ import annotations

import asyncio

from sspi_async import Emulator, SimTLSCred, acquire_credentials, handshake
from sspi_async.com import (
    GENERIC_READ,
    INFINITE,
    S_OK,
    CoGetCallContext,
    ComObject,
    IID_IServerSecurity,
    IServerSecurity,
    Runtime,
    Securable,
    ServerCallObject,
    Win32Error,
    current_token,
    hresult_name,
)

FILES = {name: Securable(name, {"alice": GENERIC_READ}) for name in ("q3.txt", "q4.txt")}
timeline: list[tuple[str, str]] = []


def say(who: str, text: str) -> None:
    print(f"{who}: {text}")


def token_now() -> str:
    token = current_token()
    return f"{token.user} ({token.level.name})" if not token.is_process else token.user


class ReportCall(ServerCallObject):
    """The server call object of ``Report`` (created per call by the call factory)."""

    async def Begin_Report(self, first: str, second: str) -> int:
        hr, ss = CoGetCallContext(IID_IServerSecurity)
        assert hr == S_OK
        assert isinstance(ss, IServerSecurity)
        say("server", f"Begin_Report starts as {token_now()}")
        say(
            "server",
            f"ImpersonateClient -> {hresult_name(ss.ImpersonateClient())}, token {token_now()}",
        )
        status, _ = FILES[first].open_as_client(GENERIC_READ)
        say("server", f"open {first} as the client -> {Win32Error(status).name}")
        timeline.append(("before Signal", current_token().user))

        say("server", f"Signal -> {hresult_name(self.sync.Signal())}")
        timeline.append(("after Signal", current_token().user))
        say("server", f"after Signal: token {token_now()}, IsImpersonating {ss.IsImpersonating()}")
        say("server", f"ImpersonateClient after Signal -> {hresult_name(ss.ImpersonateClient())}")

        await asyncio.sleep(0)  # Begin_ keeps working after Signal...
        status, _ = FILES[second].open_as_client(GENERIC_READ)  # ...still as alice
        say("server", f"still working: open {second} as the client -> {Win32Error(status).name}")
        self.report = f"report for {current_token().user}: {first}, {second}"
        say("server", "Begin_Report returns (no RevertToSelf: COM reverts)")
        return S_OK

    def Finish_Report(self) -> tuple[int, str]:
        return S_OK, self.report


class ReportServer(ComObject):
    async_calls = {"Report": ReportCall}  # noqa: RUF012 - the call factory's table


async def main() -> None:
    async with Emulator():
        secret = "correct horse battery staple"
        ccred = await acquire_credentials("SimTLS", "outbound", SimTLSCred(principal="alice", secret=secret))  # fmt: skip
        scred = await acquire_credentials("SimTLS", "inbound", SimTLSCred(principal="server", secret=secret))  # fmt: skip
        client_ctx, server_ctx = ccred.client_context("server"), scred.server_context()
        await handshake(client_ctx, server_ctx)
        say("client", "SimTLS handshake complete (client 'alice')")

        async with Runtime() as rt:
            sta = rt.sta("server")
            ref = sta.register(ReportServer())
            status, proxy = rt.proxy_for_context(ref, server_ctx.handle)
            assert proxy is not None
            say("client", f"proxy_for_context -> {status}")
            hr, call = proxy.CreateCall("Report")
            assert call is not None
            say("client", f"CreateCall -> {hresult_name(hr)}")
            say("client", f"Begin_Report -> {hresult_name(call.Begin_Report('q3.txt', 'q4.txt'))}")
            say("client", f"Wait -> {hresult_name(await call.sync.Wait(INFINITE))}")
            hr, report = await call.Finish_Report()
            say("client", f"Finish_Report -> {hresult_name(hr)} {report!r}")
            after = (await sta.run(current_token)).user
            timeline.append(("after return", after))
            say("server", f"after Begin_Report returned: token {after}")

    print("timeline:")
    for moment, user in timeline:
        print(f"  {moment:<14} {user}")


if __name__ == "__main__":
    asyncio.run(main())
