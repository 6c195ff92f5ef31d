"""Two friend requests crossing at the same moment: the one that loses the race for the
pair's pending slot accepts the winner's request (API.md: "If the other user already asked
you, this accepts that request"), instead of answering 409.

The race is staged on one connection: bob's crossing request is written just after alice's
request looked for one and before it is inserted, as bob's concurrent transaction would
commit it (hooked on the check for a duplicate of alice's own request, which comes between
the two)."""

from __future__ import annotations

from typing import Any

import pytest

from users.models import FriendRequest, Friendship


def _write_when_alice_checks_for_duplicates(
    monkeypatch: pytest.MonkeyPatch, alice: Any, bob: Any, from_user: Any, to_user: Any
) -> list[FriendRequest]:
    """Write a pending request ``from_user`` -> ``to_user`` the first time the service
    checks for a pending alice -> bob request; the written request is appended to the list
    returned."""
    real_filter = FriendRequest.objects.filter
    written: list[FriendRequest] = []

    def filter_then_race(*args: Any, **kwargs: Any) -> Any:
        result = real_filter(*args, **kwargs)
        if not written and kwargs.get("from_user") == alice and kwargs.get("to_user") == bob:
            written.append(FriendRequest.objects.create(from_user=from_user, to_user=to_user))
        return result

    monkeypatch.setattr(FriendRequest.objects, "filter", filter_then_race)
    return written


def test_a_request_losing_the_race_to_a_crossing_one_accepts_it(
    alice: Any, bob: Any, as_alice: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    crossing = _write_when_alice_checks_for_duplicates(monkeypatch, alice, bob, bob, alice)
    resp = as_alice.post("/api/friends/requests/", {"to_user": "bob"})
    assert resp.status_code == 200, resp.content
    assert resp.json() == {"id": crossing[0].pk, "status": "accepted"}
    assert Friendship.objects.count() == 1
    assert list(FriendRequest.objects.values_list("status", flat=True)) == ["accepted"]


def test_a_same_direction_duplicate_losing_the_race_is_still_409(
    alice: Any, bob: Any, as_alice: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The same request from alice's other tab commits first.
    _write_when_alice_checks_for_duplicates(monkeypatch, alice, bob, alice, bob)
    resp = as_alice.post("/api/friends/requests/", {"to_user": "bob"})
    assert resp.status_code == 409, resp.content
    assert resp.json()["error"]
    assert not Friendship.objects.exists()
