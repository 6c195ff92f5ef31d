"""Recordings page "Clean again": the job's progress arrives live, and when it is done the
player loads the new cleaned version at the same position."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from .helpers import by_testid, collect_errors, new_context, register, unique_name
from .recording_helpers import (
    READY_TIMEOUT_MS,
    import_through_api,
    open_recording,
    tones_and_noise_wav,
    wait_audio,
)

pytestmark = pytest.mark.browser

POSITION_S = 2.5


def test_reclean_progress_and_reload_keeps_position(live_server_url: str, browser: Browser) -> None:
    base = live_server_url
    ctx = new_context(browser, 1280, 900)
    try:
        page = ctx.new_page()
        errors = collect_errors(page)
        register(page, base, unique_name("erin"))
        rec = import_through_api(ctx, base, tones_and_noise_wav(seconds=5.0), "To clean again")
        open_recording(page, base, rec["id"])
        wait_audio(page, "a.readyState >= 1")
        page.evaluate(
            f"document.querySelector('[data-testid=player-audio]').currentTime = {POSITION_S}"
        )
        wait_audio(page, f"!a.seeking && Math.abs(a.currentTime - {POSITION_S}) < 0.01")

        # The form offers the server's models; bad input is refused before any request.
        model = by_testid(page, "reclean-model")
        expect(model.locator("option[value=identity]")).to_have_count(1)
        model.select_option("identity")
        atten = by_testid(page, "reclean-atten")
        atten.fill("3")
        by_testid(page, "reclean-submit").click()
        expect(atten).to_have_attribute("aria-invalid", "true")
        expect(by_testid(page, "recordings-error")).to_contain_text("between 6 and 100")

        # Submit: 202 with a job. The page does not poll for its owner's jobs while the
        # socket is open, so the reload below is driven by the live "recording_job" events.
        atten.fill("30")
        with page.expect_response(lambda r: r.url.endswith("/reclean/")) as answer:
            by_testid(page, "reclean-submit").click()
        assert answer.value.status == 202, answer.value.text()
        job = answer.value.json()["job"]
        assert job["kind"] == "reclean" and job["status"] in ("queued", "running", "done"), job
        state = wait_audio(
            page,
            f"a.getAttribute('src').includes('rev={job['id']}') && a.readyState >= 1 && !a.seeking"
            f" && Math.abs(a.currentTime - {POSITION_S}) < 0.05",
            timeout=READY_TIMEOUT_MS,
        )
        assert state["paused"], state
        expect(by_testid(page, "job-status")).to_be_hidden()
        expect(by_testid(page, "status")).to_contain_text("is ready")
        expect(by_testid(page, "player-meta")).to_contain_text("limit 30 dB")
        expect(by_testid(page, "reclean-submit")).to_be_enabled()
        assert not errors, errors
    finally:
        ctx.close()
