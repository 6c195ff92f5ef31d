"""The throttle's client address: X-Forwarded-For only with FC25_PROXY_COUNT set."""

from django.test import RequestFactory, override_settings

from tests.conftest import ApiClient
from users.throttle import client_address


def _fail(c: ApiClient, xff: str, addr: str = "10.9.9.9"):
    return c.client.post(
        "/api/auth/login/",
        '{"username": "alice", "password": "wrong-wrong-wrong"}',
        content_type="application/json",
        HTTP_X_CSRFTOKEN=c.csrf,
        REMOTE_ADDR=addr,
        HTTP_X_FORWARDED_FOR=xff,
    )


@override_settings(LOGIN_RATE_LIMIT=2)
def test_header_ignored_without_proxy_setting(alice):
    c = ApiClient()
    # A client rotating a forged header is still one client: its REMOTE_ADDR.
    codes = [_fail(c, f"1.2.3.{i}").status_code for i in range(3)]
    assert codes == [401, 401, 429]


@override_settings(LOGIN_RATE_LIMIT=2, PROXY_COUNT=1)
def test_header_used_with_one_trusted_proxy(alice):
    c = ApiClient()
    assert [_fail(c, "1.1.1.1").status_code for _ in range(3)] == [401, 401, 429]
    # A forged entry to the left of the proxy's own does not change the client.
    assert _fail(c, "7.7.7.7, 1.1.1.1").status_code == 429
    # Another real client behind the same proxy is not affected.
    assert _fail(c, "2.2.2.2").status_code == 401


def test_client_address_rules():
    rf = RequestFactory()

    def addr(xff: str | None, remote: str = "10.0.0.1") -> str:
        extra = {"REMOTE_ADDR": remote}
        if xff is not None:
            extra["HTTP_X_FORWARDED_FOR"] = xff
        return client_address(rf.get("/", **extra))

    with override_settings(PROXY_COUNT=0):
        assert addr("5.5.5.5") == "10.0.0.1"
    with override_settings(PROXY_COUNT=1):
        assert addr("5.5.5.5") == "5.5.5.5"
        assert addr("6.6.6.6, 5.5.5.5") == "5.5.5.5"
        assert addr(None) == "10.0.0.1"  # not through the proxy
        assert addr("not-an-ip") == "10.0.0.1"
        assert addr("2001:db8::1") == "2001:db8::1"
    with override_settings(PROXY_COUNT=2):
        assert addr("6.6.6.6, 5.5.5.5, 172.16.0.2") == "5.5.5.5"
        assert addr("5.5.5.5") == "10.0.0.1"  # fewer hops than proxies
