"""``FC25_ADMIN_NETWORKS`` keeps the Django admin to the networks it names: any other
client gets the site's 404 for every /admin/ page (the login form included), as if there
were no admin, while the rest of the site answers it as before. Unset: the admin answers
everyone, behind its login."""

from __future__ import annotations

import ipaddress

import pytest
from django.test import Client

from tests.conftest import PASSWORD, make_user
from tests.ops import fresh_settings

OFFICE = (ipaddress.ip_network("10.8.0.0/16"), ipaddress.ip_network("2001:db8:5::/48"))


@pytest.fixture
def staff(db):
    user = make_user("root")
    user.is_staff = user.is_superuser = True
    user.save()
    return user


def admin_login(address: str, **extra: str):
    return Client().post(
        "/admin/login/?next=/admin/",
        {"username": "root", "password": PASSWORD, "next": "/admin/"},
        REMOTE_ADDR=address,
        **extra,
    )


def test_outside_the_networks_there_is_no_admin(staff, settings):
    settings.ADMIN_NETWORKS = OFFICE
    outsider = Client(REMOTE_ADDR="198.51.100.7")
    for path in ("/admin", "/admin/", "/admin/login/", "/admin/users/user/"):
        assert outsider.get(path, REMOTE_ADDR="198.51.100.7").status_code == 404, path
    assert admin_login("198.51.100.7").status_code == 404  # no form to guess at
    assert outsider.get("/healthz", REMOTE_ADDR="198.51.100.7").status_code == 200
    assert outsider.get("/login/", REMOTE_ADDR="198.51.100.7").status_code == 200


def test_inside_the_networks_the_admin_answers(staff, settings):
    settings.ADMIN_NETWORKS = OFFICE
    for address in ("10.8.3.4", "2001:db8:5::9", "::ffff:10.8.0.1"):
        resp = admin_login(address)
        assert resp.status_code == 302 and resp["Location"] == "/admin/", address


def test_the_client_is_the_one_the_trusted_proxy_saw(staff, settings):
    settings.ADMIN_NETWORKS = OFFICE
    settings.PROXY_COUNT = 1
    inside = {"HTTP_X_FORWARDED_FOR": "10.8.3.4"}
    assert admin_login("127.0.0.1", **inside).status_code == 302
    # A header the client wrote itself (left of the proxy's entry) counts for nothing.
    spoofed = {"HTTP_X_FORWARDED_FOR": "10.8.3.4, 198.51.100.7"}
    assert admin_login("127.0.0.1", **spoofed).status_code == 404


def test_unset_the_admin_answers_everyone(staff, settings):
    settings.ADMIN_NETWORKS = ()
    assert admin_login("198.51.100.7").status_code == 302
    assert Client().get("/admin", REMOTE_ADDR="198.51.100.7").status_code == 301


def test_the_setting_fails_loudly():
    bad = fresh_settings.load_settings(unset=("FC25_ADMIN",), FC25_ADMIN_NETWORKS="office")
    assert bad.returncode != 0 and "FC25_ADMIN_NETWORKS" in bad.stderr
    good = fresh_settings.load_settings(
        unset=("FC25_ADMIN",),
        code="import fc25_denoise.settings as s; print(s.ADMIN_NETWORKS)",
        FC25_ADMIN_NETWORKS="10.0.0.0/8, 127.0.0.1",
    )
    assert good.returncode == 0 and "10.0.0.0/8" in good.stdout and "127.0.0.1/32" in good.stdout
