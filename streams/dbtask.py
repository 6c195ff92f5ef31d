"""Database work from the live path's event-loop code, on threads of its own.

Two lanes (:class:`fc25_denoise.threads.ThreadLane`), neither shared with the loop's
default executor (audio downloads, health checks, anything else): :data:`LIVE_DB` for
the live path's calls (start, listen, stop, sweeps), :data:`HEARTBEAT` for the
heartbeat alone, so no burst of live calls and no stuck storage call delays the beat
that tells the other processes this one is alive.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from fc25_denoise.threads import ThreadLane, run_on

T = TypeVar("T")

LIVE_DB = ThreadLane("live-db", 8)
"""The live path's database calls (8: a database that answers in 50 ms serves 160 a second)."""
HEARTBEAT = ThreadLane("heartbeat", 1)
"""This process's heartbeat: one call at a time, never queued behind other work."""


async def db(fn: Callable[..., T], *args: object, lane: ThreadLane = LIVE_DB) -> T:
    """Run a service function on a thread of ``lane`` with a fresh DB connection
    (:func:`fc25_denoise.threads.run_on`).

    Not thread-sensitive on purpose: sessions outlive the request that
    created them, and the request's thread executor is gone by then.
    """
    return await run_on(lane, fn, *args)
