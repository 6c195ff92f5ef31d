"""A server stop does not wait for a running job: the runner's shutdown stops it at its
next block, puts its row back to QUEUED and leaves no partial output; the next start's
recovery runs it again at once (not after ``STALE_AFTER`` or a ``POLL_EVERY`` period)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from denoise.filedenoise import denoise_file
from recordings import jobs
from recordings.models import RecordingJob, StreamRecording
from recordings.runner import JobRunner
from recordings.storage import OWNER_LOCK

from .conftest import make_recording

pytestmark = pytest.mark.django_db(transaction=True)

BLOCK_PAUSE_S = 0.1
"""Extra time per engine block: a 120 s file takes over 6 s, far beyond the bound."""
STOPS_WITHIN_S = 2.0


class SlowEngine:
    """``denoise_file`` with a pause per block (a long file on a slow machine).

    ``cleaning`` is set at the first block; ``partial`` records whether the output file
    existed then (so the test sees there was something to delete).
    """

    def __init__(self) -> None:
        self.cleaning = threading.Event()
        self.partial = False
        self.slow = True

    def __call__(self, src: Path, dst: Path, model: str, atten: float, progress: Any) -> int:
        def paced(done: int, total: int) -> None:
            if not self.cleaning.is_set():
                self.partial = Path(dst).exists()
                self.cleaning.set()
            if self.slow:
                time.sleep(BLOCK_PAUSE_S)
            progress(done, total)

        return denoise_file(src, dst, model, atten, paced)


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch) -> SlowEngine:
    slow = SlowEngine()
    monkeypatch.setattr(jobs, "denoise_file", slow)
    return slow


@pytest.fixture
def runners() -> Iterator[list[JobRunner]]:
    """Runners a test makes; each is shut down and drained before the next test."""
    made: list[JobRunner] = []
    yield made
    for runner in made:
        runner.shutdown()
        assert runner.wait_idle(60), "a job outlived its test"


def scratch_files() -> list[Path]:
    root = Path(settings.SPOOL_DIR) / "tmp"
    return [p for p in root.rglob("*") if p.is_file() and p.name != OWNER_LOCK]


def stored_files(owner_id: int) -> set[str]:
    folder = Path(settings.MEDIA_ROOT) / "recordings" / str(owner_id)
    return {p.name for p in folder.iterdir()}


def long_recording(friends: Any, tmp_path: Path) -> StreamRecording:
    return make_recording(friends[0], tmp_path, seconds=120.0)


def test_shutdown_stops_a_running_job_and_queues_it_again(friends, tmp_path, engine, runners):
    rec = long_recording(friends, tmp_path)
    before = stored_files(rec.owner_id)
    job = RecordingJob.objects.create(recording=rec, kind="reclean", model="identity")
    runner = JobRunner(1)
    runners.append(runner)
    runner.submit(job.pk)
    assert engine.cleaning.wait(30)
    assert engine.partial  # the engine had begun writing its output

    started = time.monotonic()
    runner.shutdown()
    assert runner.wait_idle(STOPS_WITHIN_S), "shutdown waited for the job"
    assert time.monotonic() - started < STOPS_WITHIN_S

    job.refresh_from_db()
    assert (job.status, job.progress, job.error) == ("queued", 0.0, "")
    assert scratch_files() == []  # no partial output left in the scratch folder
    assert stored_files(rec.owner_id) == before  # nothing stored
    rec.refresh_from_db()
    assert rec.status == "ready"  # the previous version is still served


def test_a_job_queued_again_at_shutdown_runs_when_the_next_server_starts(
    friends, tmp_path, engine, runners
):
    rec = long_recording(friends, tmp_path)
    job = RecordingJob.objects.create(recording=rec, kind="reclean", model="identity")
    first = JobRunner(1)
    runners.append(first)
    first.submit(job.pk)
    assert engine.cleaning.wait(30)
    first.shutdown()
    assert first.wait_idle(STOPS_WITHIN_S)
    assert RecordingJob.objects.get(pk=job.pk).status == "queued"

    engine.slow = False
    following = JobRunner(1)  # the next server process
    runners.append(following)
    following.start_polling()
    # Well under POLL_EVERY (30 s) and STALE_AFTER (2 min): recovery at start is prompt.
    deadline = time.monotonic() + 15
    while RecordingJob.objects.get(pk=job.pk).status != "done":
        assert time.monotonic() < deadline, RecordingJob.objects.get(pk=job.pk).status
        time.sleep(0.05)
    assert following.wait_idle(30)


def test_a_row_left_queued_runs_as_soon_as_the_server_starts(rec, runners):
    job = RecordingJob.objects.create(recording=rec, kind="reclean", model="identity")
    runner = JobRunner(1)  # a server starting after a clean stop left the row queued
    runners.append(runner)
    runner.start_polling()
    deadline = time.monotonic() + 10  # POLL_EVERY is 30 s: the first scan must not wait it
    while RecordingJob.objects.get(pk=job.pk).status != "done":
        assert time.monotonic() < deadline, RecordingJob.objects.get(pk=job.pk).status
        time.sleep(0.05)
    assert runner.wait_idle(30)
