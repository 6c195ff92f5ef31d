"""Live path end to end in Chromium: Alice broadcasts noisy speech from a fake
microphone, Bob listens on her page, and what Bob receives is denoised."""

from __future__ import annotations

import os

import numpy as np
import pytest
from playwright.sync_api import expect

from tests.audio_fixtures import noisy_speech

from .helpers import by_testid, collect_errors, unique_name
from .live_helpers import (
    CAPTURE_JS,
    call_api,
    go_live,
    launch_with_fake_mic,
    quiet_loud_db,
    setup_pair,
    start_listening,
    write_wav,
)
from .recording_helpers import READY_TIMEOUT_MS, wait_audio

pytestmark = [pytest.mark.browser, pytest.mark.model]

SR = 48_000
CAPTURE_S = 6.0
NOISE_DROP_DB = 15.0  # Bob's noise floor must be at least this much below the input's
SPEECH_TOLERANCE_DB = 8.0  # the loudest frames (speech) stay within this of the input's


@pytest.fixture(scope="module")
def noisy_wav(tmp_path_factory) -> tuple:
    _clean, _noise, noisy, _mask = noisy_speech(seconds=8, snr_db=5)
    path = write_wav(tmp_path_factory.mktemp("live") / "noisy_speech.wav", noisy, SR)
    return path, noisy


@pytest.fixture(scope="module")
def fake_mic_browser(browser, noisy_wav):
    chromium = launch_with_fake_mic(browser, noisy_wav[0])
    try:
        yield chromium
    finally:
        chromium.close()


def test_live_broadcast_is_denoised_for_the_listener(
    live_server_url: str, fake_mic_browser, noisy_wav
) -> None:
    base = live_server_url
    alice_name, bob_name = unique_name("alice"), unique_name("bob")
    contexts, alice, bob = setup_pair(fake_mic_browser, base, alice_name, bob_name)
    try:
        alice_errors, bob_errors = collect_errors(alice), collect_errors(bob)
        prefs = call_api(alice, "PATCH", "/api/streams/settings/", {"atten_lim_db": 100})
        assert prefs["atten_lim_db"] == 100
        expect(by_testid(alice, "strength-slider")).to_be_visible()

        go_live(alice)
        expect(by_testid(alice, "elapsed")).not_to_have_text("0:00", timeout=5_000)
        start_listening(bob, base, alice_name)
        expect(by_testid(bob, "stop-listen")).to_be_visible()
        expect(by_testid(bob, "listen-audio")).to_be_visible()
        expect(by_testid(alice, "listener-count")).to_have_text("1", timeout=10_000)
        # The mic meter moves (the fake mic plays the noisy file).
        alice.wait_for_function(
            "() => document.querySelector('[data-testid=level-meter]').value > 0.01"
        )

        if os.environ.get("FC25_SCREENSHOTS"):
            alice.screenshot(path="/tmp/fc25_live_alice.png")
            bob.screenshot(path="/tmp/fc25_live_bob.png")
        got = bob.evaluate(CAPTURE_JS, [CAPTURE_S, "listen"])
        rate, received = got["rate"], np.asarray(got["samples"], dtype=np.float32)
        assert rate > 0 and len(received) >= rate * (CAPTURE_S - 0.1), "no audio received"

        in_quiet, in_loud = quiet_loud_db(noisy_wav[1], SR)
        out_quiet, out_loud = quiet_loud_db(received, rate)
        report = (
            f"input quiet/loud {in_quiet:.1f}/{in_loud:.1f} dB, "
            f"received quiet/loud {out_quiet:.1f}/{out_loud:.1f} dB"
        )
        print(report)
        assert out_quiet <= in_quiet - NOISE_DROP_DB, f"noise not removed: {report}"
        assert abs(out_loud - in_loud) <= SPEECH_TOLERANCE_DB, f"speech level off: {report}"

        # The strength slider applies to the live stream (PATCH, debounced).
        with alice.expect_response(lambda r: r.url.endswith("/api/streams/settings/")) as patch:
            by_testid(alice, "strength-slider").fill("30")
        assert patch.value.request.method == "PATCH" and patch.value.json()["atten_lim_db"] == 30
        expect(by_testid(alice, "strength-value")).to_have_text("30 dB")

        # Alice stops: the server answers with the recording; Bob's player ends.
        with alice.expect_response(lambda r: r.url.endswith("/api/streams/stop/")) as info:
            by_testid(alice, "stop-live").click()
        stopped = info.value.json()
        assert info.value.status == 200, stopped
        assert stopped["recording_id"], stopped
        assert stopped["duration"] > 3, stopped
        expect(by_testid(alice, "go-live")).to_be_visible()
        expect(by_testid(bob, "listen-status")).to_have_attribute("data-state", "ended")
        expect(by_testid(bob, "listen")).to_be_disabled()
        expect(by_testid(bob, "stop-listen")).to_be_hidden()

        # The recording is on Alice's recordings page (linked after Stop), and it plays.
        link = by_testid(alice, "last-recording-link")
        expect(link).to_be_visible()
        if os.environ.get("FC25_SCREENSHOTS"):
            alice.screenshot(path="/tmp/fc25_live_alice_stopped.png")
        expect(link).to_have_attribute("href", f"/recordings/#{stopped['recording_id']}")
        link.click()
        alice.wait_for_url(f"{base}/recordings/#{stopped['recording_id']}")
        row = alice.locator(
            f'[data-testid="recording-row"][data-recording-id="{stopped["recording_id"]}"]'
        )
        expect(row).to_be_visible()
        expect(row).to_contain_text("you")
        expect(by_testid(alice, "player-panel")).to_have_attribute(
            "data-status", "ready", timeout=READY_TIMEOUT_MS
        )
        alice.evaluate("document.querySelector('[data-testid=player-audio]').play()")
        played = wait_audio(alice, "a.currentTime > 0.5 || a.error !== null", timeout=30_000)
        assert played["error"] is None and played["currentTime"] > 0.5, played
        if os.environ.get("FC25_SCREENSHOTS"):
            alice.screenshot(path="/tmp/fc25_live_recording.png", full_page=True)
        assert not alice_errors, alice_errors
        assert not bob_errors, bob_errors
    finally:
        for ctx in contexts:
            ctx.close()
