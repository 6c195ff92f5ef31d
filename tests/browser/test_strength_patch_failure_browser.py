"""Main page: a failed noise-removal PATCH (503) puts the slider back on the value the
server last confirmed, and says why."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Route, expect

from .helpers import by_testid, new_context, register, unique_name

pytestmark = pytest.mark.browser


def test_failed_strength_patch_restores_the_slider(live_server_url: str, browser: Browser) -> None:
    base = live_server_url
    ctx = new_context(browser)
    try:
        page = ctx.new_page()
        register(page, base, unique_name("alice"))
        expect(by_testid(page, "record-raw")).to_be_enabled()  # the settings are loaded
        slider = by_testid(page, "strength-slider")
        before = slider.input_value()
        label = by_testid(page, "strength-value").text_content()
        wanted = "30" if before != "30" else "40"

        def refuse_patch(route: Route) -> None:
            if route.request.method == "PATCH":
                route.fulfill(status=503, json={"error": "Noise removal is busy."})
            else:
                route.continue_()

        page.route("**/api/streams/settings/", refuse_patch)
        with page.expect_response(lambda r: r.url.endswith("/api/streams/settings/")) as patch:
            slider.fill(wanted)
        assert patch.value.status == 503
        expect(by_testid(page, "broadcast-error")).to_contain_text("Noise removal is busy.")
        expect(slider).to_have_value(before)
        expect(by_testid(page, "strength-value")).to_have_text(label or "")
    finally:
        ctx.close()
