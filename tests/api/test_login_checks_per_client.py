"""Password checks, right or wrong, are capped per client address per minute.

The failure limits let a client with the right password log in as often as it likes,
and each login costs a quarter second of CPU (the password hash): a loop of right
logins held cores as a guesser would. Past ``LOGIN_CHECKS_PER_MINUTE`` the client gets
429 with no check; another address logs in as before.
"""

from __future__ import annotations

from django.test import override_settings

from tests.conftest import PASSWORD, ApiClient


def login(addr: str, password: str = PASSWORD):
    body = {"username": "alice", "password": password}
    return ApiClient().post_from(addr, "/api/auth/login/", body)


@override_settings(LOGIN_CHECKS_PER_MINUTE=4)
def test_right_logins_past_the_cap_are_refused_for_that_client_only(alice):
    codes = [login("192.0.2.20").status_code for _ in range(6)]
    assert codes == [200] * 4 + [429] * 2
    assert login("198.51.100.20").status_code == 200


@override_settings(LOGIN_CHECKS_PER_MINUTE=3, LOGIN_RATE_LIMIT=10, LOGIN_CLIENT_LIMIT=100)
def test_wrong_and_right_checks_share_the_cap(alice):
    assert login("192.0.2.21", "wrong-wrong-1").status_code == 401
    assert login("192.0.2.21").status_code == 200
    assert login("192.0.2.21", "wrong-wrong-2").status_code == 401
    assert login("192.0.2.21").status_code == 429
