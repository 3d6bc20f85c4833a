"""Impersonation levels (I11; R13, R14): what the client grants limits what the server can do
as the client, checked against an emulated Securable."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sspi_async import AccessToken, ImpersonationLevel, set_process_token
from sspi_async.com import (
    ERROR_ACCESS_DENIED,
    ERROR_BAD_IMPERSONATION_LEVEL,
    ERROR_CANT_OPEN_ANONYMOUS,
    ERROR_NO_TOKEN,
    ERROR_SUCCESS,
    EVERYONE,
    GENERIC_READ,
    GENERIC_WRITE,
    RPC_C_AUTHN_GSS_KERBEROS,
    RPC_C_AUTHN_GSS_SCHANNEL,
    RPC_C_AUTHN_WINNT,
    RPC_C_IMP_LEVEL_ANONYMOUS,
    RPC_C_IMP_LEVEL_DEFAULT,
    RPC_C_IMP_LEVEL_DELEGATE,
    RPC_C_IMP_LEVEL_IDENTIFY,
    RPC_C_IMP_LEVEL_IMPERSONATE,
    S_OK,
    Ace,
    CoImpersonateClient,
    CoQueryClientBlanket,
    CoRevertToSelf,
    OpenedObject,
    Runtime,
    Securable,
    current_token,
    get_user_name,
    open_thread_token,
    process_token,
)
from tests.com.helpers import ALICE, FnServer

ANON = ImpersonationLevel.SecurityAnonymous
IDENT = ImpersonationLevel.SecurityIdentification
IMP = ImpersonationLevel.SecurityImpersonation
DELEG = ImpersonationLevel.SecurityDelegation

REPORT = Securable("report.txt", {"alice": GENERIC_READ, "SERVER": GENERIC_READ | GENERIC_WRITE})


async def call_as_server(body: Any, *, server_machine: str = "local", **proxy: Any) -> Any:
    """Make one synchronous call as alice with the given blanket; return what ``body`` returned
    inside the call."""
    box: list[Any] = []

    async def run(_: object) -> int:
        box.append(body())
        return S_OK

    async with Runtime() as rt:
        ref = rt.mta(server_machine).register(FnServer(run))
        proxy.setdefault("identity", ALICE)
        assert await rt.proxy(ref, **proxy).Call() == (S_OK,)
    return box[0]


def _as_client() -> dict[str, Any]:
    """Impersonate, try everything R14 lists, revert."""
    seen: dict[str, Any] = {"imp": CoImpersonateClient()}
    token = current_token()
    seen["user"], seen["level"] = token.user, token.level
    seen["check"] = REPORT.access_check(token, GENERIC_READ)
    seen["open"] = REPORT.open_as_client(GENERIC_READ)[0]
    seen["thread token"] = open_thread_token()[0]
    seen["thread token, not as self"] = open_thread_token(open_as_self=False)[0]
    seen["user name"] = get_user_name()
    seen["blanket has no level"] = not hasattr(CoQueryClientBlanket()[1], "imp_level")
    assert CoRevertToSelf() == S_OK
    return seen


ROWS = {
    # requested level: (token level, access check, open, OpenThreadToken, as-self=False, name)
    RPC_C_IMP_LEVEL_DEFAULT: (IDENT, 0, 1346, 0, 1346, (1346, None)),
    RPC_C_IMP_LEVEL_ANONYMOUS: (ANON, 5, 1346, 1347, 1347, (1347, None)),
    RPC_C_IMP_LEVEL_IDENTIFY: (IDENT, 0, 1346, 0, 1346, (1346, None)),
    RPC_C_IMP_LEVEL_IMPERSONATE: (IMP, 0, 0, 0, 0, (0, "alice")),
    RPC_C_IMP_LEVEL_DELEGATE: (DELEG, 0, 0, 0, 0, (0, "alice")),
}


@pytest.mark.parametrize("imp_level", list(ROWS))
async def test_I11_the_clients_level_limits_the_token(imp_level: int) -> None:
    """I11/R13/R14: DEFAULT resolves to IDENTIFY; ImpersonateClient succeeds at every level;
    access checks work from IDENTIFY (anonymous is ANONYMOUS LOGON, denied here), opening as the
    client needs IMPERSONATE (1346), an anonymous token cannot be opened (1347)."""
    level, check, opened, thread, not_self, name = ROWS[imp_level]
    seen = await call_as_server(_as_client, imp_level=imp_level)
    assert seen["imp"] == S_OK
    assert seen["level"] is level
    assert seen["user"] == ("NT AUTHORITY\\ANONYMOUS LOGON" if level is ANON else "alice")
    assert seen["check"] == check
    assert seen["open"] == opened
    assert (seen["thread token"], seen["thread token, not as self"]) == (thread, not_self)
    assert seen["user name"] == name
    assert seen["blanket has no level"]


CASES = {
    "anonymous promoted across machines": (RPC_C_IMP_LEVEL_ANONYMOUS, RPC_C_AUTHN_WINNT, "far", IDENT),
    "anonymous kept on the machine": (RPC_C_IMP_LEVEL_ANONYMOUS, RPC_C_AUTHN_WINNT, "local", ANON),
    "Schannel caps delegate": (RPC_C_IMP_LEVEL_DELEGATE, RPC_C_AUTHN_GSS_SCHANNEL, "local", IMP),
    "NTLM delegates only on the machine": (RPC_C_IMP_LEVEL_DELEGATE, RPC_C_AUTHN_WINNT, "far", IMP),
    "NTLM delegate on the machine": (RPC_C_IMP_LEVEL_DELEGATE, RPC_C_AUTHN_WINNT, "local", DELEG),
    "Kerberos delegates across machines": (RPC_C_IMP_LEVEL_DELEGATE, RPC_C_AUTHN_GSS_KERBEROS, "far", DELEG),
}  # fmt: skip


@pytest.mark.parametrize("case", list(CASES))
async def test_R13_transport_and_package_limits(case: str) -> None:
    """R13: the token level is the lowest of the requested level, the transport limit and the
    package limit."""
    imp_level, svc, client_machine, level = CASES[case]
    seen = await call_as_server(
        _as_client, imp_level=imp_level, authn_svc=svc, client_machine=client_machine
    )
    assert (seen["imp"], seen["level"]) == (S_OK, level)


@pytest.fixture
def unprivileged_process() -> Iterator[AccessToken]:
    """A process token without SeImpersonatePrivilege (restored afterwards)."""
    before = process_token()
    token = AccessToken("svc-lowpriv", is_process=True)
    set_process_token(token)
    try:
        yield token
    finally:
        set_process_token(before)


async def test_R13_without_SeImpersonatePrivilege_another_user_is_identify_only(
    unprivileged_process: AccessToken,
) -> None:
    """R13: without the privilege a different user gets IDENTIFY (ImpersonateClient still
    S_OK); the process's own account keeps IMPERSONATE."""
    other = await call_as_server(_as_client, imp_level=RPC_C_IMP_LEVEL_IMPERSONATE)
    assert (other["imp"], other["level"], other["open"]) == (S_OK, IDENT, 1346)
    me = AccessToken(unprivileged_process.user)
    own = await call_as_server(_as_client, imp_level=RPC_C_IMP_LEVEL_IMPERSONATE, identity=me)
    assert (own["imp"], own["level"]) == (S_OK, IMP)


def test_R14_dacl_is_evaluated_in_order_with_denies_and_groups() -> None:
    """R14: allows accumulate across ACEs; a deny for a bit not yet granted denies; Everyone
    matches every non-anonymous token; the primary (process) token opens what it is allowed."""
    staff = AccessToken("bob", groups=("Staff",), level=IDENT)
    dacl = [
        Ace("mallory", GENERIC_READ, allow=False),
        Ace("Staff", GENERIC_READ),
        Ace("bob", GENERIC_WRITE, allow=False),
        Ace(EVERYONE, GENERIC_WRITE),
    ]
    thing = Securable("thing", dacl)
    assert thing.access_check(staff, GENERIC_READ) == ERROR_SUCCESS
    assert thing.access_check(staff, GENERIC_READ | GENERIC_WRITE) == ERROR_ACCESS_DENIED
    assert thing.access_check(AccessToken("carol"), GENERIC_WRITE) == ERROR_SUCCESS
    assert thing.access_check(AccessToken("mallory", groups=("Staff",)), GENERIC_READ) == 5
    anonymous = AccessToken("NT AUTHORITY\\ANONYMOUS LOGON", level=ANON)
    assert thing.access_check(anonymous, GENERIC_WRITE) == ERROR_ACCESS_DENIED
    status, handle = REPORT.open_as_client(GENERIC_WRITE)  # no impersonation: the process
    assert (status, handle) == (ERROR_SUCCESS, OpenedObject("report.txt", "SERVER", GENERIC_WRITE))
    assert open_thread_token() == (ERROR_NO_TOKEN, None)
    assert get_user_name() == (ERROR_SUCCESS, "SERVER")
    with pytest.raises(TypeError, match="a DACL holds Ace entries"):
        Securable("bad", [("alice", 1)])  # type: ignore[list-item]


async def test_R14_opening_as_an_impersonated_client_obeys_the_dacl() -> None:
    """R14: at IMPERSONATE the object opens as the client — with the client's rights, not the
    server's (alice may read, not write)."""

    def body() -> tuple[Any, ...]:
        assert CoImpersonateClient() == S_OK
        result = (REPORT.open_as_client(GENERIC_READ), REPORT.open_as_client(GENERIC_WRITE))
        assert CoRevertToSelf() == S_OK
        return result

    read, write = await call_as_server(body, imp_level=RPC_C_IMP_LEVEL_IMPERSONATE)
    assert read == (ERROR_SUCCESS, OpenedObject("report.txt", "alice", GENERIC_READ))
    assert write == (ERROR_ACCESS_DENIED, None)
    assert ERROR_BAD_IMPERSONATION_LEVEL == 1346
    assert ERROR_CANT_OPEN_ANONYMOUS == 1347
