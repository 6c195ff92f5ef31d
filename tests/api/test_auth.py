"""Accounts: csrf, register, login, logout, me."""

import pytest

from tests.conftest import PASSWORD, ApiClient
from users.models import User


def test_csrf_sets_cookie_and_returns_token(db):
    c = ApiClient()
    resp = c.get("/api/auth/csrf/")
    assert resp.status_code == 200
    assert resp.json()["csrfToken"]
    assert "csrftoken" in c.client.cookies


def test_register_logs_in(db):
    c = ApiClient()
    resp = c.post("/api/auth/register/", {"username": "dave", "password": PASSWORD})
    assert resp.status_code == 201
    assert resp.json() == {"username": "dave"}
    me = c.get("/api/auth/me/")
    assert me.json() == {"username": "dave", "is_streaming": False}


def test_register_runs_password_validators(db):
    c = ApiClient()
    resp = c.post("/api/auth/register/", {"username": "dave", "password": "123"})
    assert resp.status_code == 400
    body = resp.json()
    assert body["error"]
    assert "password" in body["errors"]
    resp = c.post("/api/auth/register/", {"username": "dave", "password": "password"})
    assert resp.status_code == 400  # too common


def test_register_rejects_bad_username(db):
    resp = ApiClient().post("/api/auth/register/", {"username": "no spaces!", "password": PASSWORD})
    assert resp.status_code == 400
    assert "username" in resp.json()["errors"]


def test_register_taken_name_conflicts(alice):
    resp = ApiClient().post("/api/auth/register/", {"username": "Alice", "password": PASSWORD})
    assert resp.status_code == 409
    assert list(User.objects.values_list("username", flat=True)) == ["alice"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"username": "dave"},
        {"password": PASSWORD},
        {"username": 5, "password": PASSWORD},
        {"username": "dave", "password": ["x"]},
        {"username": "", "password": PASSWORD},
    ],
)
def test_register_missing_or_wrong_fields(db, body):
    resp = ApiClient().post("/api/auth/register/", body)
    assert resp.status_code == 400
    assert resp["Content-Type"] == "application/json"
    assert resp.json()["error"]


def test_login_and_logout(alice):
    c = ApiClient()
    resp = c.post("/api/auth/login/", {"username": "alice", "password": PASSWORD})
    assert resp.status_code == 200
    assert resp.json() == {"username": "alice"}
    assert c.get("/api/auth/me/").status_code == 200
    assert c.post("/api/auth/logout/").status_code == 204
    assert c.get("/api/auth/me/").status_code == 401


def test_login_wrong_password_and_unknown_user_look_the_same(alice):
    c = ApiClient()
    wrong = c.post("/api/auth/login/", {"username": "alice", "password": "nope-nope-nope"})
    unknown = c.post("/api/auth/login/", {"username": "nobody", "password": "nope-nope-nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


def test_me_requires_login(anon):
    resp = anon.get("/api/auth/me/")
    assert resp.status_code == 401
    assert resp.json()["error"]


def test_me_reports_streaming(as_alice, alice):
    alice.is_streaming = True
    alice.save()
    assert as_alice.get("/api/auth/me/").json()["is_streaming"] is True
