"""Apartments and the runtime (reference §2, §8.1): STA/MTA execution, closing, misuse."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from sspi_async.com import (
    RPC_E_CALL_CANCELED,
    RPC_E_DISCONNECTED,
    S_OK,
    ComObject,
    Runtime,
    current_token,
)
from sspi_async.com._apartment import modal_wait
from tests.com.helpers import ALICE, FnServer, wait_for


async def test_an_STA_runs_everything_in_one_task_and_the_MTA_in_new_ones() -> None:
    """§8.1: an STA's calls and jobs share its task, one at a time; the MTA gives each its own;
    ``mta(machine)`` is one apartment per machine."""

    async def body(_: object) -> tuple[int, object]:
        return S_OK, asyncio.current_task()

    async with Runtime() as rt:
        sta, mta = rt.sta("one"), rt.mta()
        assert rt.mta() is mta
        assert rt.mta("far") is not mta
        assert (sta.kind, mta.kind, repr(sta)) == ("sta", "mta", "<STA 'one' on 'local'>")
        sta_proxy = rt.proxy(sta.register(FnServer(body)), identity=ALICE)
        mta_proxy = rt.proxy(mta.register(FnServer(body)), identity=ALICE)
        sta_tasks = {(await sta_proxy.Call())[1] for _ in range(3)}
        sta_tasks.add((await sta.run(lambda: [asyncio.current_task()]))[0])  # a Task is awaitable
        mta_tasks = {(await mta_proxy.Call())[1] for _ in range(3)}
        assert sta_tasks == {sta.task}
        assert len(mta_tasks) == 3
        assert await mta.run(lambda: 41 + 1) == 42


async def test_a_job_that_raises_raises_in_its_caller_and_the_STA_goes_on() -> None:
    """Apartment.run: the job's exception reaches the caller; the apartment keeps serving; a
    work item that lets an exception escape goes to the loop's exception handler."""
    errors: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _, ctx: errors.append(ctx))

    class Broken:
        async def run(self) -> None:
            raise ValueError("escaped")

        def abandon(self) -> None:  # pragma: no cover - never abandoned here
            pass

    async with Runtime() as rt:
        sta = rt.sta("one")
        with pytest.raises(ZeroDivisionError):
            await sta.run(lambda: 1 / 0)
        sta.post(Broken())
        assert await sta.run(current_token) == current_token()
    loop.set_exception_handler(None)
    assert [type(e["exception"]) for e in errors] == [ValueError]


async def test_cancelling_an_STA_task_shuts_the_apartment_down() -> None:
    """Runtime (choice): cancelling the STA's task cancels the running call (its client gets
    RPC_E_CALL_CANCELED); later calls get RPC_E_DISCONNECTED and jobs a RuntimeError."""
    running = asyncio.Event()

    async def body(_: object) -> int:
        running.set()
        await asyncio.Event().wait()
        return S_OK  # pragma: no cover - cancelled first

    async with Runtime() as rt:
        sta = rt.sta("doomed")
        proxy = rt.proxy(sta.register(FnServer(body)), identity=ALICE)
        first = asyncio.create_task(proxy.Call())
        queued = asyncio.create_task(proxy.Call())
        await wait_for(running.wait())
        sta.task.cancel()
        assert await wait_for(first) == (RPC_E_CALL_CANCELED,)
        sta.abandon_pending()
        assert await wait_for(queued) == (RPC_E_DISCONNECTED,)
        assert await proxy.Call() == (RPC_E_DISCONNECTED,)
        with pytest.raises(RuntimeError, match="closed before the job ran"):
            await sta.run(current_token)


async def test_misuse_raises_with_a_message_that_says_what_to_do() -> None:
    """Python misuse raises: bad options, a runtime used outside ``async with``, registering
    something that is not a ComObject, a proxy to something that is not an ObjectRef."""
    with pytest.raises(ValueError, match="nesting must be 'apartment' or 'traditional'"):
        Runtime(nesting="stacked")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="error_style must be 'observed' or 'documented'"):
        Runtime(error_style="loud")  # type: ignore[arg-type]
    rt = Runtime()
    with pytest.raises(RuntimeError, match=r"use `async with com.Runtime\(\) as rt:`"):
        rt.mta()
    async with rt:
        with pytest.raises(TypeError, match="derive the server class from"):
            rt.mta().register(object())  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="needs an ObjectRef"):
            rt.proxy(ComObject())  # type: ignore[arg-type]


async def test_modal_wait_polls_and_times_out_without_touching_the_future() -> None:
    """The modal wait: ``timeout=0`` polls, a time-out returns False and leaves the future
    pending (a cancelled waiter never cancels a call)."""
    fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    assert await modal_wait(fut, 0) is False
    assert await modal_wait(fut, 0.01) is False
    waiter = asyncio.create_task(modal_wait(fut))
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert not fut.done()
    fut.set_result(None)
    assert await modal_wait(fut, 0) is True
