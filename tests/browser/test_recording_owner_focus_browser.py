"""Recordings page, keyboard only: after a rename the focus is back on the Rename button;
after a delete it lands on the library's heading instead of being lost with the player."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from .helpers import by_testid, new_context, register, unique_name
from .recording_helpers import import_through_api, open_recording, tones_and_noise_wav

pytestmark = pytest.mark.browser

ACTIVE_TESTID = "() => document.activeElement && document.activeElement.dataset.testid"


def test_focus_survives_rename_and_delete(live_server_url: str, browser: Browser) -> None:
    base = live_server_url
    ctx = new_context(browser, 1280, 900)
    try:
        page = ctx.new_page()
        register(page, base, unique_name("alice"))
        rec = import_through_api(ctx, base, tones_and_noise_wav(seconds=2.0), "Morning walk")
        open_recording(page, base, rec["id"])

        rename = by_testid(page, "rename-button")
        rename.focus()
        page.keyboard.press("Enter")
        title_input = by_testid(page, "rename-input")
        expect(title_input).to_be_focused()
        page.keyboard.press("ControlOrMeta+A")
        page.keyboard.type("Evening walk")
        with page.expect_response(lambda r: r.url.endswith(f"/api/recordings/{rec['id']}/")):
            page.keyboard.press("Enter")
        expect(by_testid(page, "player-title")).to_have_text("Evening walk")
        expect(rename).to_be_focused()
        expect(rename).to_be_enabled()

        page.once("dialog", lambda dialog: dialog.accept())
        delete = by_testid(page, "delete-button")
        delete.focus()
        with page.expect_response(lambda r: r.url.endswith(f"/api/recordings/{rec['id']}/")):
            page.keyboard.press("Enter")
        expect(by_testid(page, "player-panel")).to_be_hidden()
        expect(page.locator("#library-title")).to_be_focused()
        assert page.evaluate("() => document.activeElement !== document.body")
    finally:
        ctx.close()
