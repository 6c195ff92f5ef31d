"""Failures for one account never lock out another user on the same address (a shared NAT
or proxy address), below the per-client cap."""

from django.test import override_settings

from tests.conftest import PASSWORD, ApiClient


def _login(c: ApiClient, username: str, password: str, addr: str):
    return c.client.post(
        "/api/auth/login/",
        f'{{"username": "{username}", "password": "{password}"}}',
        content_type="application/json",
        HTTP_X_CSRFTOKEN=c.csrf,
        REMOTE_ADDR=addr,
    )


@override_settings(LOGIN_RATE_LIMIT=10, LOGIN_CLIENT_LIMIT=100)
def test_other_user_same_address_right_password_not_locked(alice, bob):
    c = ApiClient()
    codes = [_login(c, "alice", "wrong-wrong-wrong", "192.0.2.9").status_code for _ in range(12)]
    assert codes == [401] * 10 + [429] * 2
    resp = _login(ApiClient(), "bob", PASSWORD, "192.0.2.9")
    assert resp.status_code == 200, resp.content
    assert resp.json() == {"username": "bob"}
