"""Deleting a recording job in the admin leaves its recording usable: an import whose
open job is deleted is ``failed`` (its quota reservation freed, re-clean possible), not
``processing`` for good; a job whose row is deleted while it runs drops its result
(no stored file orphaned, no crash). Jobs cannot be added or edited there."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from recordings import jobs, services
from recordings.models import RecordingJob, StreamRecording

from .conftest import make_recording

pytestmark = pytest.mark.django_db(transaction=True)


def _stranded_import(owner: Any, tmp_path: Path) -> tuple[StreamRecording, RecordingJob]:
    """An import still waiting for its cleaned version, its job queued."""
    rec = make_recording(owner, tmp_path)
    StreamRecording.objects.filter(pk=rec.pk).update(
        file="", status=StreamRecording.Status.PROCESSING, source=StreamRecording.Source.IMPORT
    )
    rec.refresh_from_db()
    job = RecordingJob.objects.create(recording=rec, kind="import", model="identity")
    return rec, job


def _admin(admin_user: Any) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


@pytest.mark.parametrize("how", ["bulk", "one"])
def test_deleting_an_open_import_job_fails_its_recording(
    friends: Any, tmp_path: Path, admin_user: Any, as_alice: Any, how: str
):
    alice = friends[0]
    rec, job = _stranded_import(alice, tmp_path)
    reserved = services.storage_used(alice.pk)
    client = _admin(admin_user)
    if how == "bulk":
        resp = client.post(
            "/admin/recordings/recordingjob/",
            {"action": "delete_selected", "_selected_action": [job.pk], "post": "yes"},
        )
    else:
        resp = client.post(f"/admin/recordings/recordingjob/{job.pk}/delete/", {"post": "yes"})
    assert resp.status_code == 302
    assert not RecordingJob.objects.filter(pk=job.pk).exists()
    rec.refresh_from_db()
    assert rec.status == StreamRecording.Status.FAILED
    assert rec.error == services.CANCELLED
    assert services.storage_used(alice.pk) == reserved - rec.size_bytes  # reservation freed
    assert as_alice.get(f"/api/recordings/{rec.pk}/audio/").status_code == 404  # not 409
    again = as_alice.post(f"/api/recordings/{rec.pk}/reclean/", {"model": "identity"})
    assert again.status_code == 202, again.content


def test_a_job_deleted_while_it_runs_drops_its_result(
    friends: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: Any
):
    rec = make_recording(friends[0], tmp_path)
    job = RecordingJob.objects.create(recording=rec, kind="reclean", model="identity")
    store = jobs.store_file

    def deleted_while_storing(local: Path, name: str) -> tuple[str, int]:
        services.do_delete_jobs([job.pk])  # the admin deletes it as it finishes
        return store(local, name)

    monkeypatch.setattr(jobs, "store_file", deleted_while_storing)
    before = sorted(p.name for p in Path(settings.MEDIA_ROOT).rglob("*.flac"))
    jobs.run_job(job.pk)
    after = sorted(p.name for p in Path(settings.MEDIA_ROOT).rglob("*.flac"))
    assert after == before  # the new cleaned file was not left behind
    fresh = StreamRecording.objects.get(pk=rec.pk)
    assert fresh.file.name == rec.file.name and fresh.status == StreamRecording.Status.READY
    assert "crashed" not in caplog.text


def test_jobs_cannot_be_added_or_edited(rec: StreamRecording, admin_user: Any):
    job = RecordingJob.objects.create(recording=rec, kind="reclean", model="identity")
    client = _admin(admin_user)
    assert client.get("/admin/recordings/recordingjob/add/").status_code == 403
    resp = client.post(
        f"/admin/recordings/recordingjob/{job.pk}/change/",
        {"recording": rec.pk, "kind": "reclean", "status": "done", "progress": "1",
         "model": "identity", "atten_lim_db": "100", "error": ""},
    )  # fmt: skip
    assert resp.status_code == 403
    job.refresh_from_db()
    assert job.status == RecordingJob.Status.QUEUED
    page = client.get(f"/admin/recordings/streamrecording/{rec.pk}/change/")
    assert page.status_code == 200
    assert b'name="jobs-MAX_NUM_FORMS" value="0"' in page.content  # no inline job added
