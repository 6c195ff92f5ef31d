"""A friend action whose request fails, and whose reload fails too (the server is away),
leaves its buttons usable: they had come back only with a successful reload, so one
network hiccup left the row dead until the page was reloaded."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Route, expect

from .helpers import by_testid, new_context, register, unique_name
from .live_helpers import call_api

pytestmark = pytest.mark.browser


def test_buttons_come_back_when_the_action_and_the_reload_fail(
    live_server_url: str, browser: Browser
) -> None:
    base = live_server_url
    alice_name, bob_name, carol_name = (unique_name(n) for n in ("alice", "bob", "carol"))
    contexts = [new_context(browser) for _ in range(3)]
    try:
        alice, bob, carol = (ctx.new_page() for ctx in contexts)
        for page, name in ((alice, alice_name), (bob, bob_name), (carol, carol_name)):
            register(page, base, name)
        call_api(bob, "POST", "/api/friends/requests/", {"to_user": alice_name})
        alice.reload()
        accept = by_testid(alice, "incoming-request", bob_name).locator(
            '[data-testid="accept-button"]'
        )
        expect(accept).to_be_enabled()

        def away(route: Route) -> None:
            route.abort("connectionrefused")

        alice.route("**/api/friends/**", away)
        alice.route("**/api/users/search/**", away)
        accept.click()
        expect(by_testid(alice, "status")).not_to_be_empty()
        expect(accept).to_be_enabled()

        alice.unroute("**/api/users/search/**")
        by_testid(alice, "user-search-input").fill(carol_name)
        add = (
            by_testid(alice, "search-result")
            .filter(has_text=carol_name)
            .locator('[data-testid="add-friend-button"]')
        )
        expect(add).to_be_enabled()
        alice.route("**/api/users/search/**", away)
        add.click()
        expect(add).to_be_enabled()
    finally:
        for ctx in contexts:
            ctx.close()
