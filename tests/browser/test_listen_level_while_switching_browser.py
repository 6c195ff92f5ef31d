"""Friend page: the listen's level select stays disabled while a level change is on its
way, even when the stream ends meanwhile, and the late answer leaves alone the choice
the select now holds for the next listen."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Locator, Page, Route, expect

from .helpers import by_testid
from .live_helpers import Pair, go_live, identity_pair, start_listening

pytestmark = pytest.mark.browser


def listening_at_full(p: Pair) -> Locator:
    """Alice live, Bob listening at "full"; Bob's level select."""
    go_live(p.alice)
    start_listening(p.bob, p.base, p.alice_name)
    select = by_testid(p.bob, "listen-level")
    expect(select).to_have_attribute("data-applied", "full")
    return select


def hold_level_changes(page: Page) -> list[Route]:
    """The page's level changes (PATCHes of its listen), held unanswered in the list
    returned; its other listen requests go through."""
    held: list[Route] = []
    page.route(
        "**/api/webrtc/listen/*/",
        lambda route: held.append(route) if route.request.method == "PATCH" else route.continue_(),
    )
    return held


def test_level_select_waits_for_the_answer(live_server_url: str, fake_mic_browser: Browser):
    with identity_pair(fake_mic_browser, live_server_url) as p:
        alice, bob = p.alice, p.bob
        select = listening_at_full(p)

        held = hold_level_changes(bob)
        select.select_option("light")
        expect(select).to_be_disabled()
        bob.wait_for_timeout(300)
        assert len(held) == 1

        # The stream ends while the change is on its way: the page redraws the panel.
        by_testid(alice, "stop-live").click()
        expect(by_testid(bob, "listen-status")).to_have_attribute("data-state", "ended")
        expect(select).to_be_disabled()

        # The late answer (a failure: the listen is gone) frees the select and keeps the
        # level chosen, for the next listen.
        held[0].fulfill(status=404, json={"error": "No such listen."})
        expect(select).to_be_enabled()
        expect(select).to_have_value("light")
        expect(by_testid(bob, "listen-status")).to_have_text("The stream ended.")


def test_a_level_change_never_answered_frees_the_select(
    live_server_url: str, fake_mic_browser: Browser
):
    """A PATCH that never gets an answer (a hung proxy) gives up after its timeout: the
    select is usable again, back at the level still playing, and the page says why."""
    with identity_pair(fake_mic_browser, live_server_url) as p:
        bob = p.bob
        select = listening_at_full(p)
        held = hold_level_changes(bob)
        bob.clock.install()  # the page's timers from here on run on the test's clock
        select.select_option("light")
        expect(select).to_be_disabled()
        bob.clock.run_for(14_000)
        expect(select).to_be_disabled()  # not yet: the server may still answer
        bob.clock.run_for(2_000)
        expect(select).to_be_enabled()
        expect(select).to_have_value("full")
        expect(by_testid(bob, "listen-status")).to_have_text(
            "The server did not answer in time. Please try again."
        )
        assert len(held) == 1
