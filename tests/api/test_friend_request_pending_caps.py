"""Friend requests waiting for an answer are capped: per sender (``MAX_PENDING_SENT``) and
per addressee (``MAX_PENDING_RECEIVED``), 429 past either. Without them one account could
fill anyone's request list, which the page loads whole, and a crowd of accounts one
user's."""

from __future__ import annotations

from tests.conftest import PASSWORD, ApiClient
from users import services
from users.models import FriendRequest, User


def make_users(prefix: str, n: int) -> list[User]:
    return [User.objects.create_user(f"{prefix}{i}", password="x-unused-pw-1") for i in range(n)]


def test_a_sender_past_its_pending_requests_gets_429(as_alice, monkeypatch):
    monkeypatch.setattr(services, "MAX_PENDING_SENT", 3)
    make_users("t", 4)
    codes = [
        as_alice.post("/api/friends/requests/", {"to_user": f"t{i}"}).status_code for i in range(4)
    ]
    assert codes == [201, 201, 201, 429]
    assert FriendRequest.objects.filter(from_user__username="alice").count() == 3
    request_id = FriendRequest.objects.filter(to_user__username="t0").get().pk
    assert as_alice.delete(f"/api/friends/requests/{request_id}/").status_code == 204
    assert as_alice.post("/api/friends/requests/", {"to_user": "t3"}).status_code == 201


def test_an_addressee_with_too_many_waiting_refuses_more(bob, monkeypatch):
    monkeypatch.setattr(services, "MAX_PENDING_RECEIVED", 2)
    senders = [User.objects.create_user(f"s{i}", password=PASSWORD) for i in range(3)]
    codes = [
        ApiClient(s.username).post("/api/friends/requests/", {"to_user": "bob"}).status_code
        for s in senders
    ]
    assert codes == [201, 201, 429]
    assert FriendRequest.objects.filter(to_user=bob).count() == 2
