"""Main page: the "Low latency" checkbox is bound to the per-user ``low_latency`` setting
(GET/PATCH /api/streams/settings/), off by default, and survives a reload."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from .helpers import by_testid, collect_errors, new_context, register, unique_name
from .live_helpers import call_api

pytestmark = pytest.mark.browser


def test_low_latency_checkbox_is_saved(live_server_url: str, browser: Browser) -> None:
    base = live_server_url
    ctx = new_context(browser)
    try:
        page = ctx.new_page()
        errors = collect_errors(page)
        register(page, base, unique_name("lena"))
        box = by_testid(page, "low-latency")
        expect(box).to_be_enabled()  # enabled once the setting is loaded
        expect(box).not_to_be_checked()  # off by default

        with page.expect_response(lambda r: r.url.endswith("/api/streams/settings/")) as patch:
            box.check()
        assert patch.value.request.method == "PATCH"
        assert patch.value.request.post_data_json == {"low_latency": True}
        assert patch.value.status == 200 and patch.value.json()["low_latency"] is True
        assert call_api(page, "GET", "/api/streams/settings/")["low_latency"] is True

        page.reload()
        expect(box).to_be_enabled()
        expect(box).to_be_checked()
        expect(by_testid(page, "broadcast-error")).to_be_empty()
        assert not errors, errors
    finally:
        ctx.close()
