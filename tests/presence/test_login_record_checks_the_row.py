"""A login followed under a renewed key (a new password set from its own browser) is
checked against the session table: once that row is gone, however it went (raw SQL, a
process whose signals never ran), the login is over for every socket still holding its
old key. The login's cache record only says which key is current."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client

from tests.presence.helpers import api_login
from tests.presence.test_presence_own_password_change import change_own_password
from users.logins import login_is_valid, login_tag
from users.models import User

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_renewed_login_ends_with_its_row(alice):
    User.objects.filter(pk=alice.pk).update(is_staff=True)
    laptop = api_login("alice", Client())
    old_key = laptop.cookies["sessionid"].value
    tag = login_tag(laptop.session)
    assert tag is not None

    new_key = change_own_password(laptop)
    assert login_is_valid(old_key, tag, alice.pk)  # followed to the renewed key

    with connection.cursor() as cursor:  # no ORM, no signals
        cursor.execute("DELETE FROM django_session WHERE session_key = %s", [new_key])
    assert not login_is_valid(old_key, tag, alice.pk)
    assert not login_is_valid(new_key, tag, alice.pk)
