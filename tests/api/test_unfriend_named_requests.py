"""A friend named "requests" (registered before such names were refused) can be
unfriended: ``DELETE /api/friends/requests/`` is API.md's ``DELETE /api/friends/USERNAME/``
for them (the collection itself answers GET and POST only)."""

from __future__ import annotations

from tests.conftest import befriend, make_user
from users.models import Friendship, User


def test_delete_on_the_requests_url_unfriends_the_friend_named_requests(friends, as_alice):
    named = make_user("requests")  # created directly: registration refuses the name now
    befriend(User.objects.get(username="alice"), named)
    assert as_alice.delete("/api/friends/requests/").status_code == 204
    assert not Friendship.objects.filter(user_high=named).exists()
    assert not Friendship.objects.filter(user_low=named).exists()
    assert Friendship.objects.count() == 1  # alice and bob are still friends
    assert [f["username"] for f in as_alice.get("/api/friends/").json()["friends"]] == ["bob"]


def test_delete_on_the_requests_url_without_such_a_friend_is_404(friends, as_alice):
    assert as_alice.delete("/api/friends/requests/").status_code == 404
    # The collection still answers as before.
    assert as_alice.get("/api/friends/requests/").status_code == 200
