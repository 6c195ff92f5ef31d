"""The login and register pages pass on only same-site ``next`` targets.

A browser resolves dot segments (also percent-encoded) and backslashes before it
navigates, so targets that look relative but resolve off-site are refused.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

OFF_SITE = [
    "https://evil.example/",
    "//evil.example/",
    "/\\evil.example/",
    "/.//evil.example/",
    "/./\\evil.example/",
    "/a/..//evil.example/",
    "/%2e//evil.example/",
    "/%2E%2E//evil.example/",
    "/x/../..//evil.example",
    "/.",
]
SAME_SITE = ["/", "/?from=login", "/u/alice/", "/recordings/7/#t=3", "/u/alice/?a=/b//c"]


@pytest.mark.parametrize("page", ["/login/", "/register/"])
@pytest.mark.parametrize("target", OFF_SITE)
def test_an_off_site_next_becomes_home(client, page, target):
    resp = client.get(page, {"next": target})
    assert resp.status_code == 200
    assert resp.context["next_url"] == "/"


@pytest.mark.parametrize("page", ["/login/", "/register/"])
@pytest.mark.parametrize("target", SAME_SITE)
def test_a_same_site_next_is_kept(client, page, target):
    resp = client.get(page, {"next": target})
    assert resp.context["next_url"] == target
