"""Login is throttled per (user name, client address) pair and per client address, without
leaking which accounts exist (policy: users/throttle.py)."""

from django.test import override_settings

from tests.conftest import PASSWORD, ApiClient


def _login(c: ApiClient, username: str, password: str, addr: str = "10.0.0.1"):
    return c.client.post(
        "/api/auth/login/",
        f'{{"username": "{username}", "password": "{password}"}}',
        content_type="application/json",
        HTTP_X_CSRFTOKEN=c.csrf,
        REMOTE_ADDR=addr,
    )


def _fail(c: ApiClient, username: str, addr: str = "10.0.0.1"):
    return _login(c, username, "wrong-wrong-wrong", addr)


@override_settings(LOGIN_RATE_LIMIT=3)
def test_burst_of_wrong_passwords_gets_429_even_with_right_password(alice):
    c = ApiClient()
    assert [_fail(c, "alice", "10.0.0.7").status_code for _ in range(3)] == [401] * 3
    assert _fail(c, "alice", "10.0.0.7").status_code == 429
    # The right password is refused too from that client: guessing stays blocked.
    resp = _login(c, "alice", PASSWORD, "10.0.0.7")
    assert resp.status_code == 429
    assert resp.json()["error"]
    # The owner on another client is not locked out by someone else's guesses.
    assert _login(c, "alice", PASSWORD, "10.0.0.50").status_code == 200


@override_settings(LOGIN_RATE_LIMIT=3, LOGIN_CLIENT_LIMIT=3)
def test_limit_per_address_across_user_names(alice):
    c = ApiClient()
    for name in ("u1", "u2", "u3"):
        assert _fail(c, name, "10.1.1.1").status_code == 401
    assert _fail(c, "u4", "10.1.1.1").status_code == 429
    assert _fail(c, "u4", "10.1.1.2").status_code == 401  # another address is not blocked


@override_settings(LOGIN_RATE_LIMIT=3)
def test_unknown_and_known_names_limited_identically(alice):
    c = ApiClient()
    known = [_fail(c, "alice", "10.2.0.1").status_code for _ in range(4)]
    unknown = [_fail(c, "ghost", "10.2.0.1").status_code for _ in range(4)]
    assert known == unknown == [401, 401, 401, 429]


@override_settings(LOGIN_RATE_LIMIT=3)
def test_success_forgets_the_pairs_failures(alice):
    c = ApiClient()
    assert [_fail(c, "alice").status_code for _ in range(2)] == [401] * 2
    assert _login(c, "alice", PASSWORD).status_code == 200
    assert [_fail(c, "alice").status_code for _ in range(3)] == [401] * 3
    assert _fail(c, "alice").status_code == 429
