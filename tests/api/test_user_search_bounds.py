"""User search lists active accounts only, at most ``SEARCH_LIMIT`` of them, by name."""

from __future__ import annotations

from users.models import User
from users.services import SEARCH_LIMIT


def test_a_deactivated_account_is_not_found(as_alice, bob, carol):
    User.objects.filter(pk=carol.pk).update(is_active=False)
    names = [r["username"] for r in as_alice.get("/api/users/search/?q=o").json()["results"]]
    assert names == ["bob"]  # carol has an "o" too


def test_at_most_the_limit_are_listed_in_name_order(as_alice):
    for i in range(SEARCH_LIMIT + 5):
        User.objects.create_user(f"fan{i:02d}", password="x-unused-password-1")
    results = as_alice.get("/api/users/search/?q=fan").json()["results"]
    assert [r["username"] for r in results] == [f"fan{i:02d}" for i in range(SEARCH_LIMIT)]
