"""Login is rate-limited per user name and per client address, without leaking accounts."""

from django.test import override_settings

from tests.conftest import PASSWORD, ApiClient


def _fail(c: ApiClient, username: str, addr: str = "10.0.0.1"):
    return c.client.post(
        "/api/auth/login/",
        f'{{"username": "{username}", "password": "wrong-wrong-wrong"}}',
        content_type="application/json",
        HTTP_X_CSRFTOKEN=c.csrf,
        REMOTE_ADDR=addr,
    )


@override_settings(LOGIN_RATE_LIMIT=3)
def test_burst_of_wrong_passwords_gets_429_even_with_right_password(alice):
    c = ApiClient()
    assert [_fail(c, "alice", f"10.0.0.{i}").status_code for i in range(3)] == [401] * 3
    assert _fail(c, "alice", "10.0.0.9").status_code == 429
    # The right password is refused too while limited: guessing stays blocked.
    resp = c.client.post(
        "/api/auth/login/",
        f'{{"username": "alice", "password": "{PASSWORD}"}}',
        content_type="application/json",
        HTTP_X_CSRFTOKEN=c.csrf,
        REMOTE_ADDR="10.0.0.50",
    )
    assert resp.status_code == 429
    assert resp.json()["error"]


@override_settings(LOGIN_RATE_LIMIT=3)
def test_limit_per_address_across_user_names(alice):
    c = ApiClient()
    for name in ("u1", "u2", "u3"):
        assert _fail(c, name, "10.1.1.1").status_code == 401
    assert _fail(c, "u4", "10.1.1.1").status_code == 429
    assert _fail(c, "u4", "10.1.1.2").status_code == 401  # another address is not blocked


@override_settings(LOGIN_RATE_LIMIT=3)
def test_unknown_and_known_names_limited_identically(alice):
    c = ApiClient()
    known = [_fail(c, "alice", f"10.2.0.{i}").status_code for i in range(4)]
    unknown = [_fail(c, "ghost", f"10.3.0.{i}").status_code for i in range(4)]
    assert known == unknown == [401, 401, 401, 429]
