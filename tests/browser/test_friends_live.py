"""Two people become friends through the UI and see each other's presence live."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import Page, expect

from .helpers import (
    by_testid,
    collect_errors,
    new_context,
    register,
    unique_name,
    wait_live,
)

pytestmark = pytest.mark.browser

SCREENSHOT = "/tmp/fc25_main.png"
PHONE_SCREENSHOT = "/tmp/fc25_main_phone.png"


def mark_no_reload(page: Page) -> None:
    """Set a flag that survives only as long as the page is not reloaded."""
    page.evaluate("window.__fc25NoReload = true")


def assert_not_reloaded(page: Page) -> None:
    assert page.evaluate("window.__fc25NoReload === true"), "the page was reloaded"


def test_friend_request_and_presence_are_live(live_server_url: str, browser) -> None:
    base = live_server_url
    alice_name, bob_name = unique_name("alice"), unique_name("bob")
    ctx_a, ctx_b = new_context(browser), new_context(browser)
    try:
        alice, bob = ctx_a.new_page(), ctx_b.new_page()
        alice_errors, bob_errors = collect_errors(alice), collect_errors(bob)
        register(bob, base, bob_name)
        register(alice, base, alice_name)
        expect(by_testid(alice, "current-user")).to_have_text(alice_name)
        mark_no_reload(alice)
        mark_no_reload(bob)

        # A second tab of Alice's on Bob's page: not friends yet, no listen panel.
        alice_on_bob = ctx_a.new_page()
        alice_on_bob.goto(f"{base}/u/{bob_name}/")
        wait_live(alice_on_bob)
        expect(by_testid(alice_on_bob, "status")).to_contain_text("not friends")
        expect(alice_on_bob.locator("#listen-panel")).to_be_hidden()

        # Alice finds Bob and sends a request.
        by_testid(alice, "user-search-input").fill(bob_name[:-2])
        result = by_testid(alice, "search-result", bob_name)
        add = result.locator('[data-testid="add-friend-button"]')
        expect(add).to_have_attribute("data-state", "add")
        add.click()
        expect(add).to_have_attribute("data-state", "pending")
        expect(add).to_be_disabled()
        expect(by_testid(alice, "outgoing-request", bob_name)).to_be_visible()

        # Bob sees it arrive without reloading, and accepts.
        request = by_testid(bob, "incoming-request", alice_name)
        expect(request).to_be_visible()
        if os.environ.get("FC25_SCREENSHOTS"):
            bob.screenshot(path="/tmp/fc25_request.png")
        request.locator('[data-testid="accept-button"]').click()

        # Both friend lists update live; the request rows disappear.
        alice_row = by_testid(alice, "friend-row", bob_name)
        bob_row = by_testid(bob, "friend-row", alice_name)
        expect(alice_row).to_be_visible()
        expect(bob_row).to_be_visible()
        expect(by_testid(alice, "outgoing-request", bob_name)).to_have_count(0)
        expect(by_testid(bob, "incoming-request", alice_name)).to_have_count(0)
        expect(add).to_have_attribute("data-state", "friends")  # search result refreshed too
        expect(alice_row.locator('[data-testid="friend-link"]')).to_have_attribute(
            "href", f"/u/{bob_name}/"
        )
        online = alice_row.locator('[data-testid="online-badge"]')
        expect(online).to_have_attribute("data-online", "true")
        expect(bob_row.locator('[data-testid="online-badge"]')).to_have_attribute(
            "data-online", "true"
        )
        expect(alice_row.locator('[data-testid="live-badge"]')).to_be_hidden()
        # Alice's tab on Bob's page turned into a friend page by itself.
        expect(alice_on_bob.locator("#listen-panel")).to_be_visible()
        expect(by_testid(alice_on_bob, "online-badge")).to_have_attribute("data-online", "true")

        # Bob leaves: Alice sees him go offline live; he comes back: online again.
        bob.goto("about:blank")
        expect(online).to_have_attribute("data-online", "false")
        expect(online).to_have_text("Offline")
        expect(alice_row.locator('[data-testid="last-seen"]')).to_contain_text("last seen")
        bob.goto(f"{base}/")
        wait_live(bob)
        expect(online).to_have_attribute("data-online", "true")
        expect(online).to_have_text("Online")
        assert_not_reloaded(alice)

        # Bob's friend page for Alice shows her state and the listen placeholder.
        bob.goto(f"{base}/u/{alice_name}/")
        expect(by_testid(bob, "friend-name")).to_have_text(alice_name)
        expect(
            by_testid(bob, "friend-state").locator('[data-testid="online-badge"]')
        ).to_have_attribute("data-online", "true")
        expect(bob.locator("#listen-panel")).to_be_visible()

        if os.environ.get("FC25_SCREENSHOTS"):
            by_testid(alice, "user-search-input").fill("")
            expect(by_testid(alice, "search-result")).to_have_count(0)
            alice.screenshot(path=SCREENSHOT, full_page=True)
            alice.set_viewport_size({"width": 390, "height": 844})
            alice.screenshot(path=PHONE_SCREENSHOT, full_page=True)
            bob.screenshot(path="/tmp/fc25_friend.png", full_page=True)

        # Alice unfriends Bob (after a confirm dialog): all pages follow live.
        alice.once("dialog", lambda dialog: dialog.accept())
        alice_row.locator('[data-testid="unfriend-button"]').click()
        expect(alice_row).to_have_count(0)
        expect(by_testid(bob, "status")).to_contain_text("not friends")
        expect(bob.locator("#listen-panel")).to_be_hidden()
        expect(by_testid(alice_on_bob, "status")).to_contain_text("not friends")
        assert_not_reloaded(alice)
        assert alice_errors == [], alice_errors
        assert bob_errors == [], bob_errors
    finally:
        ctx_a.close()
        ctx_b.close()
