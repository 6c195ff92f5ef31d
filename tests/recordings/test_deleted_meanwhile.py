"""A request about a recording that is deleted after the request read it answers 404 and
changes nothing: a rename (not a 500 from ``save(update_fields=...)`` finding no row), a
re-clean (not a 409 "already being processed" from a job row failing its foreign key)."""

from __future__ import annotations

from typing import Any

import pytest

from recordings import services
from recordings.models import RecordingJob, StreamRecording

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def deleted_after_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """``check_owned`` finds the recording, then another request's DELETE lands."""
    read = services.check_owned

    def read_then_deleted(user: Any, recording_id: int) -> StreamRecording:
        found = read(user, recording_id)
        services.do_delete(found)
        return found

    monkeypatch.setattr(services, "check_owned", read_then_deleted)


@pytest.mark.usefixtures("deleted_after_read")
def test_rename_of_a_recording_deleted_meanwhile_is_404(rec: StreamRecording, as_alice: Any):
    resp = as_alice.patch(f"/api/recordings/{rec.pk}/", {"title": "New name"})
    assert resp.status_code == 404, resp.content
    assert "error" in resp.json()
    assert not StreamRecording.objects.exists()


@pytest.mark.usefixtures("deleted_after_read")
def test_reclean_of_a_recording_deleted_meanwhile_is_404(rec: StreamRecording, as_alice: Any):
    resp = as_alice.post(f"/api/recordings/{rec.pk}/reclean/", {"model": "identity"})
    assert resp.status_code == 404, resp.content
    assert not RecordingJob.objects.exists()
