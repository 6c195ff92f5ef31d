"""No two accounts have names that read the same: case variants and Unicode
compatibility forms (full-width letters) are one name, on every database."""

from __future__ import annotations

import pytest
from django.contrib.admin.sites import site
from django.test import RequestFactory

from tests.conftest import PASSWORD, ApiClient
from users.models import User, username_key

pytestmark = pytest.mark.django_db

FULL_WIDTH_ALICE = "\uff21lice"  # "Alice" in full-width letters


def register(name: str) -> tuple[int, dict]:
    resp = ApiClient().post("/api/auth/register/", {"username": name, "password": PASSWORD})
    return resp.status_code, resp.json()


@pytest.mark.parametrize("twin", ["Alice", "ALICE", FULL_WIDTH_ALICE, "\uff41\uff4c\uff49ce"])
def test_a_twin_of_a_taken_name_is_refused(alice, twin):
    assert register(twin) == (409, {"error": "That user name is taken."})
    assert User.objects.count() == 1


def test_non_ascii_case_variants_are_one_name(db):
    # SQLite folds ASCII only, so a database-side iexact let both of these in.
    assert register("\u00e4rger")[0] == 201
    assert register("\u00c4RGER")[0] == 409


def test_a_full_width_name_is_stored_and_logs_in_as_typed(db):
    status, body = register("\uff4a\uff4f\uff48\uff4e")  # "john" in full-width letters
    assert (status, body) == (201, {"username": "john"})
    for typed in ("john", "\uff4a\uff4f\uff48\uff4e"):
        resp = ApiClient().post("/api/auth/login/", {"username": typed, "password": PASSWORD})
        assert resp.status_code == 200, (typed, resp.content)


def test_lookups_by_any_form_of_a_name_find_its_account(alice, as_bob):
    resp = as_bob.post("/api/friends/requests/", {"to_user": FULL_WIDTH_ALICE})
    assert resp.status_code == 201 and resp.json()["to_user"] == "alice"
    assert as_bob.get(f"/u/{FULL_WIDTH_ALICE}/").context["friend_name"] == "alice"


def test_the_admin_form_reports_a_twin_on_the_name_field(alice, bob):
    admin = User.objects.create_superuser("root", password=PASSWORD)
    model_admin = site._registry[User]
    request = RequestFactory().get("/")
    request.user = admin
    form_class = model_admin.get_form(request, obj=bob, change=True)
    form = form_class(
        data={"username": FULL_WIDTH_ALICE, "date_joined_0": "2026-01-01", "date_joined_1": "0:00"},
        instance=bob,
    )
    assert not form.is_valid()
    assert "username" in form.errors


def test_the_key_folds_case_and_width():
    assert username_key("ALICE") == username_key(FULL_WIDTH_ALICE) == username_key("alice")
    assert username_key("alice") != username_key("alicee")
