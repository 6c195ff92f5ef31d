"""Shared setup for the live-audio browser test and the latency benchmark.

Chromium's fake microphone plays (and loops) a WAV file, so two pages in the
same browser can broadcast and listen through the real server.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
from playwright.sync_api import Browser, BrowserType, Error, Page, expect

from .helpers import (
    CHROMIUM,
    CHROMIUM_ARGS,
    TIMEOUT_MS,
    by_testid,
    new_context,
    register,
    unique_name,
)

FRAME_S = 0.01  # 10 ms analysis frames


def write_wav(path: Path, audio: np.ndarray, rate: int = 48_000) -> Path:
    """16-bit PCM (Chromium's fake capture plays 24-bit files as silence)."""
    sf.write(str(path), np.clip(audio, -1.0, 1.0), rate, subtype="PCM_16")
    return path


def launch_with_fake_mic(browser: Browser | BrowserType, wav: Path) -> Browser:
    """A Chromium whose microphone plays ``wav`` (from a Browser's or a BrowserType's Playwright)."""
    browser_type = browser.browser_type if isinstance(browser, Browser) else browser
    return browser_type.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[
            *CHROMIUM_ARGS,
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={wav}",
            "--autoplay-policy=no-user-gesture-required",
        ],
    )


_API_CALL = """async ([method, path, data]) => {
  const { api } = await import("/static/js/api.js");
  return await api(method, path, data);
}"""


def call_api(page: Page, method: str, path: str, data: dict | None = None):
    """Call the JSON API from the page (session cookie and CSRF token included)."""
    return page.evaluate(_API_CALL, [method, path, data])


def befriend(alice: Page, bob: Page, alice_name: str, bob_name: str) -> None:
    """Alice asks, Bob asks back (which accepts Alice's request)."""
    for attempt in range(3):  # SQLite may answer "database is locked" (500) under load
        try:
            call_api(alice, "POST", "/api/friends/requests/", {"to_user": bob_name})
            break
        except Error as exc:
            if attempt == 2 or "HTTP 500" not in str(exc):
                raise
            alice.wait_for_timeout(500)
    answer = call_api(bob, "POST", "/api/friends/requests/", {"to_user": alice_name})
    assert answer["status"] == "accepted", answer


def setup_pair(fake_mic_browser: Browser, base: str, alice_name: str, bob_name: str):
    """Register Alice and Bob in two contexts and make them friends; return (ctxs, alice, bob)."""
    contexts = []
    for _ in range(2):
        ctx = new_context(fake_mic_browser, mic_origin=base)
        contexts.append(ctx)
    alice, bob = contexts[0].new_page(), contexts[1].new_page()
    register(alice, base, alice_name)
    register(bob, base, bob_name)
    befriend(alice, bob, alice_name, bob_name)
    return contexts, alice, bob


@dataclass(frozen=True)
class Pair:
    """Alice and Bob, friends, each in a browser context of their own."""

    base: str
    alice: Page
    bob: Page
    alice_name: str
    bob_name: str


@contextmanager
def identity_pair(fake_mic_browser: Browser, base: str) -> Iterator[Pair]:
    """Alice and Bob registered, friends, Alice's streams on the pass-through model (no
    model to load); their contexts are closed when the block ends."""
    alice_name, bob_name = unique_name("alice"), unique_name("bob")
    contexts, alice, bob = setup_pair(fake_mic_browser, base, alice_name, bob_name)
    try:
        call_api(alice, "PATCH", "/api/streams/settings/", {"model": "identity"})
        yield Pair(base, alice, bob, alice_name, bob_name)
    finally:
        for ctx in contexts:
            ctx.close()


def go_live(alice: Page) -> None:
    by_testid(alice, "go-live").click()
    expect(by_testid(alice, "stop-live")).to_be_visible(timeout=30_000)
    expect(alice.locator("#broadcast-panel")).to_have_attribute("data-live", "true")


def wait_for_server_audio(page: Page, periods: int = 1) -> None:
    """Wait until the server has processed (and so recorded) audio from this page's stream.

    Live means the peer connection is up, not that a frame has arrived: a stop right
    after it can end a stream with nothing recorded (``recording_id`` null). The
    ``telemetry`` event is sent only for periods that had audio, so its count on the
    page says the server got some.
    """
    page.wait_for_function(
        "n => Number(document.querySelector('[data-testid=telemetry]')?.dataset.updates) >= n",
        arg=periods,
        timeout=TIMEOUT_MS,
    )


def start_listening(bob: Page, base: str, alice_name: str) -> None:
    bob.goto(f"{base}/u/{alice_name}/")
    listen = by_testid(bob, "listen")
    expect(listen).to_be_enabled(timeout=TIMEOUT_MS)
    listen.click()
    expect(by_testid(bob, "listen-status")).to_have_attribute(
        "data-state", "playing", timeout=30_000
    )
    bob.wait_for_function("() => window.__fc25ListenStream?.getAudioTracks().length > 0")


# Read a track with MediaStreamTrackProcessor into a Float32 array (mono, channel 0).
# Skips leading digital silence (before the first packets arrive), then collects
# `seconds` of audio. Returns {rate, samples}.
CAPTURE_JS = """async ([seconds, source]) => {
  const track = source === "mic"
    ? window.__fc25MicStream.getAudioTracks()[0]
    : window.__fc25ListenStream.getAudioTracks()[0];
  const reader = new MediaStreamTrackProcessor({ track }).readable.getReader();
  const parts = [];
  let rate = 0, got = 0, started = false;
  const deadline = performance.now() + seconds * 1000 + 20000;
  while (performance.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    rate = value.sampleRate;
    const buf = new Float32Array(value.numberOfFrames);
    value.copyTo(buf, { planeIndex: 0, format: "f32-planar" });
    value.close();
    if (!started) {
      if (!buf.some((x) => Math.abs(x) > 1e-4)) continue;
      started = true;
    }
    parts.push(buf);
    got += buf.length;
    if (got >= rate * seconds) break;
  }
  reader.cancel().catch(() => {});
  const out = new Float32Array(got);
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return { rate, samples: Array.from(out) };
}"""


def frame_db(audio: np.ndarray, rate: int) -> np.ndarray:
    """Energy of each 10 ms frame in dBFS (mean square)."""
    n = int(rate * FRAME_S)
    frames = audio[: len(audio) // n * n].reshape(-1, n).astype(np.float64)
    return 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)


def quiet_loud_db(audio: np.ndarray, rate: int, share: float = 0.2) -> tuple[float, float]:
    """Mean power (dB) of the quietest and of the loudest ``share`` of 10 ms frames."""
    levels = np.sort(frame_db(audio, rate))
    k = max(1, int(len(levels) * share))
    to_db = lambda db: float(10 * np.log10(np.mean(10 ** (db / 10))))  # noqa: E731
    return to_db(levels[:k]), to_db(levels[-k:])
