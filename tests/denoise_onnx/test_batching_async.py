"""Batching for asyncio callers: futures, one loop wake-up per batch, errors, close, workers."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest

from denoise.batching import BatchScheduler, SchedulerClosed
from denoise.registry import create_denoiser

from .test_batching import JOIN_S, Doubler


class Gate:
    """A fake model whose batches block until released; records how many ran at once."""

    def __init__(self, release_at: int | None = None) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.peak = 0
        self.release_at = release_at  # None: the test sets ``release`` itself
        self.entered = threading.Event()
        self.release = threading.Event()

    def run_batch(self, items: Sequence[Any]) -> list[Any]:
        with self.lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
            if self.release_at is not None and self.running >= self.release_at:
                self.release.set()
        self.entered.set()
        self.release.wait(JOIN_S)  # liveness bound only
        with self.lock:
            self.running -= 1
        return [2 * x for x in items]


async def _stream(sched: BatchScheduler, runner: Doubler, base: int, m: int) -> list[int]:
    """One stream: ``m`` items, each awaited before the next is submitted."""
    return [await sched.submit_async(runner, base + j) for j in range(m)]


async def _run_streams(sched: BatchScheduler, runner: Doubler, k: int, m: int) -> list[list[int]]:
    for _ in range(k):
        sched.register()
    jobs = [_stream(sched, runner, 1000 * i, m) for i in range(k)]
    return await asyncio.wait_for(asyncio.gather(*jobs), JOIN_S)


def _workers(sched: BatchScheduler) -> list[threading.Thread]:
    name = f"denoise-batch-{id(sched):x}"
    return [t for t in threading.enumerate() if t.name == name]


async def test_coroutines_share_full_batches_in_order() -> None:
    sched = BatchScheduler(max_wait_ms=30_000, max_parallel=1)
    runner = Doubler()
    k, m = 6, 15
    results = await _run_streams(sched, runner, k, m)
    for i, got in enumerate(results):
        assert got == [2 * (1000 * i + j) for j in range(m)]
    # Every stream is registered: each batch holds one item of every stream.
    assert runner.sizes == [k] * m
    assert (sched.stats.batches, sched.stats.items, sched.stats.largest) == (m, k * m, k)
    sched.close()


async def test_one_loop_wakeup_per_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    loop = asyncio.get_running_loop()
    calls: list[Callable[..., Any]] = []
    real = loop.call_soon_threadsafe

    def counting(callback: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        calls.append(callback)
        return real(callback, *args, **kwargs)

    monkeypatch.setattr(loop, "call_soon_threadsafe", counting)
    sched = BatchScheduler(max_wait_ms=30_000, max_parallel=1)
    k, m = 5, 12
    await _run_streams(sched, Doubler(), k, m)
    assert sched.stats.items == k * m
    assert len(calls) == sched.stats.batches == m  # not k * m
    sched.close()


async def test_runner_error_reaches_every_future_of_its_group() -> None:
    sched = BatchScheduler(max_wait_ms=30_000, max_parallel=1)
    bad, good = Doubler(fail_on=1), Doubler()
    for _ in range(4):
        sched.register()
    futs = [sched.submit_async(r, x) for r, x in ((bad, 1), (bad, 2), (good, 3), (good, 4))]
    got = await asyncio.wait_for(asyncio.gather(*futs, return_exceptions=True), JOIN_S)
    assert isinstance(got[0], ValueError) and got[1] is got[0]
    assert got[2:] == [6, 8]  # the other model's group in the same batch is unaffected
    assert sched.stats.batches == 1
    sched.close()


async def test_cancelled_future_does_not_break_its_batch() -> None:
    sched = BatchScheduler(max_wait_ms=30_000, max_parallel=1)
    gate = Gate()
    for _ in range(3):
        sched.register()
    futs = [sched.submit_async(gate, x) for x in range(3)]
    assert await asyncio.to_thread(gate.entered.wait, JOIN_S)  # the batch is running
    futs[1].cancel()  # its caller stops waiting
    gate.release.set()
    assert await asyncio.wait_for(asyncio.gather(futs[0], futs[2]), JOIN_S) == [0, 4]
    assert futs[1].cancelled()
    assert sched.stats.batches == 1
    sched.close()


async def test_close_finishes_pending_refuses_new_and_stops_workers() -> None:
    sched = BatchScheduler(max_wait_ms=30_000)
    runner = Doubler()
    for _ in range(3):  # the collector waits for a third stream that never submits
        sched.register()
    futs = [sched.submit_async(runner, x) for x in (5, 6)]
    sched.close()
    assert await asyncio.wait_for(asyncio.gather(*futs), JOIN_S) == [10, 12]
    assert runner.sizes == [2]
    with pytest.raises(SchedulerClosed):
        sched.submit(runner, 1)
    with pytest.raises(SchedulerClosed):
        sched.submit_async(runner, 1)
    for t in _workers(sched):
        await asyncio.to_thread(t.join, JOIN_S)
    assert not _workers(sched)
    sched.close()  # idempotent


async def test_two_workers_compute_in_parallel() -> None:
    sched = BatchScheduler(max_wait_ms=30_000, max_batch=1, max_parallel=2)
    gate = Gate(release_at=2)  # each batch waits until both are inside run_batch
    futs = [sched.submit_async(gate, x) for x in (1, 2)]
    assert await asyncio.wait_for(asyncio.gather(*futs), JOIN_S) == [2, 4]
    assert gate.peak == 2
    assert sched.stats.batches == 2
    sched.close()


@pytest.mark.model
async def test_process_async_equals_process(speech: tuple[np.ndarray, ...]) -> None:
    x = speech[2][:96_000]
    chunks = [x[i : i + 960] for i in range(0, x.size, 960)]
    sched_a, sched_b = BatchScheduler(), BatchScheduler()
    a = create_denoiser("dfn3-onnx", scheduler=sched_a)
    b = create_denoiser("dfn3-onnx", scheduler=sched_b)
    assert sched_a.active_streams == sched_b.active_streams == 1  # both streams batched
    try:
        got = [await asyncio.wait_for(a.process_async(c), JOIN_S) for c in chunks]
        ref = await asyncio.to_thread(lambda: [b.process(c) for c in chunks])
    finally:
        a.close()
        b.close()
        sched_a.close()
        sched_b.close()
    y, r = np.concatenate(got), np.concatenate(ref)
    assert y.shape == r.shape == x.shape
    assert np.abs(r).max() > 0.01  # real output, not silence
    assert np.abs(y - r).max() < 1e-5
    assert a.frames == b.frames == x.size // 480


@pytest.mark.model
async def test_stream_closed_while_its_hop_is_awaited_stays_unregistered(
    speech: tuple[np.ndarray, ...],
) -> None:
    """A late hop's result arriving after close() must not register the stream again
    (the collector would then wait for a stream that never submits)."""
    sched = BatchScheduler(max_wait_ms=30_000)
    a = create_denoiser("dfn3-onnx", scheduler=sched)
    b = create_denoiser("dfn3-onnx", scheduler=sched)  # registered, never submits
    assert sched.active_streams == 2
    pending = asyncio.ensure_future(a.process_async(speech[2][:960]))
    await asyncio.sleep(0)  # a's hop is now waiting for b's
    await asyncio.to_thread(a.close)  # as the live session does, off the loop
    out = await asyncio.wait_for(pending, JOIN_S)
    assert out.size == 960
    assert sched.active_streams == 1  # only b
    b.close()
    assert sched.active_streams == 0
    sched.close()
