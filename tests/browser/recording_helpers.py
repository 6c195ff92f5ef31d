"""Helpers for the recordings-page browser tests: test audio, imports, the player's state."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import soundfile as sf
from playwright.sync_api import Browser, BrowserContext, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from .helpers import CHROMIUM, CHROMIUM_ARGS, by_testid

READY_TIMEOUT_MS = 90_000  # an import is cleaned by a background job on a shared machine

AUDIO_STATE_JS = """() => {
  const a = document.querySelector('[data-testid="player-audio"]');
  return {
    src: a.getAttribute("src") || "",
    currentTime: a.currentTime,
    paused: a.paused,
    seeking: a.seeking,
    readyState: a.readyState,
    duration: a.duration,
    error: a.error ? a.error.code : null,
  };
}"""


def tones_and_noise_wav(seconds: float = 6.0, rate: int = 48_000, seed: int = 6) -> bytes:
    """A mono 16-bit WAV: a few tones over steady noise (something to clean and to see)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    tones = sum(
        0.2 * np.sin(2 * np.pi * f * t) * (np.sin(2 * np.pi * 0.5 * t + k) > 0)
        for k, f in enumerate((220.0, 440.0, 660.0))
    )
    audio = np.clip(tones + 0.05 * rng.standard_normal(t.size), -1.0, 1.0).astype(np.float32)
    buf = io.BytesIO()
    sf.write(buf, audio, rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def launch_for_playback(browser: Browser) -> Browser:
    """A Chromium that lets pages start audio without a user gesture."""
    return browser.browser_type.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[*CHROMIUM_ARGS, "--autoplay-policy=no-user-gesture-required"],
    )


def import_through_api(
    ctx: BrowserContext,
    base: str,
    wav: bytes,
    title: str,
    model: str = "identity",
) -> dict[str, Any]:
    """POST /api/recordings/import/ (multipart, CSRF) as the context's user; the recording."""
    token = next(c["value"] for c in ctx.cookies(base) if c["name"] == "csrftoken")
    resp = ctx.request.post(
        f"{base}/api/recordings/import/",
        headers={"X-CSRFToken": token, "Referer": f"{base}/recordings/"},
        multipart={
            "file": {"name": "tones.wav", "mimeType": "audio/wav", "buffer": wav},
            "title": title,
            "model": model,
        },
    )
    assert resp.status == 202, resp.text()
    recording = resp.json()["recording"]
    assert recording["status"] == "processing", recording
    return recording


def open_recording(page: Page, base: str, recording_id: int) -> None:
    """Open /recordings/#<id> and wait until the player shows it, ready to play."""
    page.goto(f"{base}/recordings/#{recording_id}")
    panel = by_testid(page, "player-panel")
    expect(panel).to_have_attribute("data-recording-id", str(recording_id))
    expect(panel).to_have_attribute("data-status", "ready", timeout=READY_TIMEOUT_MS)


def audio_state(page: Page) -> dict[str, Any]:
    """The player's <audio>: src, currentTime, paused, seeking, readyState, duration, error."""
    return page.evaluate(AUDIO_STATE_JS)


def wait_audio(page: Page, condition: str, timeout: int = 15_000) -> dict[str, Any]:
    """Wait until ``condition`` (JS over ``a``, the audio element) holds; the audio's state."""
    try:
        page.wait_for_function(
            f"""() => {{
              const a = document.querySelector('[data-testid="player-audio"]');
              return Boolean({condition});
            }}""",
            timeout=timeout,
        )
    except PlaywrightTimeoutError:
        raise AssertionError(f"audio never got to {condition!r}: {audio_state(page)}") from None
    return audio_state(page)
