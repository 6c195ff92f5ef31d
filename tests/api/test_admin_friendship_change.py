"""A friendship cannot be re-pointed in the admin (only added or deleted): changing one
side of a row would end the old friendship without a deletion, so nothing would end the
listening between the old pair (``streams.access`` acts on deletions) nor tell them."""

from __future__ import annotations

from typing import Any

from django.test import Client

from users.models import Friendship


def test_the_admin_cannot_repoint_a_friendship(friends: Any, admin_client: Client) -> None:
    browser = admin_client
    alice, bob, carol = friends
    row = Friendship.objects.get()
    url = f"/admin/users/friendship/{row.pk}/change/"
    assert browser.get(url).status_code == 200
    resp = browser.post(url, {"user_low": alice.pk, "user_high": carol.pk})
    assert resp.status_code in (200, 302, 403)
    row.refresh_from_db()
    assert (row.user_low_id, row.user_high_id) == (alice.pk, bob.pk)


def test_the_admin_can_still_add_and_delete_friendships(friends: Any, admin_client: Client) -> None:
    browser = admin_client
    alice, bob, carol = friends
    resp = browser.post("/admin/users/friendship/add/", {"user_low": bob.pk, "user_high": carol.pk})
    assert resp.status_code == 302, resp.content[:400]
    assert Friendship.objects.filter(user_low=bob, user_high=carol).exists()
    row = Friendship.objects.get(user_low=alice, user_high=bob)
    resp = browser.post(f"/admin/users/friendship/{row.pk}/delete/", {"post": "yes"})
    assert resp.status_code == 302
    assert not Friendship.objects.filter(pk=row.pk).exists()
