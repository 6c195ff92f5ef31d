"""A job whose server process died (running, no heartbeat for ``STALE_AFTER``) is put back
to queued from scratch by the next poll, and its owner is told, as a job stopped by its
own server's shutdown is: the page had kept showing the dead run's progress."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from recordings import jobs
from recordings.models import RecordingJob
from recordings.runner import JobRunner

from .conftest import make_recording

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def told(monkeypatch: pytest.MonkeyPatch) -> list[tuple[list[int], dict[str, Any]]]:
    """Every event the job module publishes: (user ids, event)."""
    out: list[tuple[list[int], dict[str, Any]]] = []
    monkeypatch.setattr(jobs, "publish", lambda users, event: out.append((list(users), event)))
    return out


def running_job(rec: Any, progress: float, beat_ago: timedelta) -> RecordingJob:
    job = RecordingJob.objects.create(recording=rec, kind="reclean", model="identity")
    RecordingJob.objects.filter(pk=job.pk).update(
        status=RecordingJob.Status.RUNNING, progress=progress, updated_at=timezone.now() - beat_ago
    )
    return job


def test_a_dead_job_is_queued_from_scratch_and_its_owner_told(
    rec, friends, tmp_path, monkeypatch, told
):
    dead = running_job(rec, 0.6, jobs.STALE_AFTER + timedelta(minutes=1))
    other = make_recording(friends[0], tmp_path, title="Other")
    alive = running_job(other, 0.3, timedelta(seconds=1))
    runner = JobRunner(1)
    started: list[int] = []
    monkeypatch.setattr(runner, "submit", started.append)
    try:
        assert runner.resume() == 1
    finally:
        runner.shutdown()

    assert started == [dead.pk]
    row = RecordingJob.objects.get(pk=dead.pk)
    assert (row.status, row.progress) == ("queued", 0.0)
    assert row.updated_at > timezone.now() - timedelta(minutes=1)
    assert told == [
        (
            [rec.owner_id],
            {"type": "recording_job", "recording_id": rec.pk, "job": jobs.job_json(row)},
        )
    ]
    still = RecordingJob.objects.get(pk=alive.pk)
    assert (still.status, still.progress) == ("running", 0.3)  # it beats: left alone


def test_a_job_that_beats_again_before_it_is_requeued_keeps_running(rec, told):
    """Found dead, then its heartbeat lands before the update: the update leaves it."""
    job = running_job(rec, 0.5, jobs.STALE_AFTER + timedelta(minutes=1))
    cutoff = timezone.now() - jobs.STALE_AFTER
    RecordingJob.objects.filter(pk=job.pk).update(updated_at=timezone.now())  # a late beat
    assert jobs.requeue(job.pk, stale_before=cutoff) is False
    assert RecordingJob.objects.get(pk=job.pk).status == "running"
    assert told == []
