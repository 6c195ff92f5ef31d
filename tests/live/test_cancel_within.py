"""cancel_within: cancels, waits a bounded time, keeps the stragglers referenced."""

from __future__ import annotations

import asyncio
import time

from streams.aiotasks import cancel_within
from tests.live.slow_unwind import SlowUnwind


async def test_prompt_tasks_end_and_none_is_skipped():
    tasks = [asyncio.create_task(asyncio.sleep(3600)) for _ in range(3)]
    unwinding: set[asyncio.Task] = set()
    assert await cancel_within([*tasks, None], 2.0, unwinding) == 0
    assert all(t.cancelled() for t in tasks)
    assert not unwinding


async def test_a_slow_task_is_left_unwinding_and_kept_until_it_ends():
    slow = SlowUnwind(unwind_s=0.5)
    task = asyncio.create_task(slow.hang())
    await slow.entered.wait()
    unwinding: set[asyncio.Task] = set()
    started = time.monotonic()
    assert await cancel_within([task], 0.1, unwinding) == 1
    assert time.monotonic() - started < 0.4
    assert unwinding == {task}
    await slow.unwound.wait()
    await asyncio.sleep(0)  # the done callback runs
    assert not unwinding and task.cancelled()
