"""Closing a process's node (server shutdown) does not wait for a sweep stuck in the layer."""

from __future__ import annotations

import asyncio
import time

from streams import liveness
from streams.node import ProcessNode
from tests.live.slow_unwind import SlowUnwind


async def serve(op, args):
    return {}


async def test_close_returns_while_the_sweep_unwinds(monkeypatch, settings):
    settings.STREAM_HEARTBEAT_S = 0.2
    sweep = SlowUnwind(unwind_s=6.0)

    async def db(fn, *args, lane=None):  # the beat succeeds: the sweep may end others' streams
        if fn is liveness.clear_dead_streams:
            await sweep.hang()

    monkeypatch.setattr("streams.node.db", db)
    node = ProcessNode(serve, lambda message: None, lambda channel: None, dict)
    node.start()
    await asyncio.wait_for(sweep.entered.wait(), 5)

    started = time.monotonic()
    await node.close()
    took = time.monotonic() - started

    assert took < 3.0, f"close took {took:.1f} s"
    assert not sweep.unwound.is_set()  # still unwinding, and still referenced
    await asyncio.wait_for(sweep.unwound.wait(), 10)
