"""The audio route reads storage only for a request it will serve: a revalidation whose
ETag matches (304) opens nothing, and a user at the download limit is refused (429) before
the file is opened, HEADs included (on S3, opening costs a HEAD and a first block). A HEAD
holds a download slot while the file is open only, and a request that goes away while the
file is opened holds it until the open is done, then closes what was opened."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from django.test import AsyncClient

from recordings import views
from recordings.downloads import SLOTS

pytestmark = pytest.mark.django_db(transaction=True)


class CountingOpens:
    """Stands in for ``open_audio`` in the view: counts the opens, then opens."""

    def __init__(self) -> None:
        self.opens = 0
        self._real = views.open_audio

    def __call__(self, name: str, fmt: str) -> Any:
        self.opens += 1
        return self._real(name, fmt)


@pytest.fixture
def opens(monkeypatch: pytest.MonkeyPatch) -> CountingOpens:
    counting = CountingOpens()
    monkeypatch.setattr(views, "open_audio", counting)
    return counting


def url(rec: Any) -> str:
    return f"/api/recordings/{rec.pk}/audio/"


def test_a_matching_etag_is_answered_without_opening(rec, as_alice, opens):
    etag = as_alice.client.head(url(rec))["ETag"]
    assert opens.opens == 1
    for method in (as_alice.client.get, as_alice.client.head):
        resp = method(url(rec), HTTP_IF_NONE_MATCH=etag)
        assert resp.status_code == 304 and resp["ETag"] == etag
    assert opens.opens == 1


def test_a_user_at_the_limit_opens_nothing(rec, as_alice, alice, opens, settings):
    settings.MAX_DOWNLOADS_PER_USER = 2
    for _ in range(2):
        assert SLOTS.take(alice.pk, 2)  # two downloads open elsewhere
    try:
        for method in (as_alice.client.get, as_alice.client.head):
            refused = method(url(rec))
            assert refused.status_code == 429, refused.content
        assert opens.opens == 0
    finally:
        SLOTS.give_back(alice.pk)
        SLOTS.give_back(alice.pk)
    head = as_alice.client.head(url(rec))
    assert head.status_code == 200 and opens.opens == 1
    assert SLOTS.take(alice.pk, 2) and SLOTS.take(alice.pk, 2)  # the HEAD gave its slot back
    SLOTS.give_back(alice.pk)
    SLOTS.give_back(alice.pk)
    assert as_alice.client.get(url(rec), HTTP_RANGE="bytes=99999999-").status_code == 416
    assert SLOTS.take(alice.pk, 2) and SLOTS.take(alice.pk, 2)  # and the 416 too
    SLOTS.give_back(alice.pk)
    SLOTS.give_back(alice.pk)


class HeldOpen:
    """Stands in for ``open_audio``: waits for ``release`` (a slow storage), then hands back
    a source that notes whether it was closed."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.closed = threading.Event()

    def __call__(self, name: str, fmt: str) -> Any:
        self.started.set()
        self.release.wait(10)
        held = self

        class Source:
            size = 1000

            def close(self) -> None:
                held.closed.set()

        return Source()


async def test_a_request_gone_while_opening_closes_what_it_opened(
    rec, alice, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The open runs on a download thread: a request cancelled meanwhile (the client went
    away) leaves it running. Its source is closed once it is open, and its slot is held
    until then, not freed while the thread still reads storage."""
    held = HeldOpen()
    monkeypatch.setattr(views, "open_audio", held)
    client = AsyncClient()
    await client.aforce_login(alice)
    request = asyncio.ensure_future(client.get(url(rec)))
    assert await asyncio.to_thread(held.started.wait, 10)
    request.cancel()
    with pytest.raises(asyncio.CancelledError):
        await request
    assert not SLOTS.take(alice.pk, 1)  # still held: the thread is still opening
    held.release.set()
    assert await asyncio.to_thread(held.closed.wait, 10)
    for _ in range(100):  # the done callback runs on the loop right after
        if SLOTS.take(alice.pk, 1):
            break
        await asyncio.sleep(0.01)
    else:
        raise AssertionError("the slot was never given back")
    SLOTS.give_back(alice.pk)
