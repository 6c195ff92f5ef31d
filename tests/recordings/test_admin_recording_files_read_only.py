"""The admin's recording form edits the title and the owner only: clearing or uploading a
file there would leave the stored file behind for good (files go only with their row), put
an unchecked file in the library and leave ``size_bytes`` (the quota) wrong. Recordings
come from live streams and imports: the admin adds none (one would have no file)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from recordings.models import StreamRecording

pytestmark = pytest.mark.django_db


def test_admin_cannot_clear_or_replace_the_stored_files(
    rec: StreamRecording, admin_user: Any, tmp_path: Path
):
    client = Client()
    client.force_login(admin_user)
    url = f"/admin/recordings/streamrecording/{rec.pk}/change/"
    form = {
        "owner": rec.owner_id, "title": "Renamed by staff", "file-clear": "on",
        "raw_file": SimpleUploadedFile("evil.txt", b"not audio"), "duration": "1",
        "source": "live", "status": "ready", "error": "", "model": "identity",
        "atten_lim_db": "100", "size_bytes": "0", "gap_seconds": "0", "db_removed": "[]",
        "jobs-TOTAL_FORMS": "0", "jobs-INITIAL_FORMS": "0", "jobs-MIN_NUM_FORMS": "0",
        "jobs-MAX_NUM_FORMS": "1000",
    }  # fmt: skip
    resp = client.post(url, form)
    assert resp.status_code == 302, resp.content[-2000:]
    fresh = StreamRecording.objects.get(pk=rec.pk)
    assert fresh.title == "Renamed by staff"
    assert (fresh.file.name, fresh.raw_file.name) == (rec.file.name, rec.raw_file.name)
    assert fresh.size_bytes == rec.size_bytes and fresh.duration == rec.duration
    assert not default_storage.exists(f"recordings/{rec.owner_id}/evil.txt")


def test_admin_cannot_add_a_recording(admin_user: Any):
    client = Client()
    client.force_login(admin_user)
    assert client.get("/admin/recordings/streamrecording/add/").status_code == 403
