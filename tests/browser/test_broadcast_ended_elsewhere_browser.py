"""Main page: when the server ends the stream behind the page's back (a Stop from another
tab, a shutdown), the panel leaves the live state and says so: at once through the
`live_ended` presence event, and through its listener poll when that event was missed."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Route, expect

from .helpers import by_testid, new_context, register, unique_name
from .live_helpers import call_api, go_live, wait_for_server_audio

pytestmark = pytest.mark.browser


def test_stream_ended_elsewhere_is_noticed(live_server_url: str, fake_mic_browser: Browser) -> None:
    base = live_server_url
    ctx = new_context(fake_mic_browser, mic_origin=base)
    try:
        page = ctx.new_page()
        register(page, base, unique_name("alice"))
        call_api(page, "PATCH", "/api/streams/settings/", {"model": "identity"})
        go_live(page)

        token = next(c["value"] for c in ctx.cookies(base) if c["name"] == "csrftoken")
        resp = page.request.post(
            f"{base}/api/streams/stop/", headers={"X-CSRFToken": token, "Referer": f"{base}/"}
        )
        assert resp.status == 200, resp.text()

        panel = page.locator("#broadcast-panel")
        expect(panel).to_have_attribute("data-live", "false", timeout=6_000)
        expect(by_testid(page, "broadcast-error")).to_have_text("Your stream ended.")
        expect(by_testid(page, "go-live")).to_be_enabled()
        expect(by_testid(page, "broadcast-live-badge")).to_be_hidden()
    finally:
        ctx.close()


def test_live_ended_event_ends_the_panel_and_links_the_recording(
    live_server_url: str, fake_mic_browser: Browser
) -> None:
    """The listener poll is made to keep listing the stream: only the event can end it."""
    base = live_server_url
    ctx = new_context(fake_mic_browser, mic_origin=base)
    try:
        page = ctx.new_page()
        name = unique_name("alice")
        register(page, base, name)
        call_api(page, "PATCH", "/api/streams/settings/", {"model": "identity"})

        def still_live(route: Route) -> None:
            route.fulfill(json={"streams": [{"username": name, "listeners": 0}]})

        page.route("**/api/streams/active/", still_live)
        go_live(page)
        wait_for_server_audio(page)  # else the stop may come before any frame: no recording

        token = next(c["value"] for c in ctx.cookies(base) if c["name"] == "csrftoken")
        resp = page.request.post(  # not routed: the server really stops it
            f"{base}/api/streams/stop/", headers={"X-CSRFToken": token, "Referer": f"{base}/"}
        )
        assert resp.status == 200, resp.text()
        recording_id = resp.json()["recording_id"]
        assert recording_id is not None

        expect(page.locator("#broadcast-panel")).to_have_attribute(
            "data-live", "false", timeout=5_000
        )
        expect(by_testid(page, "broadcast-error")).to_have_text("Your stream ended.")
        expect(by_testid(page, "last-recording")).to_be_visible()
        expect(by_testid(page, "last-recording-link")).to_have_attribute(
            "href", f"/recordings/#{recording_id}"
        )
        expect(by_testid(page, "go-live")).to_be_enabled()
    finally:
        ctx.close()
