"""Registrations are throttled per client address.

Each registration costs a password hash (a quarter second of CPU) and a database
connection while it runs, and every account brings its own allowances (live streams,
TURN quota): 30 parallel registrations from one client held both cores for 9 s. A client
may make ``REGISTER_CLIENT_LIMIT`` accounts per window; then 429, with no account made
and no hash computed. An attempt refused for its name or password does not count; other
addresses are not affected.
"""

from __future__ import annotations

from django.test import override_settings

from tests.conftest import ApiClient
from users.models import User


def register(name: str, addr: str, password: str = "zz-Not-common-123"):
    body = {"username": name, "password": password}
    return ApiClient().post_from(addr, "/api/auth/register/", body)


@override_settings(REGISTER_CLIENT_LIMIT=3)
def test_a_client_past_its_registrations_gets_429_and_no_account(db):
    codes = [register(f"bot{i}", "192.0.2.7").status_code for i in range(5)]
    assert codes == [201, 201, 201, 429, 429]
    resp = register("bot9", "192.0.2.7")
    assert resp.status_code == 429
    assert resp.json() == {"error": "Too many new accounts from your address. Try again later."}
    assert set(User.objects.values_list("username", flat=True)) == {"bot0", "bot1", "bot2"}


@override_settings(REGISTER_CLIENT_LIMIT=2)
def test_refused_attempts_do_not_count_and_other_addresses_are_not_affected(db):
    for _ in range(5):  # a weak password, a taken name: no account, nothing counted
        assert register("weak", "192.0.2.8", password="123").status_code == 400
    assert register("ok1", "192.0.2.8").status_code == 201
    assert register("ok1", "192.0.2.8").status_code == 409
    assert register("ok2", "192.0.2.8").status_code == 201
    assert register("ok3", "192.0.2.8").status_code == 429
    assert register("ok4", "198.51.100.4").status_code == 201  # another client


@override_settings(REGISTER_CLIENT_LIMIT=2)
def test_an_ipv6_client_is_counted_by_its_64(db):
    assert register("v1", "2001:db8:1:2::1").status_code == 201
    assert register("v2", "2001:db8:1:2::ffff").status_code == 201
    assert register("v3", "2001:db8:1:2:aaaa::3").status_code == 429
    assert register("v4", "2001:db8:1:3::1").status_code == 201
