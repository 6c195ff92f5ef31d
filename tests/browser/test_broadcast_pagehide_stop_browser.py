"""Closing the page while live ends the stream at once: the stop request is sent with
keepalive, so the browser does not cancel it with the page. Bob (a friend) sees Alice's
Live badge go away, and the stream is no longer active."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from .helpers import by_testid
from .live_helpers import call_api, go_live, identity_pair

pytestmark = pytest.mark.browser


def test_closing_the_page_stops_the_stream(live_server_url: str, fake_mic_browser: Browser) -> None:
    with identity_pair(fake_mic_browser, live_server_url) as p:
        p.bob.reload()  # the friendship is fresh: show Alice's row
        row = by_testid(p.bob, "friend-row", p.alice_name)
        badge = row.locator('[data-testid="live-badge"]')
        go_live(p.alice)
        expect(badge).to_be_visible()

        p.alice.close()
        expect(badge).to_be_hidden(timeout=3_000)
        active = call_api(p.bob, "GET", "/api/streams/active/")["streams"]
        assert all(s["username"] != p.alice_name for s in active), active
