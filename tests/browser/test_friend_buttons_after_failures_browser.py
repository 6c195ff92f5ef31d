"""A friend action whose request fails, and whose reload fails too (the server is away),
leaves its buttons usable: they had come back only with a successful reload, so one
network hiccup left the row dead until the page was reloaded. A request that was sent
keeps its button disabled (Pending) even when the reloads fail."""

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

        # Sent, but the reloads fail: the button says Pending and stays disabled.
        def reads_away(route: Route) -> None:
            if route.request.method == "GET":
                route.abort("connectionrefused")
            else:
                route.continue_()

        alice.unroute("**/api/friends/**")
        alice.route("**/api/friends/**", reads_away)
        with alice.expect_response(lambda r: r.request.method == "POST") as sent:
            add.click()
        assert sent.value.status == 201
        expect(add).to_have_text("Pending")
        alice.wait_for_timeout(500)  # the failed reloads have come back by now
        expect(add).to_be_disabled()
    finally:
        for ctx in contexts:
            ctx.close()
