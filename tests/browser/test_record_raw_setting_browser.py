"""Main page: the "Record raw microphone audio" checkbox is bound to the per-user
``record_raw`` setting (GET/PATCH /api/streams/settings/) and survives a reload."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from .helpers import by_testid, collect_errors, new_context, register, unique_name
from .live_helpers import call_api

pytestmark = pytest.mark.browser


def test_record_raw_checkbox_is_saved(live_server_url: str, browser: Browser) -> None:
    base = live_server_url
    ctx = new_context(browser)
    try:
        page = ctx.new_page()
        errors = collect_errors(page)
        register(page, base, unique_name("fred"))
        box = by_testid(page, "record-raw")
        expect(box).to_be_enabled()  # enabled once the setting is loaded
        expect(box).to_be_checked()  # on by default
        expect(page.get_by_label("Record raw microphone audio")).to_have_count(1)

        with page.expect_response(lambda r: r.url.endswith("/api/streams/settings/")) as patch:
            box.uncheck()
        assert patch.value.request.method == "PATCH"
        assert patch.value.request.post_data_json == {"record_raw": False}
        assert patch.value.status == 200 and patch.value.json()["record_raw"] is False
        expect(box).not_to_be_checked()
        expect(box).to_be_enabled()
        assert call_api(page, "GET", "/api/streams/settings/")["record_raw"] is False

        page.reload()
        expect(box).to_be_enabled()
        expect(box).not_to_be_checked()
        with page.expect_response(lambda r: r.url.endswith("/api/streams/settings/")) as patch:
            box.check()
        assert patch.value.json()["record_raw"] is True
        expect(box).to_be_checked()
        expect(by_testid(page, "broadcast-error")).to_be_empty()
        assert not errors, errors
    finally:
        ctx.close()
