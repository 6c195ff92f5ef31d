"""aiortc clients of real server processes: a noise microphone, a listener, JSON calls.

No Django here: ``bench/listen_forwarding.py`` uses them too.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import numpy as np
from aiortc import RTCPeerConnection, RTCSessionDescription

from bench.live_clients import Api, OpusLoopTrack, encode_opus
from tests.audio_fixtures import make_noise
from tests.live.capture import Capture
from tests.rtc import client_pc

NOISE_RMS = 0.1
"""Level of the microphone's noise (:func:`level_db` is relative to it)."""


def patch(api: Api, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any], float]:
    started = time.monotonic()
    r = api.http.patch(
        api.base + path,
        json=body,
        headers={"X-CSRFToken": api.http.cookies["csrftoken"], "Referer": api.base + "/"},
        timeout=10,
    )
    return r.status_code, r.json(), time.monotonic() - started


async def go_live(api: Api, pcs: list[RTCPeerConnection]) -> dict[str, Any]:
    """Offer a looping noise microphone; returns the answer's JSON once connected."""
    pc = client_pc()
    pcs.append(pc)
    pc.addTrack(OpusLoopTrack(encode_opus(NOISE_RMS * make_noise(48_000 * 4, seed=3))))
    connected = asyncio.Event()
    pc.on("connectionstatechange", lambda: pc.connectionState == "connected" and connected.set())
    await pc.setLocalDescription(await pc.createOffer())
    resp = await api.apost("/api/webrtc/offer/", {"sdp": pc.localDescription.sdp, "type": "offer"})
    assert resp.status_code == 200, resp.text
    await pc.setRemoteDescription(RTCSessionDescription(resp.json()["sdp"], "answer"))
    await asyncio.wait_for(connected.wait(), 20)
    return resp.json()


async def listen(api: Api, username: str, pcs: list[RTCPeerConnection]) -> tuple[int, Capture]:
    pc = client_pc()
    pcs.append(pc)
    pc.addTransceiver("audio", direction="recvonly")
    capture = Capture()
    pc.on("track", capture.start)
    await pc.setLocalDescription(await pc.createOffer())
    body = {"sdp": pc.localDescription.sdp, "type": "offer"}
    resp = await api.apost(f"/api/webrtc/listen/{username}/", body)
    if resp.status_code == 200:
        await pc.setRemoteDescription(RTCSessionDescription(resp.json()["sdp"], "answer"))
    return resp.status_code, capture


async def level_db(capture: Capture, seconds: float) -> float:
    """The listener's level over the next ``seconds``, in dB re the microphone's noise."""
    start = len(capture.chunks)
    await asyncio.sleep(seconds)
    audio = np.concatenate(capture.chunks[start:])
    return float(20 * np.log10(np.sqrt(np.mean(audio**2)) / NOISE_RMS + 1e-9))
