"""Inference workers ask for real-time scheduling, and run normally when refused."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from typing import Any

import pytest

from denoise.batching import BatchScheduler
from streams.webrtc.runtime import LiveConfig, LiveRuntime


class PolicyProbe:
    """A fake model: answers each item with the scheduling policy and priority of its thread."""

    def run_batch(self, items: Sequence[Any]) -> list[Any]:
        return [(os.sched_getscheduler(0), os.sched_getparam(0).sched_priority) for _ in items]


def may_go_realtime() -> bool:
    """Whether this process may put a thread under SCHED_RR (root or an rtprio limit)."""
    allowed: list[bool] = []

    def probe() -> None:
        try:
            os.sched_setscheduler(0, os.SCHED_RR, os.sched_param(1))
            allowed.append(True)
        except OSError:
            allowed.append(False)

    thread = threading.Thread(target=probe)  # a throw-away thread keeps the test's own
    thread.start()
    thread.join()
    return allowed[0]


def test_workers_run_round_robin_at_the_priority() -> None:
    if not may_go_realtime():
        pytest.skip("this process may not use real-time scheduling (CI runs as root)")
    sched = BatchScheduler(max_wait_ms=0, max_parallel=1, realtime_priority=7)
    try:
        assert sched.submit(PolicyProbe(), 0) == (os.SCHED_RR, 7)
        assert sched.realtime is True
    finally:
        sched.close()
    assert os.sched_getscheduler(0) == os.SCHED_OTHER  # the caller's thread is untouched


def test_priority_zero_leaves_normal_scheduling() -> None:
    sched = BatchScheduler(max_wait_ms=0, max_parallel=1)
    try:
        assert sched.submit(PolicyProbe(), 0) == (os.SCHED_OTHER, 0)
        assert sched.realtime is None
    finally:
        sched.close()


def test_refused_priority_warns_once_and_still_runs(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def refuse(pid: int, policy: int, param: os.sched_param) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "sched_setscheduler", refuse)
    sched = BatchScheduler(max_wait_ms=0, max_parallel=2, realtime_priority=10)
    sched.IDLE_EXIT_S = 0.0  # each submit below starts a new worker, which asks again
    try:
        with caplog.at_level(logging.WARNING, logger="denoise.batching"):
            for _ in range(3):
                assert sched.submit(PolicyProbe(), 0) == (os.SCHED_OTHER, 0)
    finally:
        sched.close()
    assert sched.realtime is False
    warnings = [r for r in caplog.records if "real-time priority 10 refused" in r.getMessage()]
    assert len(warnings) == 1


@pytest.mark.parametrize("priority", [-1, 100])
def test_priority_outside_the_range_is_refused(priority: int) -> None:
    with pytest.raises(ValueError):
        BatchScheduler(realtime_priority=priority)


def test_live_runtime_gives_the_priority_to_inference_only() -> None:
    config = LiveConfig(
        stun_urls=[],
        jitter_prefetch=0,
        budget=0.03,
        media_timeout=5.0,
        connect_timeout=5.0,
        max_backlog=1.0,
        realtime_priority=12,
    )
    runtime = LiveRuntime(config)
    try:
        assert runtime.inference is not None
        assert runtime.inference.realtime_priority == 12
        assert runtime.codec.realtime_priority == 0  # codec at RT priority starves the loop
    finally:
        runtime.shutdown()
