"""Deleting a recording that another tab already deleted removes it from this page too,
without an error: the user's wish is done. It had shown the 404 and kept the row and
the player. A rename's Save is disabled while it is sent, so a double click sends one
PATCH."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from .helpers import by_testid, collect_errors, new_context, register, unique_name
from .live_helpers import call_api
from .recording_helpers import import_through_api, open_recording, tones_and_noise_wav

pytestmark = pytest.mark.browser


def test_a_recording_deleted_in_another_tab_goes_quietly(
    live_server_url: str, browser: Browser
) -> None:
    base = live_server_url
    ctx = new_context(browser, 1280, 900)
    try:
        page = ctx.new_page()
        register(page, base, unique_name("alice"))
        errors = collect_errors(page)
        rec = import_through_api(ctx, base, tones_and_noise_wav(seconds=2.0), "Walk")
        open_recording(page, base, rec["id"])

        patches = []
        page.on(
            "request",
            lambda r: (
                patches.append(r) if r.method == "PATCH" and "/recordings/" in r.url else None
            ),
        )
        by_testid(page, "rename-button").click()
        by_testid(page, "rename-input").fill("Long walk")
        with page.expect_response(lambda r: r.request.method == "PATCH"):
            by_testid(page, "rename-save").dblclick()
        expect(by_testid(page, "player-title")).to_have_text("Long walk")
        page.wait_for_timeout(300)  # a second PATCH would have been sent by now
        assert len(patches) == 1

        call_api(page, "DELETE", f"/api/recordings/{rec['id']}/")  # "another tab"
        page.once("dialog", lambda dialog: dialog.accept())
        with page.expect_response(lambda r: r.request.method == "DELETE") as deleted:
            by_testid(page, "delete-button").click()
        assert deleted.value.status == 404
        row = page.locator(f'[data-testid="recording-row"][data-recording-id="{rec["id"]}"]')
        expect(row).to_have_count(0)
        expect(by_testid(page, "player-panel")).to_be_hidden()
        expect(by_testid(page, "recordings-error")).to_be_empty()
        assert not [e for e in errors if "404" not in e], errors
    finally:
        ctx.close()
