"""Friend list, unfriend, and user search."""

from users.models import Friendship


def test_friend_list(friends, as_alice, as_carol):
    body = as_alice.get("/api/friends/").json()
    assert [(f["username"], f["is_streaming"]) for f in body["friends"]] == [("bob", False)]
    assert "last_seen" in body["friends"][0]
    assert as_carol.get("/api/friends/").json() == {"friends": []}


def test_unfriend_removes_both_directions(friends, as_alice, as_bob):
    assert as_bob.delete("/api/friends/alice/").status_code == 204
    assert Friendship.objects.count() == 0
    assert as_alice.get("/api/friends/").json()["friends"] == []
    assert as_bob.get("/api/friends/").json()["friends"] == []


def test_unfriend_not_a_friend_is_404(friends, as_alice):
    assert as_alice.delete("/api/friends/carol/").status_code == 404
    assert as_alice.delete("/api/friends/nobody/").status_code == 404


def test_search_flags_and_never_self(friends, as_alice, as_carol):
    as_carol.post("/api/friends/requests/", {"to_user": "alice"})
    results = as_alice.get("/api/users/search/?q=").json()["results"]
    assert results == []
    results = {r["username"]: r for r in as_alice.get("/api/users/search/?q=o").json()["results"]}
    assert set(results) == {"bob", "carol"}
    assert results["bob"] == {"username": "bob", "is_friend": True, "request_pending": False}
    assert results["carol"] == {"username": "carol", "is_friend": False, "request_pending": True}
    names = [r["username"] for r in as_alice.get("/api/users/search/?q=ALI").json()["results"]]
    assert names == []
