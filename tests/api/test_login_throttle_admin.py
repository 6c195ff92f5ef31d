"""/admin/login/ goes through the same login throttle as the API."""

import pytest
from django.test import Client, override_settings

from tests.conftest import PASSWORD, make_user


@pytest.fixture
def staff(db):
    user = make_user("root")
    user.is_staff = True
    user.is_superuser = True
    user.save()
    return user


def _admin_login(c: Client, password: str, addr: str = "198.51.100.7"):
    return c.post(
        "/admin/login/?next=/admin/",
        {"username": "root", "password": password, "next": "/admin/"},
        REMOTE_ADDR=addr,
    )


@override_settings(LOGIN_RATE_LIMIT=3)
def test_admin_login_throttled(staff):
    c = Client()
    for _ in range(3):
        resp = _admin_login(c, "wrong-wrong-wrong")
        assert resp.status_code == 200
        assert b"Too many failed logins" not in resp.content
    resp = _admin_login(c, PASSWORD)  # right password, but this client used up its tries
    assert resp.status_code == 200
    assert b"Too many failed logins" in resp.content
    assert "_auth_user_id" not in c.session
    # Another client still gets in.
    other = Client()
    resp = _admin_login(other, PASSWORD, "198.51.100.8")
    assert resp.status_code == 302 and resp["Location"] == "/admin/"


@override_settings(LOGIN_RATE_LIMIT=3)
def test_admin_and_api_share_the_counter(staff):
    c = Client()
    for _ in range(3):
        _admin_login(c, "wrong-wrong-wrong")
    resp = c.post(
        "/api/auth/login/",
        f'{{"username": "root", "password": "{PASSWORD}"}}',
        content_type="application/json",
        REMOTE_ADDR="198.51.100.7",
    )
    assert resp.status_code == 429
    assert resp.json()["error"]
