"""A deleted recording takes its stored files with it, whichever way it is deleted: the
API, the admin (one recording or a bulk selection), or its owner's account deleted.
Each file is deleted once, after the deletion commits."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.test import Client

from recordings.models import StreamRecording

from .conftest import make_recording

pytestmark = pytest.mark.django_db(transaction=True)


def _names(*recs: StreamRecording) -> list[str]:
    return [n for r in recs for n in (r.file.name, r.raw_file.name)]


def _left(names: list[str]) -> list[str]:
    return [n for n in names if default_storage.exists(n)]


@pytest.fixture
def admin_client(admin_user: Any) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


@pytest.fixture
def deletions(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How often each stored name was deleted (the storage still deletes it)."""
    seen: Counter[str] = Counter()
    storage = default_storage.__class__  # the configured class, not the lazy wrapper
    real = storage.delete

    def counting(self: Any, name: str) -> None:
        seen[name] += 1
        real(self, name)

    monkeypatch.setattr(storage, "delete", counting)
    return seen


def test_admin_delete_deletes_the_files(rec, admin_client):
    names = _names(rec)
    resp = admin_client.post(f"/admin/recordings/streamrecording/{rec.pk}/delete/", {"post": "yes"})
    assert resp.status_code == 302
    assert not StreamRecording.objects.filter(pk=rec.pk).exists()
    assert _left(names) == []


def test_admin_bulk_delete_deletes_the_files(friends, tmp_path, admin_client):
    alice, bob, _ = friends
    recs = [
        make_recording(alice, tmp_path, title="one"),
        make_recording(bob, tmp_path, title="two"),
    ]
    names = _names(*recs)
    resp = admin_client.post(
        "/admin/recordings/streamrecording/",
        {"action": "delete_selected", "_selected_action": [r.pk for r in recs], "post": "yes"},
    )
    assert resp.status_code == 302
    assert not StreamRecording.objects.exists()
    assert _left(names) == []


def test_deleting_the_owner_deletes_the_files(rec, alice, deletions):
    names = _names(rec)
    alice.delete()
    assert not StreamRecording.objects.filter(pk=rec.pk).exists()
    assert _left(names) == []
    assert deletions == Counter(names)
