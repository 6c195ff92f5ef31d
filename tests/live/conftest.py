"""In-process live-stream harness: the ASGI app and aiortc clients share one event loop.

Django's AsyncClient calls the ASGI handler directly, so the server's hub,
its peer connections and the test's aiortc clients all run on the test's
loop and talk over real ICE/DTLS/SRTP on this host.
"""

from __future__ import annotations

import asyncio
import fractions
import json
import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import av
import numpy as np
import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from channels.layers import get_channel_layer
from django.test import AsyncClient

from denoise.constants import PACKET_SAMPLES, SAMPLE_RATE
from fc25_denoise import runtime
from tests.live.capture import Capture
from tests.rtc import client_pc


class ArrayTrack(MediaStreamTrack):
    """A microphone stand-in: plays ``samples`` in real time, then silence (or ends)."""

    kind = "audio"

    def __init__(self, samples: np.ndarray, *, end_when_done: bool = False) -> None:
        super().__init__()
        self._s16 = np.clip(samples * 32768, -32768, 32767).astype(np.int16)
        self._pos = 0
        self._start: float | None = None
        self._end_when_done = end_when_done
        self.paused = False

    async def recv(self) -> av.AudioFrame:
        loop = asyncio.get_running_loop()
        if self._start is None:
            self._start = loop.time()
        wait = self._start + self._pos / SAMPLE_RATE - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        while self.paused:  # a vanished browser: nothing more is sent
            await asyncio.sleep(0.05)
        chunk = self._s16[self._pos : self._pos + PACKET_SAMPLES]
        if chunk.size < PACKET_SAMPLES:
            if self._end_when_done:
                self.stop()
                raise MediaStreamError
            chunk = np.concatenate((chunk, np.zeros(PACKET_SAMPLES - chunk.size, np.int16)))
        # Stereo like a browser's decoded Opus (mono would be upmixed at -3 dB).
        stereo = np.repeat(chunk, 2).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(stereo, format="s16", layout="stereo")
        frame.sample_rate = SAMPLE_RATE
        frame.time_base = fractions.Fraction(1, SAMPLE_RATE)
        frame.pts = self._pos
        self._pos += PACKET_SAMPLES
        return frame


def tone_track(seconds: float = 20.0) -> ArrayTrack:
    """A microphone playing a 300 Hz tone for ``seconds``, then silence."""
    t = np.arange(int(SAMPLE_RATE * seconds)) / SAMPLE_RATE
    return ArrayTrack((0.3 * np.sin(2 * np.pi * 300 * t)).astype(np.float32))


class LiveClient:
    """A logged-in browser stand-in: JSON API with CSRF plus aiortc peers."""

    def __init__(self, user: Any | None) -> None:
        self.user = user
        self.http = AsyncClient(enforce_csrf_checks=True)
        self.pcs: list[RTCPeerConnection] = []

    async def setup(self) -> LiveClient:
        if self.user is not None:
            await self.http.aforce_login(self.user)
        await self.http.get("/api/auth/csrf/")
        return self

    async def call(self, method: str, path: str, body: Any = None, raw: str | None = None) -> Any:
        data = raw if raw is not None else (json.dumps(body) if body is not None else "")
        token = self.http.cookies["csrftoken"].value
        return await getattr(self.http, method)(
            path, data, content_type="application/json", headers={"X-CSRFToken": token}
        )

    async def go_live(self, track: MediaStreamTrack) -> tuple[Any, RTCPeerConnection]:
        pc = client_pc()
        self.pcs.append(pc)
        pc.addTrack(track)
        await pc.setLocalDescription(await pc.createOffer())
        resp = await self.call(
            "post", "/api/webrtc/offer/", {"sdp": pc.localDescription.sdp, "type": "offer"}
        )
        if resp.status_code == 200:
            await pc.setRemoteDescription(
                RTCSessionDescription(**{k: resp.json()[k] for k in ("sdp", "type")})
            )
        return resp, pc

    async def listen(self, username: str, level: str | None = None) -> tuple[Any, Capture]:
        pc = client_pc()
        self.pcs.append(pc)
        pc.addTransceiver("audio", direction="recvonly")
        capture = Capture()
        pc.on("track", capture.start)
        await pc.setLocalDescription(await pc.createOffer())
        body = {"sdp": pc.localDescription.sdp, "type": "offer"}
        if level is not None:
            body["level"] = level
        resp = await self.call("post", f"/api/webrtc/listen/{username}/", body)
        if resp.status_code == 200:
            await pc.setRemoteDescription(
                RTCSessionDescription(**{k: resp.json()[k] for k in ("sdp", "type")})
            )
        return resp, capture

    async def close(self) -> None:
        for pc in self.pcs:
            await pc.close()


@pytest.fixture
async def hub(settings, tmp_path):
    """A fresh live hub on this test's loop; every session is stopped afterwards."""
    runtime.replace_live_hub(None)
    hub = runtime.live_hub()
    yield hub
    await hub.shutdown()
    runtime.replace_live_hub(None)


@pytest.fixture
def identity_model(settings):
    """The identity model for every stream (a test about signalling or access needs no
    denoising): ``pytest.mark.usefixtures("identity_model")``."""
    settings.DENOISE_MODEL = "identity"


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    """Two worker threads (a spool writer's disk calls)."""
    with ThreadPoolExecutor(2) as executor:
        yield executor


@pytest.fixture
def fast_access_check(monkeypatch):
    """The live access check every ``AUDIT_S`` (tests/live/access_helpers.py), not 5 s."""
    from streams import accesswatch
    from tests.live.access_helpers import AUDIT_S

    monkeypatch.setattr(accesswatch, "AUDIT_EVERY_S", AUDIT_S)


@pytest.fixture
def no_access_polling(monkeypatch):
    """No periodic check ends a listen or closes a socket during the test (the live access
    check, the presence sockets' login rechecks): what ends access is the change's own
    event, as the contract wants, however long the test waits for it."""
    from streams import accesswatch
    from users import consumers

    monkeypatch.setattr(accesswatch, "AUDIT_EVERY_S", 3600.0)
    monkeypatch.setattr(consumers, "LOGIN_RECHECK_S", 3600.0)


@pytest.fixture
async def other(hub):
    """A second "process" (another hub on this loop, its own node): a test hands requests
    to it with ``runtime.replace_live_hub(other)``. Placeholders a test put in its
    ``_sessions`` to fake load (``None``) are dropped before it shuts down."""
    second = runtime.build_live_hub()
    yield second
    runtime.replace_live_hub(hub)
    for key in [k for k, v in second._sessions.items() if v is None]:
        del second._sessions[key]
    await second.shutdown()


@pytest.fixture
async def clients(friends, hub):
    """(alice, bob, carol, anonymous) live clients; alice and bob are friends."""
    alice, bob, carol = friends
    made = [await LiveClient(u).setup() for u in (alice, bob, carol, None)]
    yield made
    for c in made:
        await c.close()


async def wait_until(predicate, timeout: float = 10.0, interval: float = 0.05) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(interval)


class PeerLedger:
    """Every peer connection the server's sessions open (to check they were all closed)."""

    def __init__(self) -> None:
        self.pcs: list[Any] = []

    def open_ones(self) -> list[Any]:
        return [pc for pc in self.pcs if pc.connectionState != "closed"]


@pytest.fixture
def peers(monkeypatch: pytest.MonkeyPatch) -> PeerLedger:
    """Records the server side's peer connections (the sessions' ``new_peer_connection``)."""
    from streams.webrtc import session

    ledger = PeerLedger()
    real = session.new_peer_connection

    def recording(stun_urls: list[str]) -> Any:
        pc = real(stun_urls)
        ledger.pcs.append(pc)
        return pc

    monkeypatch.setattr(session, "new_peer_connection", recording)
    return ledger


@pytest.fixture
def said() -> Iterator[list[str]]:
    """The stream log's lines while the test runs (INFO and up)."""
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    handler, log = Keep(), logging.getLogger("streams.webrtc.session")
    level = log.level
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    yield lines
    log.removeHandler(handler)
    log.setLevel(level)


@pytest.fixture
def revokes_lost(monkeypatch) -> list[dict[str, Any]]:
    """Every ``live.revoke`` send fails, as on a channel layer that is away."""
    layer = get_channel_layer()
    real_send = layer.send
    lost: list[dict[str, Any]] = []

    async def send(channel: str, message: dict[str, Any]) -> None:
        if message.get("type") == "live.revoke":
            lost.append(message)
            raise ConnectionError("channel layer away")
        await real_send(channel, message)

    monkeypatch.setattr(layer, "send", send)
    return lost
