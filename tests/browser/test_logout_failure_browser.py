"""A logout the server did not get leaves the user on the page, told they are still logged
in, with the button usable. The page had gone to the login page anyway, which sent the
still logged-in browser straight back: on a shared computer the user would walk away
believing they had logged out."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Route, expect

from .helpers import by_testid, new_context, register, unique_name

pytestmark = pytest.mark.browser


def test_a_failed_logout_says_so_and_stays(live_server_url: str, browser: Browser) -> None:
    base = live_server_url
    ctx = new_context(browser)
    try:
        page = ctx.new_page()
        register(page, base, unique_name("alice"))

        def away(route: Route) -> None:
            route.abort("connectionrefused")

        page.route("**/api/auth/logout/", away)
        messages: list[str] = []

        def note(dialog) -> None:
            messages.append(dialog.message)
            dialog.accept()

        page.on("dialog", note)
        by_testid(page, "logout-button").click()
        expect(by_testid(page, "logout-button")).to_be_enabled()
        assert len(messages) == 1 and "still logged in" in messages[0], messages
        assert page.url == f"{base}/"

        page.unroute("**/api/auth/logout/")
        with page.expect_navigation(url=f"{base}/login/"):
            by_testid(page, "logout-button").click()
    finally:
        ctx.close()
