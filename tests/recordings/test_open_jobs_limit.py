"""A user has at most ``MAX_OPEN_JOBS`` imports and re-cleans open; polls never pile up jobs.

Beyond the limit an import or a re-clean gets 429 and leaves nothing behind; a job
that ends makes room. The runner's poll finds waiting jobs queued again every time:
each is handed to a job thread once, however often it is found.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from recordings import jobs, services
from recordings.models import RecordingJob, StreamRecording
from recordings.runner import JobRunner
from tests.recordings.conftest import encoded, signal, upload

pytestmark = pytest.mark.django_db(transaction=True)

DATA = encoded(signal(1.0), "WAV")


def _no_job(job_id: int) -> None:
    """Jobs stay queued: nothing runs them here."""


def _import(user: Any, title: str) -> StreamRecording:
    return services.do_import(user, upload(DATA), title, "identity", 0.0, _no_job)


def test_imports_past_the_limit_are_429(friends, settings):
    alice, bob, _ = friends
    settings.MAX_OPEN_JOBS = 2
    first, _ = _import(alice, "one"), _import(alice, "two")
    with pytest.raises(services.TooMany) as refused:
        _import(alice, "three")
    assert refused.value.status == 429
    assert "2 recordings being processed" in refused.value.message
    assert StreamRecording.objects.filter(owner=alice).count() == 2
    _import(bob, "bob's own")  # the limit is per user
    RecordingJob.objects.filter(recording=first).update(status=RecordingJob.Status.DONE)
    _import(alice, "three")  # a job that ended made room


def test_a_reclean_past_the_limit_is_429(friends, settings):
    alice, _, _ = friends
    settings.MAX_OPEN_JOBS = 1
    rec = _import(alice, "one")
    RecordingJob.objects.filter(recording=rec).update(status=RecordingJob.Status.DONE)
    StreamRecording.objects.filter(pk=rec.pk).update(status=StreamRecording.Status.READY)
    _import(alice, "two")
    with pytest.raises(services.TooMany):
        services.do_request_reclean(alice, rec.pk, "identity", 0.0, _no_job)
    assert not rec.jobs.filter(status=RecordingJob.Status.QUEUED).exists()


def test_each_poll_hands_a_waiting_job_over_once(friends, settings, monkeypatch):
    alice, _, _ = friends
    settings.MAX_OPEN_JOBS = 10
    job_ids = [_import(alice, f"take {i}").jobs.get().pk for i in range(3)]
    release = threading.Event()
    ran: list[int] = []

    def slow_job(job_id: int, stop: threading.Event | None = None) -> None:
        release.wait(10)
        ran.append(job_id)

    monkeypatch.setattr(jobs, "run_job", slow_job)
    runner = JobRunner(workers=1)
    try:
        for _ in range(5):  # five polls while the first job holds the only thread
            assert runner.resume() == 3
        release.set()
        assert runner.wait_idle(10)
    finally:
        runner.shutdown()
    assert sorted(ran) == sorted(job_ids)
