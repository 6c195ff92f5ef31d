"""Shutting down a job runner with jobs still waiting for a thread returns at once: the
waiting jobs are dropped (their rows stay queued for the next start). Cancelling one runs
its done callback on the shutting-down thread, which must not wait on a lock it holds."""

from __future__ import annotations

import threading

import pytest

from recordings import jobs
from recordings import runner as runner_module
from recordings.runner import JobRunner


def test_shutdown_with_a_job_waiting_for_a_thread_returns(monkeypatch: pytest.MonkeyPatch):
    running, release = threading.Event(), threading.Event()
    ran: list[int] = []

    def blocking_job(job_id: int, stop: threading.Event | None = None) -> bool:
        ran.append(job_id)
        running.set()
        release.wait(10)
        return True

    monkeypatch.setattr(jobs, "run_job", blocking_job)
    monkeypatch.setattr(runner_module, "fair_order", sorted)  # no rows: ids in order
    runner = JobRunner(1)
    runner.submit(1)
    assert running.wait(5)
    runner.submit(2)  # waits for the one thread

    stopping = threading.Thread(target=runner.shutdown, daemon=True)
    stopping.start()
    stopping.join(5)
    release.set()
    assert not stopping.is_alive(), "shutdown hung on its own lock"
    assert runner.wait_idle(5)
    assert ran == [1]  # the waiting job was dropped, not run
