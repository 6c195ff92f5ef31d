"""Friend page: leaving while listening (pagehide) stops the player and resets the panel,
so a page restored from the back/forward cache offers "Listen" again, not a dead "Stop".

bfcache is hard to trigger in headless Chromium: the page gets synthetic pagehide and
pageshow(persisted) events, which is what the real restore dispatches."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from .helpers import by_testid
from .live_helpers import go_live, identity_pair, start_listening

pytestmark = pytest.mark.browser

HIDE_AND_RESTORE_JS = """() => {
  window.dispatchEvent(new PageTransitionEvent("pagehide", { persisted: true }));
  window.dispatchEvent(new PageTransitionEvent("pageshow", { persisted: true }));
}"""


def test_restored_page_offers_listen_again(live_server_url: str, fake_mic_browser: Browser) -> None:
    with identity_pair(fake_mic_browser, live_server_url) as p:
        alice, bob = p.alice, p.bob
        go_live(alice)
        start_listening(bob, p.base, p.alice_name)
        expect(by_testid(bob, "stop-listen")).to_be_visible()

        bob.evaluate(HIDE_AND_RESTORE_JS)
        expect(by_testid(bob, "listen")).to_be_visible()
        expect(by_testid(bob, "stop-listen")).to_be_hidden()
        expect(by_testid(bob, "listen-audio")).to_be_hidden()
        expect(by_testid(bob, "listen-status")).not_to_have_attribute("data-state", "playing")
        expect(by_testid(bob, "listen")).to_be_enabled()  # Alice is still live
        by_testid(alice, "stop-live").click()
