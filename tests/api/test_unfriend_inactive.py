"""A deactivated friend is still listed (``GET /api/friends/``) and can be unfriended; a
deactivated account that is no friend stays unknown (404 "No user named ...")."""

from __future__ import annotations

from users.models import Friendship, User


def test_a_deactivated_friend_is_listed_and_can_be_unfriended(friends, as_alice):
    User.objects.filter(username="bob").update(is_active=False)
    listed = [f["username"] for f in as_alice.get("/api/friends/").json()["friends"]]
    assert listed == ["bob"]
    assert as_alice.delete("/api/friends/bob/").status_code == 204
    assert not Friendship.objects.exists()
    assert as_alice.get("/api/friends/").json()["friends"] == []


def test_a_deactivated_stranger_is_unknown(friends, as_alice):
    User.objects.filter(username="carol").update(is_active=False)
    resp = as_alice.delete("/api/friends/carol/")
    assert resp.status_code == 404
    assert resp.json()["error"] == "No user named 'carol'."
