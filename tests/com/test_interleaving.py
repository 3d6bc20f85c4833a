"""Interleavings (I7–I10, R4–R11): hypothesis drives impersonate / revert / signal / return /
nested-call / worker events across many tasks — MTA calls, an STA with re-entrant nesting, worker
tasks holding a retained IServerSecurity — against a model, in both nesting modes and both worker
policies.

After every step the task that acted reports its token; it must be exactly the model's, which
only ever holds the process token or the client of a call that task is running (so no task ever
sees another task's token), and whenever the STA is idle its task is back at the process token
(every token restored when its call ends). ResourceWarnings (R9) are counted against the model.
"""

from __future__ import annotations

import asyncio
import itertools
import warnings
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sspi_async import AccessToken
from sspi_async.com import (
    RPC_C_IMP_LEVEL_IMPERSONATE,
    RPC_E_CALL_COMPLETE,
    S_OK,
    ClientCall,
    CoGetCallContext,
    ComObject,
    IID_IServerSecurity,
    IServerSecurity,
    Proxy,
    Runtime,
    ServerCallObject,
    current_token,
    process_token,
)

P = process_token().user
LIMIT = 6  # calls per example (outgoing ones included)


class Script:
    """Commands for one server task (a call's dispatch task or a worker), acknowledged with what
    the task saw."""

    def __init__(self) -> None:
        self.inbox: asyncio.Queue[tuple[str, Any, asyncio.Future[Any]]] = asyncio.Queue()
        self.started = asyncio.Event()
        self.co: ServerCallObject | None = None

    async def serve(self, co: ServerCallObject | None) -> int:
        """The body of a call (Begin_Job or the synchronous Call)."""
        self.co = co
        self.started.set()
        hr, ss = CoGetCallContext(IID_IServerSecurity)
        assert hr == S_OK
        assert isinstance(ss, IServerSecurity)
        while True:
            cmd, arg, ack = await self.inbox.get()
            if cmd == "return":
                ack.set_result(current_token().user)
                return S_OK
            if cmd == "signal":
                assert co is not None
                co.sync.Signal()
                ack.set_result(current_token().user)
            elif cmd == "spawn":
                asyncio.get_running_loop().create_task(arg.work(ss))
                ack.set_result(current_token().user)
            elif cmd == "call_out":
                proxy, script = arg
                ack.set_result(current_token().user)
                assert await proxy.call("Call", script) == (S_OK,)
            else:
                ack.set_result(_common(cmd, ss))

    async def work(self, ss: IServerSecurity) -> None:
        """The body of a worker task using a retained IServerSecurity."""
        while True:
            cmd, _, ack = await self.inbox.get()
            if cmd == "end":
                ack.set_result(current_token().user)
                return
            ack.set_result(_common(cmd, ss))


def _common(cmd: str, ss: IServerSecurity) -> Any:
    if cmd == "impersonate":
        return ss.ImpersonateClient(), current_token().user
    if cmd == "revert":
        return ss.RevertToSelf(), current_token().user
    assert cmd == "observe"
    return current_token().user


class ScriptCall(ServerCallObject):
    async def Begin_Job(self, script: Script) -> int:
        return await script.serve(self)

    def Finish_Job(self) -> int:
        return S_OK


class Scripted(ComObject):
    async_calls = {"Job": ScriptCall}  # noqa: RUF012 - the documented way to list call objects

    async def Call(self, script: Script) -> int:
        return await script.serve(None)


# --------------------------------------------------------------------------------- model


@dataclass(eq=False)
class MCall:
    """The model of one call."""

    user: str
    apartment: str
    asynchronous: bool
    script: Script
    signaled: bool = False
    returned: bool = False
    token: str = P  # the dispatch task's token (MTA, or the STA in apartment mode)
    mark: int = 0  # traditional STA: the slot version at dispatch
    blocked_on: MCall | None = None
    caller: MCall | None = None
    workers: list[MWorker] = field(default_factory=list)
    client: Any = None  # what the driver awaits for the reply

    @property
    def complete(self) -> bool:
        return self.signaled and self.returned


@dataclass(eq=False)
class MWorker:
    call: MCall
    script: Script
    token: str = P
    impersonating: bool = False
    alive: bool = True


class Model:
    """Expected tokens (reference §8.1), one step at a time."""

    def __init__(self, nesting: str, strict: bool) -> None:
        self.nesting = nesting
        self.strict = strict
        self.calls: list[MCall] = []
        self.stack: list[MCall] = []
        self.queue: deque[MCall] = deque()
        self.slot = (0, P)  # traditional STA: (frame version, user)
        self.versions = itertools.count(1)
        self.warnings = 0

    # -- STA bookkeeping
    def dispatch_sta(self) -> list[MCall]:
        started = []
        while self.queue and (not self.stack or self.stack[-1].blocked_on is not None):
            call = self.queue.popleft()
            call.mark = self.slot[0]
            self.stack.append(call)
            started.append(call)
        return started

    def token_of(self, call: MCall) -> str:
        if call.apartment == "sta" and self.nesting == "traditional":
            return self.slot[1]
        return call.token

    def set_token(self, call: MCall, user: str) -> None:
        if call.apartment == "sta" and self.nesting == "traditional":
            self.slot = (next(self.versions), user)
        else:
            call.token = user

    def runnable(self) -> list[MCall]:
        ready = [c for c in self.calls if c.apartment == "mta" and not c.returned]
        if self.stack and self.stack[-1].blocked_on is None:
            ready.append(self.stack[-1])
        return ready

    # -- events
    def impersonate(self, call: MCall) -> tuple[int, str]:
        if call.signaled:
            return RPC_E_CALL_COMPLETE, self.token_of(call)
        self.set_token(call, call.user)
        return S_OK, call.user

    def revert(self, call: MCall) -> tuple[int, str]:
        if self.token_of(call) != P:
            self.set_token(call, P)
        return S_OK, P

    def signal(self, call: MCall) -> None:
        call.signaled = True
        if call.returned:
            self.completed(call)

    def returned(self, call: MCall) -> list[MCall]:
        call.returned = True
        if not call.asynchronous:
            call.signaled = True
        started: list[MCall] = []
        if call.apartment == "sta":
            assert self.stack[-1] is call
            self.stack.pop()
            if self.nesting == "traditional" and self.slot[0] != call.mark:
                self.slot = (next(self.versions), P)
            started = self.dispatch_sta()
        if call.caller is not None:
            call.caller.blocked_on = None
            started += self.dispatch_sta()
        if call.complete:
            self.completed(call)
        return started

    def completed(self, call: MCall) -> None:
        active = [w for w in call.workers if w.impersonating]
        if active:
            self.warnings += 1
            if self.strict:
                for worker in active:
                    worker.impersonating, worker.token = False, P

    def worker_impersonate(self, worker: MWorker) -> tuple[int, str]:
        if worker.call.signaled:
            return RPC_E_CALL_COMPLETE, worker.token
        worker.impersonating, worker.token = True, worker.call.user
        return S_OK, worker.token

    def worker_revert(self, worker: MWorker) -> tuple[int, str]:
        worker.impersonating, worker.token = False, P
        return S_OK, P


# -------------------------------------------------------------------------------- driver


async def send(script: Script, cmd: str, arg: Any = None) -> Any:
    ack: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    script.inbox.put_nowait((cmd, arg, ack))
    return await asyncio.wait_for(ack, 2)  # a safety limit: a broken rule fails, never hangs


class Driver:
    def __init__(self, rt: Runtime, model: Model, data: st.DataObject) -> None:
        self.rt, self.model, self.data = rt, model, data
        self.sta = rt.sta("S")
        self.refs = {"sta": self.sta.register(Scripted()), "mta": rt.mta().register(Scripted())}
        self.users = (f"c{n}" for n in itertools.count())

    def proxy(self, apartment: str, user: str) -> Proxy:
        token = AccessToken(user)
        return self.rt.proxy(self.refs[apartment], identity=token, imp_level=RPC_C_IMP_LEVEL_IMPERSONATE)  # fmt: skip

    def check(self, seen: object, expected: object, what: str, call: MCall) -> None:
        assert seen == expected, f"{what} in {call.user}'s task: saw {seen}, model {expected}"
        user = seen[1] if isinstance(seen, tuple) else seen
        allowed = {P, call.user}
        if call.apartment == "sta" and self.model.nesting == "traditional":
            allowed |= {c.user for c in self.model.stack}  # one slot for the STA's task
        assert user in allowed, f"{call.user}'s task saw {user}, another task's client"

    async def started(self, calls: list[MCall]) -> None:
        for call in calls:
            await asyncio.wait_for(call.script.started.wait(), 2)

    async def new_call(self) -> None:
        apartment = self.data.draw(st.sampled_from(["sta", "mta"]), label="apartment")
        asynchronous = self.data.draw(st.booleans(), label="asynchronous")
        call = MCall(next(self.users), apartment, asynchronous, Script())
        self.model.calls.append(call)
        proxy = self.proxy(apartment, call.user)
        if asynchronous:
            hr, client = proxy.CreateCall("Job")
            assert hr == S_OK
            assert isinstance(client, ClientCall)
            assert client.Begin(call.script) == S_OK
            call.client = client
        else:  # what proxy.call() does, without a task that would post the call later
            hr, _, reply = proxy.start("Call", (call.script,), prefer_async=False)
            assert hr == S_OK
            call.client = reply
        if apartment == "sta":
            self.model.queue.append(call)
            await self.started(self.model.dispatch_sta())
        else:
            await self.started([call])

    async def step_call(self, call: MCall) -> None:
        model = self.model
        choices = ["impersonate", "revert", "observe", "return"]
        if call.asynchronous and not call.signaled:
            choices.append("signal")
        if len(call.workers) < 2:
            choices.append("spawn")
        if call.apartment == "sta" and len(model.calls) < LIMIT:
            choices.append("call_out")
        cmd = self.data.draw(st.sampled_from(choices), label=f"{call.user} does")
        if cmd == "impersonate":
            self.check(await send(call.script, cmd), model.impersonate(call), cmd, call)
        elif cmd == "revert":
            self.check(await send(call.script, cmd), model.revert(call), cmd, call)
        elif cmd in ("observe", "signal", "spawn"):
            before = model.token_of(call)
            if cmd == "spawn":
                worker = MWorker(call, Script())
                call.workers.append(worker)
                self.check(await send(call.script, cmd, worker.script), before, cmd, call)
            else:
                self.check(await send(call.script, cmd), before, cmd, call)
            if cmd == "signal":
                model.signal(call)
        elif cmd == "return":
            self.check(await send(call.script, cmd), model.token_of(call), cmd, call)
            await self.started(model.returned(call))
        else:  # call_out: an outgoing synchronous call to the MTA; the STA nests meanwhile
            out = MCall(next(self.users), "mta", False, Script(), caller=call)
            out.client = None
            model.calls.append(out)
            call.blocked_on = out
            arg = (self.proxy("mta", out.user), out.script)
            self.check(await send(call.script, cmd, arg), model.token_of(call), cmd, call)
            await self.started([out, *model.dispatch_sta()])

    async def step_worker(self, worker: MWorker) -> None:
        cmd = self.data.draw(st.sampled_from(["impersonate", "revert", "observe", "end"]))
        seen = await send(worker.script, cmd)
        if cmd == "impersonate":
            expected: object = self.model.worker_impersonate(worker)
        elif cmd == "revert":
            expected = self.model.worker_revert(worker)
        else:
            expected = worker.token
            worker.alive = cmd != "end"
        self.check(seen, expected, f"worker {cmd}", worker.call)

    async def probe_idle_sta(self) -> None:
        if not self.model.stack and not self.model.queue:
            user = (await asyncio.wait_for(self.sta.run(current_token), 5)).user
            assert user == P, f"the idle STA's task holds {user}: a token was not restored"

    async def run(self, steps: int) -> None:
        model = self.model
        for _ in range(steps):
            workers = [w for c in model.calls for w in c.workers if w.alive]
            late = [c for c in model.calls if c.asynchronous and c.returned and not c.signaled]
            options: list[tuple[str, Any]] = [("call", c) for c in model.runnable()]
            options += [("worker", w) for w in workers] + [("late signal", c) for c in late]
            if len(model.calls) < LIMIT:
                options.append(("new", None))
            if not options:
                break
            kind, target = self.data.draw(st.sampled_from(options), label="step")
            if kind == "new":
                await self.new_call()
            elif kind == "call":
                await self.step_call(target)
            elif kind == "worker":
                await self.step_worker(target)
            else:  # Signal from outside the call (as a worker would, after Begin_ returned)
                target.script.co.sync.Signal()
                model.signal(target)
            await self.probe_idle_sta()
        await self.wind_down()

    async def wind_down(self) -> None:
        """Return every call (the MTA ones first unblock the STA), signal, end the workers,
        collect the replies."""
        model = self.model
        while ready := model.runnable():
            call = ready[0]
            self.check(await send(call.script, "return"), model.token_of(call), "return", call)
            await self.started(model.returned(call))
        await self.probe_idle_sta()
        for call in model.calls:
            if not call.signaled:
                assert call.script.co is not None
                call.script.co.sync.Signal()
                model.signal(call)
        for call in model.calls:
            for worker in call.workers:
                if worker.alive:
                    seen = await send(worker.script, "end")
                    self.check(seen, worker.token, "worker end", call)
            if isinstance(call.client, ClientCall):
                assert await asyncio.wait_for(call.client.Finish(), 5) == (S_OK,)
            elif call.client is not None:
                assert await asyncio.wait_for(call.client, 5) == (S_OK,)


@settings(max_examples=75, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    nesting=st.sampled_from(["apartment", "traditional"]),
    strict=st.booleans(),
    steps=st.integers(min_value=1, max_value=40),
)
def test_interleaved_impersonation_never_leaks_and_is_always_restored(
    data: st.DataObject, nesting: str, strict: bool, steps: int
) -> None:
    """I7–I10/R4–R11: across interleaved calls, nested calls and workers every task sees exactly
    the model's token — its own client or the process token — the idle STA is always back at the
    process token, and R9's warnings come exactly when a worker still impersonates at
    completion."""

    async def main() -> int:
        errors: list[dict[str, Any]] = []
        asyncio.get_running_loop().set_exception_handler(lambda _, ctx: errors.append(ctx))
        model = Model(nesting, strict)
        async with Runtime(nesting=nesting, strict_worker_revert=strict) as rt:  # type: ignore[arg-type]
            await Driver(rt, model, data).run(steps)
        assert not errors, errors
        return model.warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        expected = asyncio.run(main())
    leaks = [w for w in caught if issubclass(w.category, ResourceWarning)]
    others = [w for w in caught if not issubclass(w.category, ResourceWarning)]
    assert not others, [str(w.message) for w in others]
    assert len(leaks) == expected, [str(w.message) for w in leaks]
