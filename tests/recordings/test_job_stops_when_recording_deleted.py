"""A job whose recording is deleted while it cleans stops within a couple of seconds
(the progress update it already makes finds no row) and stores nothing, instead of
cleaning to the end and discarding the result."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from denoise.filedenoise import denoise_file
from recordings import jobs, services
from recordings.models import RecordingJob
from recordings.runner import JobRunner
from recordings.storage import OWNER_LOCK

from .conftest import make_recording

pytestmark = pytest.mark.django_db(transaction=True)

BLOCK_PAUSE_S = 0.1
"""Extra time per engine block: a 120 s file takes over 6 s, far beyond the bound."""


def test_deleting_the_recording_stops_its_job(friends, tmp_path, monkeypatch):
    rec = make_recording(friends[0], tmp_path, seconds=120.0)
    folder = Path(settings.MEDIA_ROOT) / "recordings" / str(rec.owner_id)
    job = RecordingJob.objects.create(recording=rec, kind="reclean", model="identity")
    cleaning = threading.Event()

    def slow_engine(src: Path, dst: Path, model: str, atten: float, progress: Any) -> int:
        def paced(done: int, total: int) -> None:
            cleaning.set()
            time.sleep(BLOCK_PAUSE_S)
            progress(done, total)

        return denoise_file(src, dst, model, atten, paced)

    monkeypatch.setattr(jobs, "denoise_file", slow_engine)
    runner = JobRunner(1)
    try:
        runner.submit(job.pk)
        assert cleaning.wait(30)
        services.do_delete(rec)
        assert runner.wait_idle(2.0), "the job kept cleaning a deleted recording"
    finally:
        runner.shutdown()
        assert runner.wait_idle(60)
    assert not RecordingJob.objects.filter(pk=job.pk).exists()
    assert list(folder.iterdir()) == []  # the recording's files went, and nothing came
    scratch = Path(settings.SPOOL_DIR) / "tmp"
    assert [p for p in scratch.rglob("*") if p.is_file() and p.name != OWNER_LOCK] == []
