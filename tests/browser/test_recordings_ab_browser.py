"""Recordings page: the Raw / Cleaned A/B toggle keeps the position and the play state."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Response, expect

from .helpers import by_testid, collect_errors, new_context, register, unique_name
from .recording_helpers import (
    import_through_api,
    launch_for_playback,
    open_recording,
    tones_and_noise_wav,
    wait_audio,
)

pytestmark = pytest.mark.browser

SEEK_TO_S = 2.0
POSITION_TOLERANCE_S = 0.3


@pytest.fixture(scope="module")
def playback_browser(browser: Browser) -> Iterator[Browser]:
    chromium = launch_for_playback(browser)
    try:
        yield chromium
    finally:
        chromium.close()


def test_ab_toggle_keeps_position_and_playing(
    live_server_url: str, playback_browser: Browser
) -> None:
    base = live_server_url
    ctx = new_context(playback_browser, 1280, 900)
    try:
        page = ctx.new_page()
        errors = collect_errors(page)
        audio_responses: list[Response] = []

        def on_response(response: Response) -> None:
            if "/audio/" in response.url:
                audio_responses.append(response)

        page.on("response", on_response)
        register(page, base, unique_name("alice"))
        rec = import_through_api(ctx, base, tones_and_noise_wav(seconds=6.0), "A/B sample")
        assert rec["raw_audio_url"], rec

        open_recording(page, base, rec["id"])
        toggle = by_testid(page, "ab-toggle")
        expect(toggle).to_be_enabled()
        expect(toggle).to_have_attribute("aria-pressed", "false")
        state = wait_audio(page, "a.readyState >= 1")
        assert state["src"].startswith(rec["audio_url"]), state
        assert "version=raw" not in state["src"], state

        # Play, then seek by clicking the waveform at 2.0 s.
        page.evaluate("document.querySelector('[data-testid=player-audio]').play()")
        state = wait_audio(page, "!a.paused && a.currentTime > 0.1")
        duration = state["duration"]
        assert duration > SEEK_TO_S + 2, state
        box = by_testid(page, "waveform").bounding_box()
        assert box is not None
        page.mouse.click(
            box["x"] + box["width"] * SEEK_TO_S / duration, box["y"] + box["height"] / 2
        )
        wait_audio(page, f"!a.seeking && Math.abs(a.currentTime - {SEEK_TO_S}) < 0.3")

        # Toggle to Raw while playing: same position, still playing.
        before = page.evaluate(
            """() => {
              const a = document.querySelector('[data-testid="player-audio"]');
              const at = a.currentTime;
              document.querySelector('[data-testid="ab-toggle"]').click();
              return at;
            }"""
        )
        assert abs(before - SEEK_TO_S) < 1.0, before
        state = wait_audio(
            page,
            "a.getAttribute('src').includes('version=raw') && a.readyState >= 1 && !a.seeking"
            f" && !a.paused && Math.abs(a.currentTime - {before}) < {POSITION_TOLERANCE_S}",
        )
        assert state["src"] == rec["raw_audio_url"], state
        expect(toggle).to_have_attribute("aria-pressed", "true")
        expect(by_testid(page, "player-panel")).to_have_attribute("data-version", "raw")
        expect(by_testid(page, "ab-state")).to_contain_text("raw")
        # ... and it keeps playing from there.
        state = wait_audio(page, f"!a.paused && a.currentTime > {before} + 0.5")
        assert state["error"] is None, state

        # Pause, toggle back to Cleaned: same position, still paused.
        paused_at = page.evaluate(
            """() => {
              const a = document.querySelector('[data-testid="player-audio"]');
              a.pause();
              const at = a.currentTime;
              document.querySelector('[data-testid="ab-toggle"]').click();
              return at;
            }"""
        )
        state = wait_audio(
            page,
            "!a.getAttribute('src').includes('version=raw') && a.readyState >= 1 && !a.seeking"
            f" && Math.abs(a.currentTime - {paused_at}) < 0.05",
        )
        assert state["src"].startswith(rec["audio_url"]), state
        expect(toggle).to_have_attribute("aria-pressed", "false")
        page.wait_for_timeout(300)
        state = wait_audio(page, "a.paused")
        assert abs(state["currentTime"] - paused_at) < 0.05, (state, paused_at)

        # Both versions were fetched with HTTP Range requests (206 Partial Content).
        statuses = {
            (("raw" if "version=raw" in r.url else "cleaned"), r.status) for r in audio_responses
        }
        assert ("cleaned", 206) in statuses and ("raw", 206) in statuses, statuses
        if os.environ.get("FC25_SCREENSHOTS"):
            page.screenshot(path="/tmp/fc25_recordings_ab.png", full_page=True)
        assert not errors, errors
    finally:
        ctx.close()
