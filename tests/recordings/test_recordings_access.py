"""Who can list, read, rename and delete recordings (owner, friend, outsider, anonymous)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.storage import default_storage

from recordings.models import StreamRecording

from .conftest import make_recording

# Audio is read on the download lanes, whose threads see only committed rows.
pytestmark = pytest.mark.django_db(transaction=True)


def test_list_shows_own_and_friends_recordings(rec, as_alice, as_bob, as_carol, tmp_path, carol):
    make_recording(carol, tmp_path, title="Carol's")
    mine = as_alice.get("/api/recordings/").json()
    assert [r["title"] for r in mine["recordings"]] == ["Test"]
    item = mine["recordings"][0]
    assert {"id", "owner", "title", "duration", "created_at", "audio_url"} <= item.keys()
    assert item["owner"] == "alice" and item["is_owner"] is True
    assert item["audio_url"] == f"/api/recordings/{rec.pk}/audio/"
    assert item["raw_audio_url"] == f"/api/recordings/{rec.pk}/audio/?version=raw"
    assert item["duration"] == pytest.approx(3.0)
    assert mine["storage"]["used_bytes"] == rec.size_bytes > 0

    bobs = as_bob.get("/api/recordings/").json()["recordings"]
    assert [(r["title"], r["is_owner"]) for r in bobs] == [("Test", False)]
    carols = as_carol.get("/api/recordings/").json()["recordings"]
    assert [r["title"] for r in carols] == ["Carol's"]


@pytest.mark.parametrize("path", ["/", "/audio/", "/peaks/"])
def test_outsider_and_anonymous_cannot_read(rec, as_carol, anon, path):
    url = f"/api/recordings/{rec.pk}{path}"
    assert as_carol.get(url).status_code == 404
    resp = anon.get(url)
    assert resp.status_code == 401 and "error" in resp.json()


def test_friend_reads_but_cannot_change(rec, as_bob):
    assert as_bob.get(f"/api/recordings/{rec.pk}/").json()["title"] == "Test"
    assert as_bob.get(f"/api/recordings/{rec.pk}/audio/").status_code == 200
    resp = as_bob.patch(f"/api/recordings/{rec.pk}/", {"title": "mine now"})
    assert resp.status_code == 403 and "alice" in resp.json()["error"]
    assert as_bob.delete(f"/api/recordings/{rec.pk}/").status_code == 403
    assert as_bob.post(f"/api/recordings/{rec.pk}/reclean/", {}).status_code == 403
    assert StreamRecording.objects.get(pk=rec.pk).title == "Test"


def test_unfriending_revokes_access(rec, as_alice, as_bob):
    assert as_alice.delete("/api/friends/bob/").status_code == 204
    assert as_bob.get(f"/api/recordings/{rec.pk}/").status_code == 404
    assert as_bob.get("/api/recordings/").json()["recordings"] == []


def test_owner_renames(rec, as_alice):
    resp = as_alice.patch(f"/api/recordings/{rec.pk}/", {"title": "  Morning show "})
    assert resp.status_code == 200
    assert resp.json()["title"] == "Morning show"
    assert StreamRecording.objects.get(pk=rec.pk).title == "Morning show"


@pytest.mark.parametrize(
    "body",
    [{}, {"title": ""}, {"title": 5}, {"title": "x" * 201}],
)
def test_rename_rejects_bad_titles(rec, as_alice, body: dict[str, Any]):
    resp = as_alice.patch(f"/api/recordings/{rec.pk}/", body)
    assert resp.status_code == 400 and resp.json()["error"]


def test_rename_rejects_malformed_json(rec, as_alice):
    resp = as_alice.patch(f"/api/recordings/{rec.pk}/", raw="{title:")
    assert resp.status_code == 400 and "JSON" in resp.json()["error"]


def test_owner_deletes_recording_and_files(rec, as_alice, django_capture_on_commit_callbacks):
    names = [rec.file.name, rec.raw_file.name]
    assert all(default_storage.exists(n) for n in names)
    with django_capture_on_commit_callbacks(execute=True):
        assert as_alice.delete(f"/api/recordings/{rec.pk}/").status_code == 204
    assert not StreamRecording.objects.filter(pk=rec.pk).exists()
    assert not any(default_storage.exists(n) for n in names)
    assert as_alice.get(f"/api/recordings/{rec.pk}/").status_code == 404


def test_unknown_recording_is_404(as_alice):
    assert as_alice.get("/api/recordings/999999/").status_code == 404
    assert as_alice.delete("/api/recordings/999999/").status_code == 404


def test_unsafe_methods_need_csrf(rec, as_alice):
    resp = as_alice.client.patch(
        f"/api/recordings/{rec.pk}/", '{"title": "x"}', content_type="application/json"
    )
    assert resp.status_code == 403 and "CSRF" in resp.json()["error"]


def test_wrong_method_is_405(rec, as_alice):
    assert as_alice.post(f"/api/recordings/{rec.pk}/", {}).status_code == 405
