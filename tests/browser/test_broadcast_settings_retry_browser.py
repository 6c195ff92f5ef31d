"""Main page: when the broadcast settings fail to load (503), the panel says so and
retries; the setting controls become usable once a retry succeeds."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Route, expect

from .helpers import by_testid, new_context, register, unique_name

pytestmark = pytest.mark.browser


def test_settings_load_is_retried(live_server_url: str, browser: Browser) -> None:
    base = live_server_url
    ctx = new_context(browser)
    try:
        page = ctx.new_page()
        failed: list[str] = []

        # Twice: the presence socket opening retries at once, so after a single failure
        # the message could be gone again before it is looked at. After two it stays
        # until the next retry, a second later.
        def fail_twice(route: Route) -> None:
            if route.request.method == "GET" and len(failed) < 2:
                failed.append(route.request.url)
                route.fulfill(status=503, json={"error": "Try again in a moment."})
            else:
                route.continue_()

        page.route("**/api/streams/settings/", fail_twice)
        register(page, base, unique_name("alice"))
        error = by_testid(page, "broadcast-error")
        expect(error).to_contain_text("settings")
        for box in ("record-raw", "share-raw", "low-latency"):
            expect(by_testid(page, box)).to_be_enabled(timeout=10_000)
        assert len(failed) == 2
        expect(error).to_be_empty()
    finally:
        ctx.close()
