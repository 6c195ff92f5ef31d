"""A younger twin of a name (an account made before names were compared case- and
width-insensitively: users.migrations.0002 leaves it without ``username_key``) stays
manageable in the admin under its own name: it can be deactivated and given a new password
(neither is a 500 nor "a user with that user name already exists"), and it keeps no key, so
lookups by the name still find the older account. Renaming it to a fresh name gives it one."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.conftest import make_user
from users.models import User

NEW_PASSWORD = "another-horse-77x"


@pytest.fixture
def twin(alice: Any) -> User:
    user = make_user("Alice-tmp")
    User.objects.filter(pk=user.pk).update(username="Alice", username_key=None)
    return User.objects.get(pk=user.pk)


@pytest.fixture
def admin_browser(db: None) -> Client:
    root = make_user("root")
    root.is_staff = root.is_superuser = True
    root.save()
    browser = Client(raise_request_exception=True)
    browser.force_login(root)
    return browser


def _change_form(user: User, **changes: Any) -> dict[str, Any]:
    data = {
        "username": user.username,
        "first_name": "",
        "last_name": "",
        "email": "",
        "is_active": "on",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
        "initial-date_joined_0": "2026-01-01",
        "initial-date_joined_1": "00:00:00",
        "last_seen_0": "",
        "last_seen_1": "",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_the_admin_deactivates_a_twin(twin: User, admin_browser: Client) -> None:
    resp = admin_browser.post(
        f"/admin/users/user/{twin.pk}/change/", _change_form(twin, is_active=None)
    )
    assert resp.status_code == 302, resp.context["adminform"].form.errors
    twin.refresh_from_db()
    assert not twin.is_active and twin.username == "Alice" and twin.username_key is None


def test_the_admin_sets_a_twins_password(twin: User, admin_browser: Client) -> None:
    resp = admin_browser.post(
        f"/admin/users/user/{twin.pk}/password/",
        {"usable_password": "true", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert resp.status_code == 302, resp.content[:600]
    twin.refresh_from_db()
    assert twin.check_password(NEW_PASSWORD) and twin.username_key is None
    assert User.objects.get(username_key="alice").username == "alice"


def test_renaming_a_twin_to_a_fresh_name_gives_it_a_key(twin: User, admin_browser: Client) -> None:
    resp = admin_browser.post(
        f"/admin/users/user/{twin.pk}/change/", _change_form(twin, username="alice2")
    )
    assert resp.status_code == 302, resp.context["adminform"].form.errors
    twin.refresh_from_db()
    assert twin.username_key == "alice2"


def test_renaming_a_twin_to_another_form_of_the_name_is_refused(
    twin: User, admin_browser: Client
) -> None:
    resp = admin_browser.post(
        f"/admin/users/user/{twin.pk}/change/", _change_form(twin, username="ALICE")
    )
    assert resp.status_code == 200
    assert "username" in resp.context["adminform"].form.errors
