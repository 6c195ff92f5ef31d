"""A job whose raw file has vanished from storage fails with a message that says so,
not "Internal error ... please try again" (retrying can never succeed)."""

from __future__ import annotations

import pytest
from django.core.files.storage import default_storage

from recordings import jobs
from recordings.models import RecordingJob, StreamRecording

from .conftest import make_recording

pytestmark = pytest.mark.django_db(transaction=True)

MISSING = "The recording's audio file is missing."


def test_an_import_whose_raw_file_vanished_fails_saying_so(friends, tmp_path):
    rec = make_recording(friends[0], tmp_path)
    default_storage.delete(rec.file.name)
    StreamRecording.objects.filter(pk=rec.pk).update(file="", status="processing")
    default_storage.delete(rec.raw_file.name)
    job = RecordingJob.objects.create(recording=rec, kind="import", model="identity")

    jobs.run_job(job.pk)

    job.refresh_from_db()
    rec.refresh_from_db()
    assert (job.status, job.error) == ("failed", MISSING)
    assert (rec.status, rec.error) == ("failed", MISSING)


def test_a_reclean_whose_raw_file_vanished_fails_saying_so(rec):
    cleaned = rec.file.name
    default_storage.delete(rec.raw_file.name)
    job = RecordingJob.objects.create(recording=rec, kind="reclean", model="identity")

    jobs.run_job(job.pk)

    job.refresh_from_db()
    rec.refresh_from_db()
    assert (job.status, job.error) == ("failed", MISSING)
    assert (rec.status, rec.error, rec.file.name) == ("ready", "", cleaned)  # still served
