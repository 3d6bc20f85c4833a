"""A watchdog for the COM tests: a broken rule must fail, not hang the run.

Most COM tests await replies that a broken dispatcher would never send. Rather than wrap every
await in a time-out, every async test gets a deadline: when it passes, every task of the test's
event loop is cancelled (so the stuck ``await`` raises) and the test is reported as failed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

WATCHDOG_SECONDS = 60


@pytest.fixture(autouse=True)
async def _watchdog() -> AsyncIterator[None]:
    loop = asyncio.get_running_loop()
    expired: list[bool] = []

    def expire() -> None:
        expired.append(True)
        for task in asyncio.all_tasks(loop):
            task.cancel()

    deadline = loop.call_later(WATCHDOG_SECONDS, expire)
    yield
    deadline.cancel()
    if expired:
        pytest.fail(f"the test did not finish within {WATCHDOG_SECONDS} s (a reply never came?)")
