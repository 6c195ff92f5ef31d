"""Logging out while live stops the stream first, as the user it belongs to.

The logout had been posted first; the page's stop then went out from pagehide without a
session and was refused (401), so friends saw the stream live until the server noticed
the silence. Now the stop is sent (and answered) before the logout.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from .helpers import by_testid
from .live_helpers import go_live, identity_pair

pytestmark = pytest.mark.browser


def test_logging_out_while_live_stops_the_stream_first(
    live_server_url: str, fake_mic_browser: Browser
) -> None:
    with identity_pair(fake_mic_browser, live_server_url) as p:
        p.bob.reload()
        row = by_testid(p.bob, "friend-row", p.alice_name)
        badge = row.locator('[data-testid="live-badge"]')
        go_live(p.alice)
        expect(badge).to_be_visible()
        order: list[tuple[str, int]] = []
        p.alice.on(
            "response",
            lambda r: (
                order.append((r.url.split("/api/")[-1], r.status))
                if r.url.endswith(("/api/streams/stop/", "/api/auth/logout/"))
                else None
            ),
        )

        with p.alice.expect_navigation(url=f"{p.base}/login/"):
            by_testid(p.alice, "logout-button").click()
        assert order[:2] == [("streams/stop/", 200), ("auth/logout/", 204)], order
        expect(badge).to_be_hidden(timeout=3_000)
