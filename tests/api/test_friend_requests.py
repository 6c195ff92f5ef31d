"""Friend requests: send, crossing accept, accept/reject/cancel and their error cases."""

import pytest

from users.models import FriendRequest, Friendship


def _send(client, to):
    return client.post("/api/friends/requests/", {"to_user": to})


def test_send_request(as_alice, bob):
    resp = _send(as_alice, "bob")
    assert resp.status_code == 201
    body = resp.json()
    assert body["to_user"] == "bob" and body["status"] == "pending" and body["id"]


def test_request_lists(as_alice, as_bob):
    rid = _send(as_alice, "bob").json()["id"]
    out = as_alice.get("/api/friends/requests/").json()
    assert out["incoming"] == [] and [r["id"] for r in out["outgoing"]] == [rid]
    assert out["outgoing"][0]["to_user"] == "bob" and out["outgoing"][0]["created_at"]
    inc = as_bob.get("/api/friends/requests/").json()
    assert inc["incoming"][0]["from_user"] == "alice" and inc["outgoing"] == []


def test_request_to_yourself_is_400(as_alice):
    assert _send(as_alice, "alice").status_code == 400


def test_request_to_friend_is_400(friends, as_alice):
    assert _send(as_alice, "bob").status_code == 400


def test_request_to_unknown_user_is_404(as_alice):
    assert _send(as_alice, "nobody").status_code == 404


def test_duplicate_pending_request_is_409(as_alice, bob):
    assert _send(as_alice, "bob").status_code == 201
    assert _send(as_alice, "bob").status_code == 409
    assert FriendRequest.objects.count() == 1


def test_crossing_request_accepts(as_alice, as_bob):
    rid = _send(as_alice, "bob").json()["id"]
    resp = _send(as_bob, "alice")
    assert resp.status_code == 200
    assert resp.json() == {"id": rid, "status": "accepted"}
    assert Friendship.objects.count() == 1
    assert [f["username"] for f in as_alice.get("/api/friends/").json()["friends"]] == ["bob"]


def test_accept(as_alice, as_bob):
    rid = _send(as_alice, "bob").json()["id"]
    resp = as_bob.post(f"/api/friends/requests/{rid}/accept/")
    assert resp.status_code == 200
    assert resp.json()["status"] == "accepted"
    assert [f["username"] for f in as_bob.get("/api/friends/").json()["friends"]] == ["alice"]


def test_reject(as_alice, as_bob):
    rid = _send(as_alice, "bob").json()["id"]
    resp = as_bob.post(f"/api/friends/requests/{rid}/reject/")
    assert resp.status_code == 200
    assert resp.json()["status"] == "rejected"
    assert Friendship.objects.count() == 0
    # Rejected requests do not block a later one.
    assert _send(as_alice, "bob").status_code == 201


@pytest.mark.parametrize("action", ["accept", "reject"])
def test_only_addressee_answers(as_alice, as_bob, as_carol, action):
    rid = _send(as_alice, "bob").json()["id"]
    assert as_alice.post(f"/api/friends/requests/{rid}/{action}/").status_code == 403
    assert as_carol.post(f"/api/friends/requests/{rid}/{action}/").status_code == 404
    assert as_bob.post(f"/api/friends/requests/{rid}/{action}/").status_code == 200
    assert as_bob.post(f"/api/friends/requests/{rid}/{action}/").status_code == 409


def test_unknown_request_is_404(as_bob):
    assert as_bob.post("/api/friends/requests/99999/accept/").status_code == 404
    assert as_bob.delete("/api/friends/requests/99999/").status_code == 404


def test_cancel_only_sender_while_pending(as_alice, as_bob, as_carol):
    rid = _send(as_alice, "bob").json()["id"]
    assert as_bob.delete(f"/api/friends/requests/{rid}/").status_code == 403
    assert as_carol.delete(f"/api/friends/requests/{rid}/").status_code == 404
    assert as_alice.delete(f"/api/friends/requests/{rid}/").status_code == 204
    assert not FriendRequest.objects.filter(pk=rid).exists()
    rid2 = _send(as_alice, "bob").json()["id"]
    as_bob.post(f"/api/friends/requests/{rid2}/accept/")
    assert as_alice.delete(f"/api/friends/requests/{rid2}/").status_code == 409


def test_database_allows_one_pending_per_pair(alice, bob):
    from django.db import IntegrityError, transaction

    FriendRequest.objects.create(from_user=alice, to_user=bob)
    with pytest.raises(IntegrityError), transaction.atomic():
        FriendRequest.objects.create(from_user=bob, to_user=alice)
