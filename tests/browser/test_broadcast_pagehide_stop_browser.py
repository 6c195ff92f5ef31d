"""Closing the page while live ends the stream at once: the stop request is sent with
keepalive, so the browser does not cancel it with the page. Bob (a friend) sees Alice's
Live badge go away, and the stream is no longer active."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from .helpers import by_testid, unique_name
from .live_helpers import call_api, go_live, setup_pair

pytestmark = pytest.mark.browser


def test_closing_the_page_stops_the_stream(live_server_url: str, fake_mic_browser: Browser) -> None:
    base = live_server_url
    alice_name, bob_name = unique_name("alice"), unique_name("bob")
    contexts, alice, bob = setup_pair(fake_mic_browser, base, alice_name, bob_name)
    try:
        call_api(alice, "PATCH", "/api/streams/settings/", {"model": "identity"})
        bob.reload()  # the friendship is fresh: show Alice's row
        badge = by_testid(bob, "friend-row", alice_name).locator('[data-testid="live-badge"]')
        go_live(alice)
        expect(badge).to_be_visible()

        alice.close()
        expect(badge).to_be_hidden(timeout=3_000)
        active = call_api(bob, "GET", "/api/streams/active/")["streams"]
        assert all(s["username"] != alice_name for s in active), active
    finally:
        for ctx in contexts:
            ctx.close()
