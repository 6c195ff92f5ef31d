"""A rename whose recording is deleted after the request read it answers 404 (the
recording is gone), not a 500 from ``save(update_fields=...)`` finding no row."""

from __future__ import annotations

from typing import Any

import pytest

from recordings import services
from recordings.models import StreamRecording

pytestmark = pytest.mark.django_db(transaction=True)


def test_rename_of_a_recording_deleted_meanwhile_is_404(
    rec: StreamRecording, as_alice: Any, monkeypatch: pytest.MonkeyPatch
):
    read = services.check_owned

    def read_then_deleted(user: Any, recording_id: int) -> StreamRecording:
        found = read(user, recording_id)
        services.do_delete(found)  # another request's DELETE lands here
        return found

    monkeypatch.setattr(services, "check_owned", read_then_deleted)
    resp = as_alice.patch(f"/api/recordings/{rec.pk}/", {"title": "New name"})
    assert resp.status_code == 404, resp.content
    assert "error" in resp.json()
    assert not StreamRecording.objects.exists()
