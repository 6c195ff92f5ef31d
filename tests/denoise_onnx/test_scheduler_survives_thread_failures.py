"""A worker thread that cannot start, a batch observer that raises or a batch that fails
while being handed out must not freeze the scheduler: the affected callers get the error
(never wait forever) and later items run."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest

from denoise import batching
from denoise.batching import BatchScheduler

from .test_batching import Doubler

DONE_S = 2.0  # a submit that is not back by then is stuck (a batch takes microseconds)


class StartFailures:
    """``threading.Thread.start`` stand-in: the scheduler's worker starts listed in
    ``fail`` (1 = its first start) raise as under a container's pids limit; every
    other thread starts normally."""

    def __init__(self, sched: BatchScheduler, fail: set[int]) -> None:
        self.sched = sched
        self.fail = fail
        self.starts = 0
        self._real = threading.Thread.start

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        failures = self

        def start(thread: threading.Thread) -> None:
            if thread.name == failures.sched.name:
                failures.starts += 1
                if failures.starts in failures.fail:
                    raise RuntimeError("can't start new thread")
            failures._real(thread)

        monkeypatch.setattr(threading.Thread, "start", start)


def _within(fn: Callable[[], Any], seconds: float = DONE_S) -> Any:
    """``fn()`` on a helper thread; its result, or the exception it raised. Fails the
    test if it is still running after ``seconds`` (the helper is a daemon: a stuck one
    does not hold up the run)."""
    out: dict[str, Any] = {}

    def body() -> None:
        try:
            out["value"] = fn()
        except BaseException as exc:
            out["value"] = exc

    helper = threading.Thread(target=body, daemon=True)
    helper.start()
    helper.join(seconds)
    assert not helper.is_alive(), "submit hung: the scheduler is frozen"
    return out["value"]


def test_failed_worker_start_fails_that_submit_and_the_next_one_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sched = BatchScheduler(max_wait_ms=0, max_parallel=1)
    StartFailures(sched, {1}).install(monkeypatch)
    runner = Doubler()
    first = _within(lambda: sched.submit(runner, 1))
    assert isinstance(first, RuntimeError)
    assert _within(lambda: sched.submit(runner, 2)) == 4
    assert runner.sizes == [1]  # the failed item was never run
    sched.close()


async def test_failed_worker_start_fails_that_future_and_the_next_one_resolves(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sched = BatchScheduler(max_wait_ms=0, max_parallel=1)
    StartFailures(sched, {1}).install(monkeypatch)
    runner = Doubler()
    with pytest.raises(RuntimeError, match="can't start new thread"):
        await asyncio.wait_for(sched.submit_async(runner, 1), DONE_S)
    assert await asyncio.wait_for(sched.submit_async(runner, 2), DONE_S) == 4
    sched.close()


def test_failed_start_of_a_second_worker_still_runs_both_halves_of_a_backlog(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The collector splits a backlog and starts a second worker for the other half:
    when that start fails, its own half is still run and delivered, and the other half
    becomes its next batch."""
    k = 2 * BatchScheduler.SPLIT_MIN
    sched = BatchScheduler(max_wait_ms=30_000, max_parallel=2)
    StartFailures(sched, {2}).install(monkeypatch)
    for _ in range(k):
        sched.register()
    runner = Doubler()
    results: dict[int, Any] = {}

    def one(x: int) -> None:
        results[x] = sched.submit(runner, x)
        sched.unregister()  # this stream ends: the rest's batch need not wait for it

    def all_of_them() -> None:
        threads = [threading.Thread(target=one, args=(x,), daemon=True) for x in range(k)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    _within(all_of_them)
    assert results == {x: 2 * x for x in range(k)}
    assert sorted(runner.sizes) == [k // 2, k // 2]
    sched.close()


@pytest.fixture
def observers(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[batching.BatchObserver]]:
    """The batch observers for this test only (the real list is process-wide)."""
    mine: list[batching.BatchObserver] = []
    monkeypatch.setattr(batching, "_observers", mine)
    yield mine


def test_observer_that_raises_does_not_stop_delivery(
    observers: list[batching.BatchObserver], caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[int] = []

    def broken(name: str, items: int, seconds: float, cpu: float) -> None:
        raise ValueError("metrics bug")

    observers.extend([broken, lambda name, items, s, c: seen.append(items)])
    sched = BatchScheduler(max_wait_ms=0, max_parallel=1)
    runner = Doubler()
    with caplog.at_level(logging.ERROR, logger="denoise.batching"):
        assert _within(lambda: sched.submit(runner, 1)) == 2
        assert _within(lambda: sched.submit(runner, 2)) == 4
    assert seen == [1, 1]  # the observers after the broken one are still told
    logged = [r for r in caplog.records if "metrics bug" in (r.exc_text or "")]
    assert len(logged) == 1, "a failing observer is logged once, not per batch"
    sched.close()


class BadResults:
    """A fake model whose results claim the right length but cannot be read: the batch
    fails after ``run_batch`` returned, while its results are handed out."""

    def run_batch(self, items: Sequence[Any]) -> Sequence[Any]:
        class Unreadable(Sequence[Any]):
            def __len__(self) -> int:
                return len(items)

            def __getitem__(self, i: Any) -> Any:
                raise LookupError("unreadable result")

        return Unreadable()


def test_batch_that_fails_while_delivered_reaches_its_caller_and_later_ones_run() -> None:
    sched = BatchScheduler(max_wait_ms=0, max_parallel=1)
    failed = _within(lambda: sched.submit(BadResults(), 1))
    assert isinstance(failed, LookupError)
    assert _within(lambda: sched.submit(Doubler(), 2)) == 4
    sched.close()
