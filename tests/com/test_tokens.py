"""R12 and reference §6: the thread token is per task. Every pitfall of §6.3 is tried on this
Python from inside a COM call that impersonates its client: children, callbacks and workers start
at the process token; ``run_as``/``call_as`` are the explicit hand-over."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import sys
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from sspi_async import AccessToken
from sspi_async._core._impersonation import set_thread_token
from sspi_async.com import (
    RPC_E_CALL_COMPLETE,
    S_OK,
    CoGetCallContext,
    CoImpersonateClient,
    CoRevertToSelf,
    IID_IServerSecurity,
    call_as,
    current_token,
    process_token,
    run_as,
)
from tests.com.helpers import ALICE, BOB, serve

Spawner = Callable[[], Awaitable[str]]


def _user() -> str:
    return current_token().user


async def _coro_user() -> str:
    await asyncio.sleep(0)  # a step boundary: the answer must not depend on when it is read
    return _user()


async def via_create_task() -> str:
    return await asyncio.create_task(_coro_user())


async def via_gather() -> str:
    (user,) = await asyncio.gather(_coro_user())
    return user


async def via_task_group() -> str:
    async with asyncio.TaskGroup() as tg:  # type: ignore[attr-defined]
        task = tg.create_task(_coro_user())
    return task.result()


async def via_eager_task() -> str:
    loop = asyncio.get_running_loop()
    seen: list[str] = []

    async def record() -> None:
        seen.append(_user())  # runs inside the Task constructor, before any await

    task = asyncio.Task(record(), loop=loop, eager_start=True)  # type: ignore[call-arg]
    assert seen, "an eager task runs its first step at once"
    await task
    return seen[0]


async def via_task_with_copied_context() -> str:
    return await asyncio.create_task(_coro_user(), context=contextvars.copy_context())


async def via_call_soon() -> str:
    fut: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().call_soon(lambda: fut.set_result(_user()))
    return await fut


async def via_done_callback() -> str:
    loop = asyncio.get_running_loop()
    trigger: asyncio.Future[None] = loop.create_future()
    seen: asyncio.Future[str] = loop.create_future()
    trigger.add_done_callback(lambda _: seen.set_result(_user()))
    trigger.set_result(None)
    return await seen


async def via_to_thread() -> str:
    return await asyncio.to_thread(_user)


async def via_run_in_executor() -> str:
    return await asyncio.get_running_loop().run_in_executor(None, _user)


async def via_executor_with_copied_context() -> str:
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return await asyncio.wrap_future(pool.submit(contextvars.copy_context().run, _user))


async def via_wait_for() -> str:
    return await asyncio.wait_for(_coro_user(), 5)


async def via_plain_await() -> str:
    return await _coro_user()


ALL: dict[str, tuple[Spawner, str | None]] = {
    # name: (spawner, reason to skip on this Python or None)
    "create_task": (via_create_task, None),
    "gather": (via_gather, None),
    "TaskGroup": (
        via_task_group,
        None if sys.version_info >= (3, 11) else "asyncio.TaskGroup exists from Python 3.11",
    ),
    "eager_task": (
        via_eager_task,
        None if sys.version_info >= (3, 12) else "eager tasks exist from Python 3.12",
    ),
    "create_task(context=copy)": (
        via_task_with_copied_context,
        None if sys.version_info >= (3, 11) else "create_task(context=) exists from Python 3.11",
    ),
    "call_soon": (via_call_soon, None),
    "done_callback": (via_done_callback, None),
    "to_thread": (via_to_thread, None),
    "run_in_executor": (via_run_in_executor, None),
    "executor+copy_context": (via_executor_with_copied_context, None),
}


@pytest.mark.parametrize("name", list(ALL))
async def test_R12_children_callbacks_and_workers_start_at_the_process_token(name: str) -> None:
    """R12/§6.3 pitfalls 1–3: whatever the impersonating dispatch task starts sees the process
    token, and the dispatch task itself still sees its client afterwards."""
    spawner, skip = ALL[name]
    if skip:
        pytest.skip(skip)
    seen: dict[str, str] = {}

    async def body(_: object) -> int:
        assert CoImpersonateClient() == S_OK
        seen["child"] = await spawner()
        seen["after"] = _user()
        return CoRevertToSelf()

    async with serve(body) as s:
        assert await s.proxy.Call() == (S_OK,)
    assert seen == {"child": process_token().user, "after": "alice"}


async def test_R12_same_task_awaits_see_the_token_and_wait_for_follows_the_python_version() -> None:
    """Control: a plain await runs in the same task and sees the client; ``wait_for`` wrapped
    the coroutine in a new task before 3.12 (reference §6.2 experiment 8)."""
    seen: dict[str, str] = {}

    async def body(_: object) -> int:
        assert CoImpersonateClient() == S_OK
        seen["await"] = await via_plain_await()
        seen["wait_for"] = await via_wait_for()
        return S_OK

    async with serve(body) as s:
        assert await s.proxy.Call() == (S_OK,)
    expected = "alice" if sys.version_info >= (3, 12) else process_token().user
    assert seen == {"await": "alice", "wait_for": expected}


async def test_R12_a_callback_scheduled_while_impersonating_runs_at_process_after_revert() -> None:
    """§6.3 pitfall 2 (stale callbacks): a call_soon scheduled during impersonation does not
    carry the old token, even when it runs after the revert."""
    loop = asyncio.get_running_loop()
    seen: asyncio.Future[str] = loop.create_future()

    async def body(_: object) -> int:
        assert CoImpersonateClient() == S_OK
        loop.call_soon(lambda: seen.set_result(_user()))
        return CoRevertToSelf()

    async with serve(body) as s:
        assert await s.proxy.Call() == (S_OK,)
    assert await seen == process_token().user


async def test_R12_no_task_no_loop_and_no_call_context_in_a_plain_thread() -> None:
    """§6.3 pitfall 7: in a thread with no running loop the token is the process token and
    there is no call context."""
    result: dict[str, object] = {}

    def probe() -> None:
        result["user"] = _user()
        result["context"] = CoGetCallContext(IID_IServerSecurity)[0]

    async def body(_: object) -> int:
        assert CoImpersonateClient() == S_OK
        thread = threading.Thread(target=probe)
        thread.start()
        await asyncio.to_thread(thread.join)
        return S_OK

    async with serve(body) as s:
        assert await s.proxy.Call() == (S_OK,)
    assert result == {"user": process_token().user, "context": RPC_E_CALL_COMPLETE}


async def test_R12_run_as_hands_a_token_to_a_new_task_only() -> None:
    """R12 (choice): ``run_as`` starts a task with the token; the caller keeps its own, and COM
    never reverts it (it is no ImpersonateClient)."""

    async def inside(tag: str) -> tuple[str, str]:
        await asyncio.sleep(0)
        assert CoRevertToSelf() == RPC_E_CALL_COMPLETE  # no call context in the new task
        return tag, _user()

    assert await run_as(BOB, inside, "x") == ("x", "bob")
    assert current_token() == process_token()
    with pytest.raises(TypeError, match="run_as needs an AccessToken"):
        await run_as("bob", inside, "x")  # type: ignore[arg-type]


async def test_R12_call_as_scopes_a_token_to_one_call_in_a_worker_thread() -> None:
    """§6.3 pitfall 3: a raw token set in a pool thread sticks to that thread; ``call_as``
    scopes it to one call."""
    loop = asyncio.get_running_loop()
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        assert await loop.run_in_executor(pool, call_as, ALICE, _user) == "alice"
        assert await loop.run_in_executor(pool, _user) == process_token().user
        await loop.run_in_executor(pool, set_thread_token, BOB)  # the pitfall
        assert await loop.run_in_executor(pool, _user) == "bob"
    assert await asyncio.to_thread(call_as, CAROL_TOKEN, _user) == "carol"
    assert call_as(ALICE, _user) == "alice"
    assert _user() == process_token().user
    with pytest.raises(TypeError, match="call_as needs an AccessToken"):
        call_as(None, _user)  # type: ignore[arg-type]


CAROL_TOKEN = AccessToken("carol")


async def test_R12_revert_in_one_task_leaves_another_tasks_impersonation() -> None:
    """§6.3 pitfall 4 / [ISS-Revert]: impersonation is local to a task; two tasks impersonating
    through the same IServerSecurity revert independently (no ContextVar.reset across tasks)."""
    worker_ready = asyncio.Event()
    revert_now = asyncio.Event()
    seen: dict[str, Any] = {}

    async def body(co: Any) -> int:
        _, ss = CoGetCallContext(IID_IServerSecurity)

        async def worker() -> None:
            assert ss.ImpersonateClient() == S_OK
            worker_ready.set()
            await revert_now.wait()
            seen["worker before revert"] = _user()
            assert ss.RevertToSelf() == S_OK
            seen["worker after revert"] = _user()

        task = asyncio.create_task(worker())
        assert ss.ImpersonateClient() == S_OK
        await worker_ready.wait()
        assert ss.RevertToSelf() == S_OK  # the dispatch task reverts first
        seen["dispatch after revert"] = _user()
        revert_now.set()
        await task
        co.sync.Signal()
        return S_OK

    async with serve(body) as s:
        call = s.proxy.CreateCall("Job")[1]
        assert call is not None
        assert call.Begin() == S_OK
        assert await call.Finish() == (S_OK,)
    assert seen == {
        "dispatch after revert": process_token().user,
        "worker before revert": "alice",
        "worker after revert": process_token().user,
    }
