"""The admin lists and edits recordings and their jobs under the recordings app."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from recordings.models import RecordingJob, StreamRecording

pytestmark = pytest.mark.django_db


def test_admin_pages(rec: StreamRecording, admin_user: Any) -> None:
    job = RecordingJob.objects.create(recording=rec, kind="reclean", model="identity")
    client = Client()
    client.force_login(admin_user)
    index = client.get("/admin/")
    assert index.status_code == 200
    assert b"/admin/recordings/streamrecording/" in index.content
    assert b"/admin/streams/activestream/" in index.content
    assert b"/admin/streams/streamrecording/" not in index.content
    for url in (
        "/admin/recordings/streamrecording/",
        f"/admin/recordings/streamrecording/{rec.pk}/change/",
        "/admin/recordings/recordingjob/",
        f"/admin/recordings/recordingjob/{job.pk}/change/",
    ):
        assert client.get(url).status_code == 200, url
