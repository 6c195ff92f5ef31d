"""The recordings page loads the library a page at a time: "Show older recordings" adds
the next page at the end until there is none, a link to an older recording opens it
without moving it into the pages shown, and a reload of the newest page (a new import
here) keeps the older pages shown, without repeating any row."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, Route, expect

from .helpers import by_testid, collect_errors, new_context, register, unique_name
from .recording_helpers import import_through_api, tones_and_noise_wav

pytestmark = pytest.mark.browser

PAGE = 2  # the page's own size is 100; its requests are rewritten to this


def titles(page: Page) -> list[str]:
    rows = page.locator('[data-testid="recording-row"] [data-field="title"]')
    return [t.strip() for t in rows.all_text_contents()]


def small_pages(route: Route) -> None:
    route.continue_(url=route.request.url.replace("limit=100", f"limit={PAGE}"))


def test_older_pages_are_added_and_kept(live_server_url: str, browser: Browser) -> None:
    base = live_server_url
    ctx = new_context(browser, 1280, 900)
    try:
        page = ctx.new_page()
        errors = collect_errors(page)
        register(page, base, unique_name("alice"))
        wav = tones_and_noise_wav(seconds=0.5)
        ids = [import_through_api(ctx, base, wav, f"take {i}")["id"] for i in range(5)]
        page.route("**/api/recordings/?limit=*", small_pages)

        page.goto(f"{base}/recordings/")
        more = by_testid(page, "recordings-more")
        expect(page.locator('[data-testid="recording-row"]')).to_have_count(2)
        assert titles(page) == ["take 4", "take 3"]
        # A link to a recording older than the pages shown opens it in the player; the
        # list does not take it out of its place.
        page.evaluate(f"location.hash = '#{ids[0]}'")
        expect(by_testid(page, "player-title")).to_have_text("take 0")
        assert titles(page) == ["take 4", "take 3"]
        more.click()
        expect(page.locator('[data-testid="recording-row"]')).to_have_count(4)
        more.click()
        expect(page.locator('[data-testid="recording-row"]')).to_have_count(5)
        expect(more).to_be_hidden()
        assert titles(page) == [f"take {i}" for i in (4, 3, 2, 1, 0)]

        # A new import (its job event names a recording the page does not know): the
        # newest page is read again, and the older pages stay below it.
        import_through_api(ctx, base, wav, "take 5")
        expect(page.locator('[data-testid="recording-row"]')).to_have_count(6)
        assert titles(page) == [f"take {i}" for i in (5, 4, 3, 2, 1, 0)]
        expect(more).to_be_hidden()
        assert not errors
    finally:
        ctx.close()
