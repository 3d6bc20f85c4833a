"""Cloaking (I13; R16, R17): which identity a server's outgoing call presents downstream, and
the limits on presenting an impersonation token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from sspi_async import AccessToken, ImpersonationLevel
from sspi_async.com import (
    E_INVALIDARG,
    EOAC_DYNAMIC_CLOAKING,
    EOAC_NONE,
    EOAC_STATIC_CLOAKING,
    RPC_C_AUTHN_GSS_KERBEROS,
    RPC_C_AUTHN_GSS_SCHANNEL,
    RPC_C_IMP_LEVEL_DELEGATE,
    RPC_C_IMP_LEVEL_IDENTIFY,
    RPC_C_IMP_LEVEL_IMPERSONATE,
    RPC_E_ACCESS_DENIED,
    S_OK,
    ClientBlanket,
    CoImpersonateClient,
    ComObject,
    Proxy,
    Runtime,
    current_token,
    process_token,
)
from tests.com.helpers import ALICE, BOB, CAROL

P = process_token().user
IMP = ImpersonationLevel.SecurityImpersonation


class Downstream(ComObject):
    """C: reports who called it (impersonating the caller)."""

    async def Who(self) -> tuple[int, str, ImpersonationLevel, int]:
        assert CoImpersonateClient() == S_OK
        token = current_token()
        return S_OK, token.user, token.level, token.hops


class Relay(ComObject):
    """B: optionally impersonates its caller, then calls C through ``self.c``."""

    def __init__(self) -> None:
        self.c: Proxy | None = None

    async def Relay(self, impersonate: bool) -> tuple[Any, ...]:
        if impersonate:
            assert CoImpersonateClient() == S_OK
        assert self.c is not None
        return await self.c.call("Who")


@dataclass
class Chain:
    """A client → B → C chain; ``call(client, impersonate)`` returns what C saw."""

    rt: Runtime
    relay: Relay
    b: Any

    async def call(self, identity: AccessToken, impersonate: bool = True, **proxy: Any) -> Any:
        proxy.setdefault("imp_level", RPC_C_IMP_LEVEL_IMPERSONATE)
        client = self.rt.proxy(self.b, identity=identity, **proxy)
        assert client.SetBlanket(dwCapabilities=EOAC_NONE) == S_OK  # the client does not cloak
        return await client.call("Relay", impersonate)  # B returns C's reply as its own


async def chain(
    rt: Runtime,
    *,
    capabilities: int = EOAC_NONE,
    b_machine: str = "local",
    c_machine: str = "local",
    to_c: dict[str, Any] | None = None,
) -> Chain:
    """B in the MTA of ``b_machine`` with a proxy to C in ``c_machine``; process-wide
    capabilities as given (CoInitializeSecurity, R16: static captures on first call)."""
    assert (
        rt.initialize_security(capabilities=capabilities, imp_level=RPC_C_IMP_LEVEL_IMPERSONATE)
        == S_OK
    )
    relay = Relay()
    b = rt.mta(b_machine).register(relay)
    relay.c = rt.proxy(rt.mta(c_machine).register(Downstream()), **(to_c or {}))
    return Chain(rt, relay, b)


def _user(seen: Any) -> str:
    hr, user, _level, _hops = seen
    assert hr == S_OK
    return str(user)


async def test_R16_no_cloaking_presents_the_process_or_the_explicit_identity() -> None:
    """R16 rows 1: without cloaking C sees B's process identity even while B impersonates, or
    the proxy's explicit identity."""
    async with Runtime() as rt:
        ch = await chain(rt)
        assert _user(await ch.call(ALICE)) == P
        ch.relay.c = rt.proxy(ch.relay.c.ref, identity=CAROL)  # type: ignore[union-attr]
        assert _user(await ch.call(ALICE)) == "carol"


async def test_R16_static_cloaking_fixes_the_identity_on_the_first_call() -> None:
    """R16 rows 2, 3, 5: static cloaking (CoInitializeSecurity) captures the thread token on the
    proxy's first call; later calls present it whoever is impersonated, or nobody."""
    async with Runtime() as rt:
        ch = await chain(rt, capabilities=EOAC_STATIC_CLOAKING)
        assert _user(await ch.call(ALICE)) == "alice"
        assert _user(await ch.call(BOB)) == "alice"
        assert _user(await ch.call(BOB, impersonate=False)) == "alice"


async def test_R16_static_cloaking_without_a_thread_token_fixes_the_process_token() -> None:
    """R16 rows 4, 5: a first call made while not impersonating fixes the process token."""
    async with Runtime() as rt:
        ch = await chain(rt, capabilities=EOAC_STATIC_CLOAKING)
        assert _user(await ch.call(ALICE, impersonate=False)) == P
        assert _user(await ch.call(ALICE)) == P


async def test_R16_static_cloaking_set_by_SetBlanket_captures_at_that_moment() -> None:
    """R16: static cloaking set through SetBlanket captures the thread token when SetBlanket is
    called (here: while B impersonates carol), not on the first call."""
    async with Runtime() as rt:
        ch = await chain(rt)

        class Configure(ComObject):
            async def Set(self) -> int:
                assert CoImpersonateClient() == S_OK
                assert ch.relay.c is not None
                return ch.relay.c.SetBlanket(dwCapabilities=EOAC_STATIC_CLOAKING)

        setter = rt.proxy(rt.mta().register(Configure()), identity=CAROL, imp_level=3)
        assert await setter.Set() == (S_OK,)
        assert _user(await ch.call(ALICE)) == "carol"
        assert _user(await ch.call(BOB, impersonate=False)) == "carol"


async def test_I13_R16_dynamic_cloaking_presents_the_thread_token_of_every_call() -> None:
    """R16 rows 6, 7: dynamic cloaking re-reads the thread token on each call."""
    async with Runtime() as rt:
        ch = await chain(rt, capabilities=EOAC_DYNAMIC_CLOAKING)
        assert _user(await ch.call(ALICE)) == "alice"
        assert _user(await ch.call(BOB)) == "bob"
        assert _user(await ch.call(ALICE, impersonate=False)) == P


async def test_I13_R17_both_flags_or_cloaking_with_Schannel_is_E_INVALIDARG() -> None:
    """R17: CoInitializeSecurity and SetBlanket refuse both cloaking flags, or any cloaking flag
    with Schannel, with E_INVALIDARG and change nothing; proxy() raises for such a blanket."""
    both = EOAC_STATIC_CLOAKING | EOAC_DYNAMIC_CLOAKING
    async with Runtime() as rt:
        assert rt.initialize_security(capabilities=both) == E_INVALIDARG
        assert (
            rt.initialize_security(
                authn_svc=RPC_C_AUTHN_GSS_SCHANNEL, capabilities=EOAC_DYNAMIC_CLOAKING
            )
            == E_INVALIDARG
        )
        assert rt.initialize_security(imp_level=9) == E_INVALIDARG
        ref = rt.mta().register(Downstream())
        proxy = rt.proxy(ref)
        before = proxy.QueryBlanket()
        assert proxy.SetBlanket(dwCapabilities=both) == E_INVALIDARG
        tls = rt.proxy(ref, authn_svc=RPC_C_AUTHN_GSS_SCHANNEL)
        assert tls.SetBlanket(dwCapabilities=EOAC_STATIC_CLOAKING) == E_INVALIDARG
        assert proxy.QueryBlanket() == before
        assert proxy.SetBlanket(dwCapabilities=EOAC_DYNAMIC_CLOAKING) == S_OK
        assert proxy.QueryBlanket() == (S_OK, ClientBlanket(capabilities=EOAC_DYNAMIC_CLOAKING))
        with pytest.raises(ValueError, match="invalid blanket"):
            rt.proxy(ref, authn_level=42)


async def test_R17_an_identify_token_cannot_be_cloaked() -> None:
    """R17: a server impersonating at IDENTIFY cannot make a cloaked call (RPC_E_ACCESS_DENIED,
    choice of code); without impersonating it presents its process token."""
    async with Runtime() as rt:
        ch = await chain(rt, capabilities=EOAC_DYNAMIC_CLOAKING)
        assert await ch.call(ALICE, imp_level=RPC_C_IMP_LEVEL_IDENTIFY) == (RPC_E_ACCESS_DENIED,)
        seen = await ch.call(ALICE, impersonate=False, imp_level=RPC_C_IMP_LEVEL_IDENTIFY)
        assert _user(seen) == P


@pytest.mark.parametrize(
    ("imp_level", "c_machine", "expected"),
    [
        (RPC_C_IMP_LEVEL_IMPERSONATE, "m2", ("alice", IMP, 1)),  # B and C share a machine
        (RPC_C_IMP_LEVEL_IMPERSONATE, "m1", (RPC_E_ACCESS_DENIED,)),  # a second boundary
        (RPC_C_IMP_LEVEL_DELEGATE, "m1", ("alice", ImpersonationLevel.SecurityDelegation, 2)),
        (RPC_C_IMP_LEVEL_DELEGATE, "m3", ("alice", ImpersonationLevel.SecurityDelegation, 2)),
    ],
)
async def test_R17_impersonate_level_crosses_one_machine_boundary(
    imp_level: int, c_machine: str, expected: tuple[Any, ...]
) -> None:
    """R17: the client on m1 calls B on m2; B cloaks. At IMPERSONATE, C on B's machine works and
    C back on m1 fails (two boundaries); at DELEGATE (Kerberos) any number of hops works."""
    kerberos = {"authn_svc": RPC_C_AUTHN_GSS_KERBEROS, "imp_level": RPC_C_IMP_LEVEL_DELEGATE}
    async with Runtime() as rt:
        ch = await chain(
            rt,
            capabilities=EOAC_DYNAMIC_CLOAKING,
            b_machine="m2",
            c_machine=c_machine,
            to_c=kerberos,
        )
        seen = await ch.call(
            ALICE, imp_level=imp_level, authn_svc=RPC_C_AUTHN_GSS_KERBEROS, client_machine="m1"
        )
    if expected[0] == RPC_E_ACCESS_DENIED:
        assert seen == expected
    else:
        hr, user, level, hops = seen
        assert (hr, user, level, hops) == (S_OK, *expected)
