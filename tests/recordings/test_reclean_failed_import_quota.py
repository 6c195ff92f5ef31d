"""Re-cleaning an import whose cleaning failed adds a whole cleaned version: it must fit
in the quota, and it is reserved (the recording is processing, counted twice like an
import) until its job ends; a job that fails again gives the reservation back."""

from __future__ import annotations

from typing import Any

import pytest

from recordings import jobs, services
from recordings.models import RecordingJob, StreamRecording

from .conftest import encoded, signal, upload

pytestmark = pytest.mark.django_db(transaction=True)

DATA = encoded(signal(2.0), "WAV")


def _no_job(job_id: int) -> None:
    """Jobs run when the test says so."""


def _failed_import(user: Any, title: str) -> StreamRecording:
    rec = services.do_import(user, upload(DATA), title, "no-such-model", 100.0, _no_job)
    jobs.run_job(rec.jobs.get().pk)  # the model cannot load: the job fails
    rec.refresh_from_db()
    assert rec.status == StreamRecording.Status.FAILED and not rec.file
    return rec


def test_a_reclean_of_a_failed_import_reserves_its_cleaned_version(friends, settings):
    alice, _, _ = friends
    first, second = _failed_import(alice, "first"), _failed_import(alice, "second")
    raw = first.size_bytes
    assert services.storage_used(alice.pk) == 2 * raw
    settings.RECORDINGS_QUOTA_BYTES = 3 * raw  # room for one cleaned version, not two

    job = services.do_request_reclean(alice, first.pk, "no-such-model", 100.0, _no_job)
    first.refresh_from_db()
    assert (first.status, first.error) == (StreamRecording.Status.PROCESSING, "")
    assert services.storage_used(alice.pk) == 3 * raw

    with pytest.raises(services.ApiError) as refused:
        services.do_request_reclean(alice, second.pk, "identity", 100.0, _no_job)
    assert refused.value.status == 409
    second.refresh_from_db()
    assert second.status == StreamRecording.Status.FAILED
    assert not RecordingJob.objects.filter(recording=second, kind="reclean").exists()

    jobs.run_job(job.pk)  # fails again: the recording is failed, its reservation freed
    first.refresh_from_db()
    assert first.status == StreamRecording.Status.FAILED and "Could not clean" in first.error
    assert services.storage_used(alice.pk) == 2 * raw
    services.do_request_reclean(alice, second.pk, "identity", 100.0, _no_job)  # room again
