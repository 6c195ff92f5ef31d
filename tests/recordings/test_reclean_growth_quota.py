"""A re-clean whose new version is larger than the one it replaces must fit in the quota.

The request checks only that the owner is within the quota, since a new version is most
often about as large as the old one. But a lighter re-clean of a well-cleaned recording
compresses worse (noise left in), and the owner's storage grew past the quota by up to
the raw size of every recording re-cleaned that way. The job now checks the growth when
it finishes, under the owner's lock: one that does not fit fails with the quota's
message, and the recording keeps its version.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import default_storage

from recordings import jobs, services
from recordings.models import RecordingJob, StreamRecording

from .conftest import encoded, make_recording, signal, upload

pytestmark = pytest.mark.django_db(transaction=True)


def _no_job(job_id: int) -> None:
    """Jobs run when the test says so."""


def _stored(owner: Any) -> list[str]:
    return sorted(default_storage.listdir(f"recordings/{owner.pk}")[1])


def _lighter_version_size(owner: Any, tmp_path: Path) -> int:
    """How large the identity re-clean of a recording like the test's is."""
    probe = make_recording(owner, tmp_path, title="probe")
    job = services.do_request_reclean(owner, probe.pk, "identity", 100.0, _no_job)
    jobs.run_job(job.pk)
    probe.refresh_from_db()
    size = probe.size_bytes
    services.do_delete(probe)
    return size


def test_a_reclean_that_grows_past_the_quota_fails_and_keeps_the_old_version(
    friends, settings, tmp_path
):
    alice = friends[0]
    grown = _lighter_version_size(alice, tmp_path)
    rec = make_recording(alice, tmp_path)  # cleaned: the bare tone, well compressed
    growth = grown - rec.size_bytes
    assert growth > 10_000  # the identity "cleaned" version is the noisy raw one
    settings.RECORDINGS_QUOTA_BYTES = rec.size_bytes + growth // 2  # within it now
    before = _stored(alice)

    job = services.do_request_reclean(alice, rec.pk, "identity", 100.0, _no_job)
    jobs.run_job(job.pk)

    job.refresh_from_db()
    assert job.status == RecordingJob.Status.FAILED
    assert "does not fit" in job.error and "quota" in job.error
    kept = StreamRecording.objects.get(pk=rec.pk)
    assert (kept.status, kept.file.name, kept.size_bytes) == (
        "ready",
        rec.file.name,
        rec.size_bytes,
    )
    assert _stored(alice) == before  # the new version's file went
    assert services.storage_used(alice.pk) <= settings.RECORDINGS_QUOTA_BYTES


def test_a_reclean_that_grows_within_the_quota_is_kept(friends, settings, tmp_path):
    alice = friends[0]
    grown = _lighter_version_size(alice, tmp_path)
    rec = make_recording(alice, tmp_path)
    settings.RECORDINGS_QUOTA_BYTES = grown + 1

    job = services.do_request_reclean(alice, rec.pk, "identity", 100.0, _no_job)
    jobs.run_job(job.pk)

    job.refresh_from_db()
    assert job.status == RecordingJob.Status.DONE
    rec.refresh_from_db()
    assert rec.size_bytes == grown and rec.file.name != ""


def test_an_import_whose_cleaned_version_outgrows_its_reservation_fails(friends, settings):
    """An import reserves a cleaned version as large as its raw one; one that comes out
    larger must fit too (here the reservation is made smaller than the result)."""
    alice = friends[0]
    rec = services.do_import(
        alice, upload(encoded(signal(2.0), "WAV")), "", "identity", 100.0, _no_job
    )
    StreamRecording.objects.filter(pk=rec.pk).update(size_bytes=1000)  # reserves 1000 more
    settings.RECORDINGS_QUOTA_BYTES = services.storage_used(alice.pk) + 1000
    before = _stored(alice)

    jobs.run_job(rec.jobs.get().pk)

    rec.refresh_from_db()
    assert rec.status == StreamRecording.Status.FAILED and not rec.file
    assert rec.error.startswith("The new version does not fit.")
    assert rec.jobs.get().status == RecordingJob.Status.FAILED
    assert _stored(alice) == before


def test_a_job_queued_again_meanwhile_is_not_failed_by_the_refusal(
    friends, settings, tmp_path, monkeypatch
):
    """Taken for dead and queued again by another process's poll while it stored its
    result: the refusal leaves the row to the run that owns it now."""
    alice = friends[0]
    rec = make_recording(alice, tmp_path)
    settings.RECORDINGS_QUOTA_BYTES = rec.size_bytes  # no room to grow at all
    job = services.do_request_reclean(alice, rec.pk, "identity", 100.0, _no_job)
    real_store = jobs.store_file

    def store_then_lose_the_job(local: Any, name: str) -> Any:
        stored = real_store(local, name)
        RecordingJob.objects.filter(pk=job.pk).update(status=RecordingJob.Status.QUEUED)
        return stored

    monkeypatch.setattr(jobs, "store_file", store_then_lose_the_job)
    before = _stored(alice)

    jobs.run_job(job.pk)

    job.refresh_from_db()
    assert (job.status, job.error) == (RecordingJob.Status.QUEUED, "")
    rec.refresh_from_db()
    assert rec.status == StreamRecording.Status.READY
    assert _stored(alice) == before
