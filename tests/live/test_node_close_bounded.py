"""Closing a process's node (server shutdown) does not wait for a sweep stuck in the layer."""

from __future__ import annotations

import asyncio
import time

from streams import services
from streams.node import ProcessNode


class StuckSweep:
    """``db`` whose sweep call, once cancelled, takes ``unwind_s`` to give up (as a
    channels-redis call cancelled mid-read can take until its socket times out)."""

    def __init__(self, unwind_s: float) -> None:
        self.unwind_s = unwind_s
        self.entered = asyncio.Event()
        self.unwound = asyncio.Event()

    async def db(self, fn, *args):
        if fn is not services.clear_dead_streams:
            return None
        self.entered.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            await asyncio.sleep(self.unwind_s)
            self.unwound.set()
            raise


async def serve(op, args):
    return {}


async def test_close_returns_while_the_sweep_unwinds(monkeypatch, settings):
    settings.STREAM_HEARTBEAT_S = 0.2
    stuck = StuckSweep(unwind_s=6.0)
    monkeypatch.setattr("streams.node.db", stuck.db)
    node = ProcessNode(serve, lambda message: None, lambda channel: None, dict)
    node.start()
    await asyncio.wait_for(stuck.entered.wait(), 5)

    started = time.monotonic()
    await node.close()
    took = time.monotonic() - started

    assert took < 3.0, f"close took {took:.1f} s"
    assert not stuck.unwound.is_set()  # still unwinding, and still referenced
    await asyncio.wait_for(stuck.unwound.wait(), 10)
