"""SPEC §11 for COM: ``com.call.dispatched/signaled/returned`` and ``sspi.impersonation.begin/end``
with call ids and user names, never secrets, and nothing at all while structlog is unconfigured."""

from __future__ import annotations

from typing import Any

import pytest
import structlog

from sspi_async.com import (
    S_OK,
    CoImpersonateClient,
    CoRevertToSelf,
    Runtime,
)
from tests.com.helpers import FnServer, begin, serve, simtls_pair


async def _impersonate_signal_revert(co: Any) -> int:
    assert CoImpersonateClient() == S_OK
    co.sync.Signal()
    return CoRevertToSelf()


async def test_events_of_one_asynchronous_call_share_its_call_id() -> None:
    """§11: one call logs dispatched → impersonation begin → signaled → end → returned, each
    with the call id and the client's user; returned says how it ended and the token after."""
    with structlog.testing.capture_logs() as logs:
        async with serve(_impersonate_signal_revert) as s:
            call = begin(s.proxy)
            assert await call.Finish() == (S_OK,)
    events = [e for e in logs if e["event"].startswith(("com.", "sspi.impersonation"))]
    assert [e["event"] for e in events] == [
        "com.call.dispatched",
        "sspi.impersonation.begin",
        "com.call.signaled",
        "sspi.impersonation.end",
        "com.call.returned",
    ]
    assert {e["call_id"] for e in events} == {call.call_id}
    assert {e["user"] for e in events} == {"alice"}
    dispatched, begin_, _, _, returned = events
    assert (dispatched["method"], dispatched["nested"], dispatched["asynchronous"]) == (
        "Job",
        False,
        True,
    )
    assert (begin_["via"], begin_["level"]) == ("com", "SecurityImpersonation")
    assert (returned["outcome"], returned["hresult"], returned["token"]) == (
        "returned",
        "S_OK",
        "SERVER",
    )


async def test_no_secret_reaches_the_log() -> None:
    """§11: the SimTLS secret and the session never appear in any event of a bridged call."""

    async def body(_: object) -> int:
        assert CoImpersonateClient() == S_OK
        return S_OK

    with structlog.testing.capture_logs() as logs:
        async with simtls_pair("carol") as pair, Runtime() as rt:
            ref = rt.mta().register(FnServer(body))
            _, proxy = rt.proxy_for_context(ref, pair.server.handle)
            assert proxy is not None
            assert await proxy.Call() == (S_OK,)
    text = repr(logs)
    assert "carol" in text  # the user name is logged...
    assert "correct horse" not in text  # ...the secret never


async def test_nothing_is_printed_while_structlog_is_unconfigured(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """_core/_log.py: until the application configures structlog, COM logs nothing."""
    async with serve(_impersonate_signal_revert) as s:
        assert await begin(s.proxy).Finish() == (S_OK,)
    assert capsys.readouterr().out == ""
