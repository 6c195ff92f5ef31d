"""DELETE takes the files the row names when it is deleted, not when the request loaded
it: a job that finished in between switched the row to a new cleaned file, which goes
too (and each file is deleted once)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from django.core.files.storage import default_storage

from recordings import jobs, services
from recordings.models import RecordingJob, StreamRecording

pytestmark = pytest.mark.django_db(transaction=True)


def test_delete_after_a_job_switched_the_file_leaves_no_orphan(rec, alice, monkeypatch):
    deleted: Counter[str] = Counter()
    storage = default_storage.__class__
    real_delete = storage.delete

    def counting(self: Any, name: str) -> None:
        deleted[name] += 1
        real_delete(self, name)

    stale = services.check_owned(alice, rec.pk)  # what the DELETE view loaded
    job = RecordingJob.objects.create(recording=rec, kind="reclean", model="identity")
    jobs.run_job(job.pk)  # finishes before do_delete runs
    rec.refresh_from_db()
    assert rec.file.name != stale.file.name and default_storage.exists(rec.file.name)
    monkeypatch.setattr(storage, "delete", counting)

    services.do_delete(stale)

    assert not StreamRecording.objects.filter(pk=rec.pk).exists()
    assert not default_storage.exists(rec.file.name), "the new cleaned version was orphaned"
    assert not default_storage.exists(rec.raw_file.name)
    assert deleted == Counter([rec.file.name, rec.raw_file.name])
