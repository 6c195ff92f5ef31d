"""A re-clean refused for the quota gets 409 (the state of the library, as going live
with a full quota), not 413: its request body is a few bytes of JSON."""

from __future__ import annotations

import pytest

from recordings.models import RecordingJob

pytestmark = pytest.mark.django_db


def test_reclean_over_quota_is_a_conflict(rec, as_alice, settings):
    settings.RECORDINGS_QUOTA_BYTES = rec.size_bytes - 1
    resp = as_alice.post(f"/api/recordings/{rec.pk}/reclean/", {"model": "identity"})
    assert resp.status_code == 409
    assert "quota" in resp.json()["error"]
    assert not RecordingJob.objects.exists()
