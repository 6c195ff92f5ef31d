"""A running job is never taken for dead while it lives: claiming it counts as a
heartbeat (a job may wait in the queue longer than ``STALE_AFTER``), and it beats on its
own while no progress comes (fetching the raw track, loading a model, storing the result
can each outlast ``STALE_AFTER``). Another process's poll then leaves it alone."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from recordings import jobs
from recordings.models import RecordingJob
from recordings.runner import JobRunner

pytestmark = pytest.mark.django_db(transaction=True)

LONG_AGO = timedelta(minutes=3)
"""Older than ``jobs.STALE_AFTER``."""


class OtherProcess:
    """Another server process's job runner: its poll, and the jobs it would start."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.runner = JobRunner(1)
        self.started: list[int] = []
        monkeypatch.setattr(self.runner, "submit", self.started.append)

    def poll(self) -> None:
        self.runner.resume()


def _age(job: RecordingJob) -> None:
    RecordingJob.objects.filter(pk=job.pk).update(updated_at=timezone.now() - LONG_AGO)


def _beats_again(job: RecordingJob, within_s: float = 10.0) -> bool:
    """Whether the aged row is fresh again (a beat from the job's own thread) before
    ``within_s`` passes: a bound for a broken heartbeat, not a timing claim."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if RecordingJob.objects.get(pk=job.pk).updated_at > timezone.now() - jobs.STALE_AFTER:
            return True
        time.sleep(0.01)
    return False


def test_a_job_claimed_after_a_long_wait_is_not_taken_for_dead(rec, monkeypatch):
    job = RecordingJob.objects.create(recording=rec, kind="reclean", model="identity")
    _age(job)  # it waited behind other jobs: its row is as old as its creation
    other = OtherProcess(monkeypatch)
    seen: dict[str, Any] = {}
    real_fetch = jobs.fetch_file

    def fetch_while_another_polls(name: str, dest: Path) -> Path:
        other.poll()  # claimed, no progress yet
        seen["status"] = RecordingJob.objects.get(pk=job.pk).status
        return real_fetch(name, dest)

    monkeypatch.setattr(jobs, "fetch_file", fetch_while_another_polls)
    jobs.run_job(job.pk)
    assert seen["status"] == "running" and other.started == []
    assert RecordingJob.objects.get(pk=job.pk).status == "done"


def test_a_job_beats_while_no_progress_comes(rec, monkeypatch):
    monkeypatch.setattr(jobs, "HEARTBEAT_EVERY", 0.01, raising=False)
    job = RecordingJob.objects.create(recording=rec, kind="reclean", model="identity")
    other = OtherProcess(monkeypatch)
    seen: dict[str, Any] = {}
    real_fetch = jobs.fetch_file

    def slow_fetch(name: str, dest: Path) -> Path:
        _age(job)  # a download that has taken longer than STALE_AFTER so far
        seen["beaten"] = _beats_again(job)
        other.poll()
        seen["status"] = RecordingJob.objects.get(pk=job.pk).status
        return real_fetch(name, dest)

    monkeypatch.setattr(jobs, "fetch_file", slow_fetch)
    jobs.run_job(job.pk)
    assert seen["status"] == "running" and other.started == [], seen
    assert RecordingJob.objects.get(pk=job.pk).status == "done"
