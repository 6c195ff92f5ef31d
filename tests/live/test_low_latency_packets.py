"""Low latency (a broadcaster's ``low_latency`` setting, or ``FC25_OPUS_FRAME_MS=10`` for
every stream): the broadcaster is asked for 10 ms packets and listeners receive
continuous audio in 10 ms packets."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from fc25_denoise import runtime
from streams.hub import LiveHub
from streams.webrtc.peer import ask_ptime
from tests.live.conftest import ArrayTrack, LiveClient, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _identity(settings: Any) -> None:
    settings.DENOISE_MODEL = "identity"


def audio_sections(sdp: str) -> list[str]:
    return [section for section in sdp.split("m=")[1:] if section.startswith("audio")]


def tone(seconds: float = 30.0) -> np.ndarray:
    t = np.arange(int(48_000 * seconds)) / 48_000
    return (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


def test_ask_ptime_marks_audio_sections_only() -> None:
    sdp = (
        "v=0\r\ns=-\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\n"
        "a=ptime:20\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:1\r\n"
    )
    out = ask_ptime(sdp, 10)
    audio, other = out.split("m=application")
    assert "a=ptime:10" in audio and "a=ptime:20" not in audio
    assert "ptime" not in other
    assert out.count("\r\n") == sdp.count("\r\n")  # one line replaced, none lost


async def test_streams_ask_for_no_ptime_by_default(clients: list[LiveClient], hub: LiveHub) -> None:
    alice = clients[0]
    settings_now = (await alice.call("get", "/api/streams/settings/")).json()
    assert settings_now["low_latency"] is False
    resp, _ = await alice.go_live(ArrayTrack(tone()))
    assert resp.status_code == 200, resp.content
    assert all("a=ptime" not in section for section in audio_sections(resp.json()["sdp"]))


async def test_low_latency_setting_must_be_a_boolean(
    clients: list[LiveClient], hub: LiveHub
) -> None:
    resp = await clients[0].call("patch", "/api/streams/settings/", {"low_latency": "yes"})
    assert resp.status_code == 400, resp.content


async def test_10_ms_packets_reach_the_listener_continuously(
    clients: list[LiveClient], hub: LiveHub
) -> None:
    alice, bob, _, _ = clients
    resp = await alice.call("patch", "/api/streams/settings/", {"low_latency": True})
    assert resp.status_code == 200 and resp.json()["low_latency"] is True, resp.content
    resp, _ = await alice.go_live(ArrayTrack(tone()))
    assert resp.status_code == 200, resp.content
    audio = audio_sections(resp.json()["sdp"])
    assert audio and all("a=ptime:10" in section for section in audio)

    resp, capture = await bob.listen("alice")
    assert resp.status_code == 200, resp.content
    await wait_until(lambda: len(capture.audio) > 48_000 * 2, timeout=20)
    sizes = {chunk.size for chunk in capture.chunks[5:]}
    assert sizes == {480}  # aiortc decodes each 10 ms packet to one frame
    got = capture.audio[-48_000:]
    # A steady tone at the level sent: no gaps (a gap would pull the RMS down).
    for block in got.reshape(-1, 4800):
        assert np.sqrt(np.mean(block**2)) == pytest.approx(0.2 / np.sqrt(2), rel=0.15)


async def test_server_wide_10_ms_packets(settings: Any, friends: Any) -> None:
    """``FC25_OPUS_FRAME_MS=10``: every stream asks for 10 ms packets."""
    settings.OPUS_FRAME_MS = 10
    runtime.replace_live_hub(None)
    hub = runtime.live_hub()  # built from the settings now
    alice = await LiveClient(friends[0]).setup()
    try:
        resp, _ = await alice.go_live(ArrayTrack(tone()))
        assert resp.status_code == 200, resp.content
        assert all("a=ptime:10" in s for s in audio_sections(resp.json()["sdp"]))
    finally:
        await alice.close()
        await hub.shutdown()
        runtime.replace_live_hub(None)
