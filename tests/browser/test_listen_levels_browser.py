"""The listener page switches how clean Bob hears Alice, live, and both pages show telemetry.

Alice broadcasts noisy speech; Bob listens at "full", then (once Alice shares her raw
microphone from her page) switches to "raw" and "light" from his page's select. The
quiet parts (the noise) of what Bob receives follow: raw keeps the input's noise,
light lowers it by about 12 dB, full removes far more.
"""

from __future__ import annotations

import numpy as np
import pytest
from playwright.sync_api import expect

from tests.audio_fixtures import noisy_speech

from .helpers import by_testid, unique_name
from .live_helpers import (
    CAPTURE_JS,
    go_live,
    launch_with_fake_mic,
    quiet_loud_db,
    setup_pair,
    start_listening,
    write_wav,
)
from .recording_helpers import open_recording

pytestmark = [pytest.mark.browser, pytest.mark.model]

CAPTURE_S = 3.0


@pytest.fixture(scope="module")
def noisy_wav(tmp_path_factory) -> tuple:
    _clean, _noise, noisy, _mask = noisy_speech(seconds=8, snr_db=5)
    return write_wav(tmp_path_factory.mktemp("levels") / "noisy.wav", noisy, 48_000), noisy


@pytest.fixture(scope="module")
def fake_mic_browser(browser, noisy_wav):
    chromium = launch_with_fake_mic(browser, noisy_wav[0])
    try:
        yield chromium
    finally:
        chromium.close()


def quiet_db(bob) -> float:
    got = bob.evaluate(CAPTURE_JS, [CAPTURE_S, "listen"])
    received = np.asarray(got["samples"], dtype=np.float32)
    assert len(received) >= got["rate"] * (CAPTURE_S - 0.1), "no audio received"
    return quiet_loud_db(received, got["rate"])[0]


def choose(bob, level: str) -> None:
    by_testid(bob, "listen-level").select_option(level)
    expect(by_testid(bob, "listen-level")).to_have_attribute("data-applied", level)


def test_listener_switches_levels_from_the_page(live_server_url: str, fake_mic_browser, noisy_wav):
    base = live_server_url
    alice_name, bob_name = unique_name("alice"), unique_name("bob")
    contexts, alice, bob = setup_pair(fake_mic_browser, base, alice_name, bob_name)
    try:
        go_live(alice)
        start_listening(bob, base, alice_name)
        expect(by_testid(alice, "listener-count")).to_have_text("1", timeout=10_000)
        expect(by_testid(bob, "listen-level")).to_have_attribute("data-applied", "full")
        # Both pages show the stream's telemetry.
        for page in (alice, bob):
            expect(by_testid(page, "telemetry")).to_be_visible(timeout=10_000)
            page.wait_for_function(
                "() => Number(document.querySelector('[data-testid=telemetry]')"
                ".dataset.updates) >= 3"
            )
        expect(by_testid(bob, "telemetry-network")).to_contain_text("jitter")
        full = quiet_db(bob)

        # raw is not shared yet: the switch is refused and the select goes back.
        by_testid(bob, "listen-level").select_option("raw")
        expect(by_testid(bob, "listen-level")).to_have_value("full")
        by_testid(alice, "share-raw").check()
        expect(by_testid(alice, "share-raw")).to_be_enabled()

        choose(bob, "raw")
        raw = quiet_db(bob)
        choose(bob, "light")
        light = quiet_db(bob)
        choose(bob, "full")
        assert raw - full >= 15, (full, light, raw)
        assert raw - 15 <= light <= raw - 8, (full, light, raw)

        # The recording keeps the dB removed each second, drawn under its waveform.
        with alice.expect_response(lambda r: r.url.endswith("/api/streams/stop/")) as info:
            by_testid(alice, "stop-live").click()
        recording_id = info.value.json()["recording_id"]
        open_recording(alice, base, recording_id)
        chart = by_testid(alice, "removed-chart")
        expect(chart).to_be_visible(timeout=15_000)
        assert int(chart.get_attribute("data-seconds") or 0) >= 10
        expect(by_testid(alice, "removed-legend")).to_contain_text("dB")
    finally:
        for ctx in contexts:
            ctx.close()
