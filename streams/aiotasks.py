"""Ending asyncio tasks without waiting on a call that may never give up.

A task cancelled inside a channels-redis call can take until the Redis socket
times out, or longer (a blocking pop has been seen never to finish), to unwind.
Stopping a stream or shutting a process down must not hang on that, so their
tasks are cancelled and waited for a bounded time; the ones still unwinding stay
referenced by their owner until they finish (an unreferenced task may be
garbage-collected mid-flight).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any


async def cancel_within(
    tasks: Iterable[asyncio.Task[Any] | None], timeout: float, unwinding: set[asyncio.Task[Any]]
) -> int:
    """Cancel ``tasks`` (None entries skipped) and wait ``timeout`` seconds at most for
    them to end. Those still running are added to ``unwinding`` and leave it when they
    end. Returns how many were still running."""
    running = [t for t in tasks if t is not None]
    for task in running:
        task.cancel()
    if not running:
        return 0
    _, stuck = await asyncio.wait(running, timeout=timeout)
    for task in stuck:
        unwinding.add(task)
        task.add_done_callback(unwinding.discard)
    return len(stuck)
