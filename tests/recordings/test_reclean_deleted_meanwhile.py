"""A re-clean whose recording is deleted after the request read it answers 404 and
queues nothing; it had answered 409 "already being processed" (its job row failed the
foreign key at commit)."""

from __future__ import annotations

from typing import Any

import pytest

from recordings import services
from recordings.models import RecordingJob, StreamRecording

pytestmark = pytest.mark.django_db(transaction=True)


def test_reclean_of_a_recording_deleted_meanwhile_is_404(
    rec: StreamRecording, as_alice: Any, monkeypatch: pytest.MonkeyPatch
):
    read = services.check_owned

    def read_then_deleted(user: Any, recording_id: int) -> StreamRecording:
        found = read(user, recording_id)
        StreamRecording.objects.filter(pk=found.pk).delete()  # a DELETE committed here
        return found

    monkeypatch.setattr(services, "check_owned", read_then_deleted)
    resp = as_alice.post(f"/api/recordings/{rec.pk}/reclean/", {"model": "identity"})
    assert resp.status_code == 404, resp.content
    assert not RecordingJob.objects.exists()
