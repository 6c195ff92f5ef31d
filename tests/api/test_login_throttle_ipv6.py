"""An IPv6 client is counted by its /64 (one host usually holds a whole /64), an
IPv4-mapped address as its IPv4 address, and every form of a name as one name."""

from django.test import override_settings

from tests.conftest import PASSWORD, ApiClient


def _login(username: str, password: str, addr: str) -> int:
    c = ApiClient()
    return c.client.post(
        "/api/auth/login/",
        {"username": username, "password": password},
        content_type="application/json",
        HTTP_X_CSRFTOKEN=c.csrf,
        REMOTE_ADDR=addr,
    ).status_code


@override_settings(LOGIN_RATE_LIMIT=10, LOGIN_CLIENT_LIMIT=100)
def test_rotating_addresses_in_one_64_share_one_budget(alice):
    codes = [
        _login("alice", "wrong-wrong-wrong", f"2001:db8:1:2::{n:x}:{i:x}")
        for n in range(5)
        for i in range(3)
    ]
    assert codes == [401] * 10 + [429] * 5
    # Another /64 is another client.
    assert _login("alice", PASSWORD, "2001:db8:1:3::1") == 200


@override_settings(LOGIN_RATE_LIMIT=10, LOGIN_CLIENT_LIMIT=100)
def test_mapped_ipv4_is_its_ipv4_address(alice):
    for _ in range(10):
        assert _login("alice", "wrong-wrong-wrong", "192.0.2.7") == 401
    assert _login("alice", "wrong-wrong-wrong", "::ffff:192.0.2.7") == 429


@override_settings(LOGIN_RATE_LIMIT=10, LOGIN_CLIENT_LIMIT=100)
def test_every_form_of_a_name_shares_its_budget(alice):
    names = ["alice", "ALICE", "\uff41lice"]  # the last with a full-width "a"
    codes = [_login(names[i % 3], "wrong-wrong-wrong", "192.0.2.8") for i in range(12)]
    assert codes == [401] * 10 + [429] * 2
