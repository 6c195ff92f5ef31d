"""GET /api/recordings/ a page at a time: ``limit`` (default 100, at most 500) and
``before`` (the previous page's ``next``). Walking the pages gives every recording the
viewer may list exactly once, in the list's order, even when recordings are created or
deleted between pages and several share a creation time."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from recordings.listing import PAGE_DEFAULT, PAGE_MAX
from recordings.models import StreamRecording

pytestmark = pytest.mark.django_db

URL = "/api/recordings/"


def _rec(owner: Any, title: str, at: Any, status: str = "ready") -> StreamRecording:
    rec = StreamRecording.objects.create(
        owner=owner, title=title, file=f"{title}.flac", duration=1.0, status=status
    )
    StreamRecording.objects.filter(pk=rec.pk).update(created_at=at)  # auto_now_add otherwise
    return rec


@pytest.fixture
def library(friends: Any) -> list[int]:
    """Alice's 7 recordings and bob's 3 ready ones (and one still processing, which alice
    may not list); four share one creation time. The ids alice sees, in the list's order."""
    alice, bob, carol = friends
    now = timezone.now().replace(microsecond=123_456)
    tie = now - timedelta(hours=1)
    for i in range(7):
        _rec(alice, f"a{i}", tie if i < 3 else now - timedelta(minutes=i))
    for i in range(3):
        _rec(bob, f"b{i}", tie if i == 0 else now - timedelta(days=i))
    _rec(bob, "b-processing", now, status="processing")
    _rec(carol, "c0", now)
    return list(
        StreamRecording.objects.filter(title__regex=r"^[ab]\d$")
        .order_by("-created_at", "-id")
        .values_list("pk", flat=True)
    )


def _walk(client: Any, limit: int) -> tuple[list[int], int]:
    ids: list[int] = []
    pages = 0
    cursor = None
    while True:
        query = f"?limit={limit}" + (f"&before={cursor}" if cursor else "")
        data = client.get(URL + query).json()
        pages += 1
        assert len(data["recordings"]) <= limit
        ids += [r["id"] for r in data["recordings"]]
        cursor = data["next"]
        if cursor is None:
            return ids, pages


@pytest.mark.parametrize("limit", [1, 2, 3, 4, 10])
def test_the_pages_hold_every_recording_once_in_order(library, as_alice, limit):
    ids, pages = _walk(as_alice, limit)
    assert ids == library
    assert pages == -(-len(library) // limit)  # no empty last page


def test_a_page_that_holds_the_rest_has_no_next(library, as_alice):
    data = as_alice.get(URL).json()  # the default page holds all ten
    assert [r["id"] for r in data["recordings"]] == library and data["next"] is None
    assert data["storage"]["quota_bytes"] >= 0


def test_recordings_created_or_deleted_between_pages_neither_repeat_nor_skip(
    library, as_alice, alice
):
    first = as_alice.get(URL + "?limit=4").json()
    assert [r["id"] for r in first["recordings"]] == library[:4]
    _rec(alice, "new", timezone.now() + timedelta(minutes=1))  # newer: on no later page
    StreamRecording.objects.filter(pk=library[3]).delete()  # the cursor's own recording
    second = as_alice.get(URL + f"?limit=4&before={first['next']}").json()
    assert [r["id"] for r in second["recordings"]] == library[4:8]


def test_the_default_page_is_bounded(alice, as_alice):
    now = timezone.now()
    StreamRecording.objects.bulk_create(
        StreamRecording(owner=alice, title=f"r{i}", file=f"r{i}.flac", duration=1.0)
        for i in range(PAGE_DEFAULT + 1)
    )
    assert StreamRecording.objects.filter(created_at__gte=now).count() == PAGE_DEFAULT + 1
    data = as_alice.get(URL).json()
    assert len(data["recordings"]) == PAGE_DEFAULT and data["next"]
    rest = as_alice.get(URL + f"?before={data['next']}").json()
    assert len(rest["recordings"]) == 1 and rest["next"] is None


def test_recordings_dated_before_1970_page_too(alice, as_alice):
    # An administrator may set any date: the cursor counts back from the epoch.
    old = timezone.datetime(1969, 7, 20, 20, 17, 40, 5, tzinfo=timezone.get_current_timezone())
    expected = [_rec(alice, f"o{i}", old - timedelta(days=i)).pk for i in range(3)]
    ids, pages = _walk(as_alice, 1)
    assert ids == expected and pages == 3


def test_an_outsider_pages_through_nothing_of_theirs(library, as_carol):
    data = as_carol.get(URL + "?limit=1").json()
    assert [r["title"] for r in data["recordings"]] == ["c0"] and data["next"] is None


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        f"limit={PAGE_MAX + 1}",
        "limit=-1",
        "limit=ten",
        "limit=",
        "before=",
        "before=abc",
        "before=12-",
        "before=--12-3",
        "before=1.5-3",
        "before=9999999999999999999-1",  # past any date
    ],
)
def test_a_bad_limit_or_cursor_is_a_json_400(as_alice, alice, query):
    resp = as_alice.get(f"{URL}?{query}")
    assert resp.status_code == 400, query
    assert resp.json()["error"]
