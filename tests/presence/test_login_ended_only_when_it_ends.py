"""``login_ended`` is sent when a login really ends without a logout (its row deleted, or
expired and swept), never for a key Django renews while the login goes on (a new password
set from that browser, whose renewed row still carries the old password hash when the old
row goes), nor for a logout's own row (the logout has told everyone already); and the sweep
never announces a row it did not delete."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from tests.presence.helpers import api_login, api_logout
from tests.presence.test_presence_own_password_change import change_own_password
from users import sessionstore
from users.logins import EndedLogin, login_ended
from users.models import User

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def ended() -> Iterator[list[EndedLogin]]:
    heard: list[EndedLogin] = []

    def hear(sender: object, logins: list[EndedLogin], **kwargs: object) -> None:
        heard.extend(logins)

    login_ended.connect(hear)
    yield heard
    login_ended.disconnect(hear)


def test_a_password_change_from_the_login_itself_ends_nothing(alice, ended):
    User.objects.filter(pk=alice.pk).update(is_staff=True)
    laptop = api_login("alice", Client())
    change_own_password(laptop)  # Django renews the key: the old row is deleted
    assert ended == []


def test_a_logout_is_not_announced_again_by_its_row(alice, ended):
    client = api_login("alice", Client())
    assert api_logout(client) == 204
    assert ended == []


def test_an_administrator_deleting_the_row_ends_the_login(alice, ended):
    client = api_login("alice", Client())
    Session.objects.filter(session_key=client.cookies["sessionid"].value).delete()
    assert [login.user_id for login in ended] == [alice.pk]


def test_a_row_saved_with_a_later_expiry_meanwhile_is_not_announced(alice, bob, ended, monkeypatch):
    """Read as expired, then saved by its login (a later expiry) before the delete: it
    stays, and only the row really deleted is announced."""
    keep = api_login("alice", Client()).cookies["sessionid"].value
    drop = api_login("bob", Client()).cookies["sessionid"].value
    past = timezone.now() - timedelta(seconds=5)
    Session.objects.filter(session_key__in=[keep, drop]).update(expire_date=past)
    real_delete = sessionstore._delete_keys

    def saved_first(keys, cutoff):  # type: ignore[no-untyped-def]
        later = timezone.now() + timedelta(days=1)
        Session.objects.filter(session_key=keep).update(expire_date=later)
        return real_delete(keys, cutoff)

    monkeypatch.setattr(sessionstore, "_delete_keys", saved_first)
    assert sessionstore.end_expired() == 1
    assert Session.objects.filter(session_key=keep).exists()
    assert [login.user_id for login in ended] == [bob.pk]
