"""The page script's ``safeNext`` refuses targets that resolve off-site, and a login
whose ``next`` resolves off-site lands on the home page."""

from __future__ import annotations

import pytest

from .helpers import PASSWORD, by_testid, new_context, register, unique_name

pytestmark = pytest.mark.browser

OFF_SITE = [
    "//evil.example/",
    "/\\evil.example/",
    "/.//evil.example/",
    "/./\\evil.example/",
    "/a/..//evil.example/",
    "/%2e//evil.example/",
    "/x/../..//evil.example",
]


def test_safe_next_in_the_page_and_a_login(live_server_url: str, browser) -> None:
    base = live_server_url
    name = unique_name("dave")
    ctx = new_context(browser)
    off_site: list[str] = []
    ctx.route(
        "**://evil.example/**", lambda route: (off_site.append(route.request.url), route.abort())
    )
    try:
        page = ctx.new_page()
        page.goto(f"{base}/login/")
        results = page.evaluate(
            """async (targets) => {
                const { safeNext } = await import("/static/js/api.js");
                return targets.map((t) => safeNext(t, "/home-fallback"));
            }""",
            [*OFF_SITE, "/u/alice/?a=1#b"],
        )
        assert results == ["/home-fallback"] * len(OFF_SITE) + ["/u/alice/?a=1#b"]

        register(page, base, name)
        by_testid(page, "logout-button").click()
        page.wait_for_url(f"{base}/login/")
        page.goto(f"{base}/login/?next=/.//evil.example/")
        by_testid(page, "username-input").fill(name)
        by_testid(page, "password-input").fill(PASSWORD)
        by_testid(page, "submit-button").click()
        page.wait_for_url(f"{base}/")
        assert off_site == []
    finally:
        ctx.close()
