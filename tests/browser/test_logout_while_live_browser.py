"""Logging out while live stops the stream first, as the user it belongs to.

The logout had been posted first; the page's stop then went out from pagehide without a
session and was refused (401), so friends saw the stream live until the server noticed
the silence. Now the stop is sent (and answered) before the logout.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from .helpers import by_testid, unique_name
from .live_helpers import call_api, go_live, setup_pair

pytestmark = pytest.mark.browser


def test_logging_out_while_live_stops_the_stream_first(
    live_server_url: str, fake_mic_browser: Browser
) -> None:
    base = live_server_url
    alice_name, bob_name = unique_name("alice"), unique_name("bob")
    contexts, alice, bob = setup_pair(fake_mic_browser, base, alice_name, bob_name)
    try:
        call_api(alice, "PATCH", "/api/streams/settings/", {"model": "identity"})
        bob.reload()
        badge = by_testid(bob, "friend-row", alice_name).locator('[data-testid="live-badge"]')
        go_live(alice)
        expect(badge).to_be_visible()
        order: list[tuple[str, int]] = []
        alice.on(
            "response",
            lambda r: (
                order.append((r.url.split("/api/")[-1], r.status))
                if r.url.endswith(("/api/streams/stop/", "/api/auth/logout/"))
                else None
            ),
        )

        with alice.expect_navigation(url=f"{base}/login/"):
            by_testid(alice, "logout-button").click()
        assert order[:2] == [("streams/stop/", 200), ("auth/logout/", 204)], order
        expect(badge).to_be_hidden(timeout=3_000)
    finally:
        for ctx in contexts:
            ctx.close()
