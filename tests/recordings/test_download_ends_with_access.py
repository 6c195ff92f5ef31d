"""An open download stops once its reader may no longer read the recording.

Access is asked again every ``RECHECK_S`` while the audio streams (0 here: before
every chunk): a friendship that ends, a logout or a deleted recording cut the
download short; the owner and a friend who stays a friend get every byte.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.contrib.sessions.models import Session
from django.test import AsyncClient

from recordings import ranges
from recordings.models import StreamRecording
from tests.recordings.conftest import make_recording
from users.models import Friendship

pytestmark = pytest.mark.django_db(transaction=True)

CHUNK = 64 * 1024


@pytest.fixture(autouse=True)
def _every_chunk(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ranges, "CHUNK_BYTES", CHUNK)
    monkeypatch.setattr(ranges, "RECHECK_S", 0.0)


def _unfriend() -> None:
    for friendship in Friendship.objects.all():
        friendship.delete()


def _end_sessions() -> None:
    Session.objects.all().delete()


def _delete_recordings() -> None:
    StreamRecording.objects.all().delete()


async def _download(reader: Any, rec: StreamRecording, meanwhile: Callable[[], None] | None):
    """(bytes after the first chunk, bytes promised after it) with ``meanwhile`` run
    once the first chunk arrived."""
    client = AsyncClient()
    await client.aforce_login(reader)
    resp = await client.get(f"/api/recordings/{rec.pk}/audio/?download=1")
    assert resp.status_code == 200
    chunks = resp.streaming_content.__aiter__()
    first = await chunks.__anext__()
    if meanwhile is not None:
        await sync_to_async(meanwhile)()
    rest = 0
    async for chunk in chunks:
        rest += len(chunk)
    return rest, int(resp["Content-Length"]) - len(first)


@pytest.mark.parametrize("what", [_unfriend, _end_sessions, _delete_recordings])
async def test_download_stops_when_access_ends(friends, tmp_path, what):
    alice, bob, _ = friends
    rec = await sync_to_async(make_recording)(alice, tmp_path, seconds=10.0)  # ~0.96 MB
    rest, promised = await _download(bob, rec, what)
    assert promised > 10 * CHUNK
    assert rest <= CHUNK  # at most the chunk already being read when access ended


@pytest.mark.parametrize("reader", ["alice", "bob"])
async def test_download_with_access_is_complete(friends, tmp_path, reader):
    alice, bob, _ = friends
    rec = await sync_to_async(make_recording)(alice, tmp_path, seconds=10.0)
    rest, promised = await _download(alice if reader == "alice" else bob, rec, None)
    assert rest == promised


async def test_the_owner_is_unaffected_by_an_unfriend(friends, tmp_path):
    alice, _, _ = friends
    rec = await sync_to_async(make_recording)(alice, tmp_path, seconds=10.0)
    rest, promised = await _download(alice, rec, _unfriend)
    assert rest == promised
