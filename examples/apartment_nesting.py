"""The A/B/C/D case of ``IServerSecurity::ImpersonateClient``, in both nesting modes.

"Traditionally, impersonation information is not nested: the last call to any impersonation
mechanism overrides any previous impersonation. However, in the apartment model, impersonation
is maintained during nested calls. Thus if the server A receives a call from B, impersonates,
calls C, receives a call from D, impersonates, reverts, and receives the reply from C, the
impersonation token will be set back to B, not A."

A is a server object in a single-threaded apartment (one asyncio task). While A waits for C's
reply, the STA runs the COM modal loop, so D's call is dispatched *nested* in A's own task.
A's own identity is the process token, named ``A`` here.

* ``nesting="apartment"`` (the default, I10): D's call starts at A's own token, and when it
  returns B's impersonation comes back: after C's reply A's token is **B**.
* ``nesting="traditional"`` (R11): one slot, last one wins: D's call starts with B's token, D's
  impersonation replaces it, D's revert leaves A's own token, and after C's reply A's token is
  **A**.

Run: ``python examples/apartment_nesting.py``
"""

from __future__ import annotations

import asyncio

from sspi_async import AccessToken, set_process_token
from sspi_async.com import (
    RPC_C_IMP_LEVEL_IMPERSONATE,
    S_OK,
    CoImpersonateClient,
    ComObject,
    CoRevertToSelf,
    Proxy,
    Runtime,
    current_token,
)


def step(text: str) -> None:
    print(f"  {text:<28} token {current_token().user}")


class C(ComObject):
    """C answers once told to (after D's call to A has returned)."""

    def __init__(self) -> None:
        self.called = asyncio.Event()
        self.answer = asyncio.Event()

    async def Work(self) -> int:
        self.called.set()
        await self.answer.wait()
        return S_OK


class A(ComObject):
    def __init__(self) -> None:
        self.c: Proxy | None = None
        self.after_c = ""

    async def FromB(self) -> int:
        step("A receives B's call")
        CoImpersonateClient()
        step("A impersonates B")
        print("  A calls C and waits (the STA pumps incoming calls meanwhile)")
        assert self.c is not None
        await self.c.call("Work")
        step("C replies")
        self.after_c = current_token().user
        return S_OK

    async def FromD(self) -> int:
        step("D's call, nested in A")
        CoImpersonateClient()
        step("A impersonates D")
        CoRevertToSelf()
        step("A reverts")
        return S_OK


async def case(nesting: str) -> str:
    """Play the case; return A's token after C's reply."""
    print(f'nesting="{nesting}"')
    async with Runtime(nesting=nesting) as rt:  # type: ignore[arg-type]
        a, c = A(), C()
        a_ref = rt.sta("A").register(a)
        a.c = rt.proxy(rt.mta().register(c))
        b = rt.proxy(a_ref, identity=AccessToken("B"), imp_level=RPC_C_IMP_LEVEL_IMPERSONATE)
        d = rt.proxy(a_ref, identity=AccessToken("D"), imp_level=RPC_C_IMP_LEVEL_IMPERSONATE)
        b_call = asyncio.create_task(b.FromB())
        await c.called.wait()
        await d.FromD()
        print("  D's call returns")
        c.answer.set()
        await b_call
    print(f"  result: after C's reply A's token is {a.after_c}")
    return a.after_c


async def main() -> None:
    set_process_token(AccessToken("A", is_process=True, privileges=("SeImpersonatePrivilege",)))
    apartment = await case("apartment")
    traditional = await case("traditional")
    print(f"apartment model: {apartment} (B, not A); traditional: {traditional} (last one wins)")


if __name__ == "__main__":
    asyncio.run(main())
