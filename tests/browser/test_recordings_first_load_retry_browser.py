"""The recordings page whose first load of the list fails tries again until it works; it
had stayed on "Loading…" (the page's poll runs only while a job is open)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Route, expect

from .helpers import by_testid, new_context, register, unique_name
from .recording_helpers import import_through_api, tones_and_noise_wav

pytestmark = pytest.mark.browser


def test_a_failed_first_load_is_tried_again(live_server_url: str, browser: Browser) -> None:
    base = live_server_url
    ctx = new_context(browser)
    try:
        page = ctx.new_page()
        register(page, base, unique_name("alice"))
        rec = import_through_api(ctx, base, tones_and_noise_wav(seconds=1.0), "Kept")
        failures = {"left": 2}

        def flaky(route: Route) -> None:
            if failures["left"] > 0 and route.request.url.endswith("/api/recordings/?limit=100"):
                failures["left"] -= 1
                route.fulfill(status=503, json={"error": "Try again in a moment."})
            else:
                route.continue_()

        page.route("**/api/recordings/**", flaky)
        page.goto(f"{base}/recordings/")
        expect(by_testid(page, "recordings-loading")).to_contain_text("trying again")
        row = page.locator(f'[data-testid="recording-row"][data-recording-id="{rec["id"]}"]')
        expect(row).to_have_count(1, timeout=20_000)
        expect(by_testid(page, "recordings-loading")).to_be_hidden()
        expect(by_testid(page, "recordings-error")).to_be_empty()
    finally:
        ctx.close()
