"""A listener must offer Opus (the only codec sent): an offer without it is a 400 with a reason."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest
from aiortc import RTCSessionDescription

from streams.hub import LiveHub
from streams.models import ActiveStream
from tests.live.conftest import ArrayTrack, Capture, LiveClient, wait_until
from tests.rtc import client_pc

pytestmark = pytest.mark.django_db(transaction=True)

KEEP = {"pcmu", "pcma"}


@pytest.fixture(autouse=True)
def _identity_model(settings: Any) -> None:
    settings.DENOISE_MODEL = "identity"


def tone(seconds: float = 30.0) -> np.ndarray:
    t = np.arange(int(48_000 * seconds)) / 48_000
    return (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


def only_g711(sdp: str) -> str:
    """``sdp`` with every audio codec but PCMU/PCMA removed (lines and m=audio payloads)."""
    lines = sdp.splitlines()
    names = dict(re.findall(r"^a=rtpmap:(\d+) ([^/]+)/", sdp, flags=re.M))
    drop = {pt for pt, name in names.items() if name.lower() not in KEEP}
    out: list[str] = []
    for line in lines:
        attr = re.match(r"a=(?:rtpmap|fmtp|rtcp-fb):(\d+) ", line)
        if attr and attr.group(1) in drop:
            continue
        if line.startswith("m=audio "):
            head, pts = line.split()[:3], line.split()[3:]
            line = " ".join(head + [pt for pt in pts if pt not in drop])
        out.append(line)
    return "\r\n".join(out) + "\r\n"


async def g711_offer() -> str:
    pc = client_pc()
    pc.addTransceiver("audio", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    sdp = pc.localDescription.sdp
    await pc.close()
    return only_g711(sdp)


def test_only_g711_strips_opus() -> None:
    sdp = (
        "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111 0 8\r\na=rtpmap:111 opus/48000/2\r\n"
        "a=fmtp:111 minptime=10;useinbandfec=1\r\na=rtcp-fb:111 transport-cc\r\n"
        "a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
    )
    stripped = only_g711(sdp)
    assert "111" not in stripped and "opus" not in stripped.lower()
    assert "m=audio 9 UDP/TLS/RTP/SAVPF 0 8\r\n" in stripped
    assert "a=rtpmap:0 PCMU/8000" in stripped and "a=rtpmap:8 PCMA/8000" in stripped


async def test_listener_without_opus_gets_400(clients: list[LiveClient], hub: LiveHub) -> None:
    alice, bob, _, _ = clients
    resp, _ = await alice.go_live(ArrayTrack(tone()))
    assert resp.status_code == 200, resp.content

    sdp = await g711_offer()
    m_audio = next(line for line in sdp.splitlines() if line.startswith("m=audio "))
    assert "opus" not in sdp.lower() and m_audio.split()[3:]  # only G.711 payloads left
    resp = await bob.call("post", "/api/webrtc/listen/alice/", {"sdp": sdp, "type": "offer"})
    assert resp.status_code == 400, resp.content
    error = resp.json()["error"]
    assert "opus" in error.lower()

    session = hub.session_for((await ActiveStream.objects.aget()).user_id)
    assert session is not None
    assert session.listeners == 0  # the refused listener left nothing behind
    ok, capture = await bob.listen("alice")  # an ordinary (Opus) listener still works
    assert ok.status_code == 200
    await wait_until(lambda: len(capture.chunks) > 10)
    assert session.listeners == 1


async def test_opus_is_chosen_even_when_offered_last(
    clients: list[LiveClient], hub: LiveHub
) -> None:
    """The packets are Opus, so the answer must pick Opus whatever the offer's order."""
    alice, bob, _, _ = clients
    resp, _ = await alice.go_live(ArrayTrack(tone()))
    assert resp.status_code == 200, resp.content
    pc = client_pc()
    pc.addTransceiver("audio", direction="recvonly")
    capture = Capture()
    pc.on("track", capture.start)
    await pc.setLocalDescription(await pc.createOffer())
    sdp = pc.localDescription.sdp
    m_line = next(line for line in sdp.splitlines() if line.startswith("m=audio "))
    head, pts = m_line.split()[:3], m_line.split()[3:]
    reordered = " ".join(head + pts[1:] + pts[:1])  # Opus (listed first by aiortc) goes last
    opus_pt = pts[0]
    # aiortc reads the codec order from the rtpmap lines: move Opus's to the end too.
    lines = sdp.replace(m_line, reordered).splitlines()
    is_opus = [re.match(rf"a=(rtpmap|fmtp|rtcp-fb):{opus_pt} ", line) is not None for line in lines]
    assert any(is_opus) and "opus" in lines[is_opus.index(True)].lower()
    kept = [line for line, o in zip(lines, is_opus, strict=True) if not o]
    moved = [line for line, o in zip(lines, is_opus, strict=True) if o]
    offer = "\r\n".join(kept + moved) + "\r\n"  # the audio section is the last one
    resp = await bob.call("post", "/api/webrtc/listen/alice/", {"sdp": offer, "type": "offer"})
    assert resp.status_code == 200, resp.content
    answer = resp.json()["sdp"]
    names = dict(re.findall(r"^a=rtpmap:(\d+) ([^/]+)/", answer, flags=re.M))
    answered = next(line for line in answer.splitlines() if line.startswith("m=audio "))
    assert [names[pt].lower() for pt in answered.split()[3:]] == ["opus"]
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    await wait_until(lambda: len(capture.chunks) > 10)
    await pc.close()
