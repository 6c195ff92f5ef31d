"""Client worker for ``bench/live_streams.py``: broadcasters and listeners over real WebRTC.

Run as a separate process so that its CPU is not charged to the server::

    python bench/live_clients.py < job

Protocol (line-based, so the orchestrator can synchronise several workers):

* stdin line 1: the job, JSON ``{"pairs": [...], "audio_seconds": float}``; each pair is
  ``{"index", "host", "broadcaster": {"username", "cookies"}, "listener": {...}}``
  with logged-in session cookies (``sessionid``, ``csrftoken``).
* stdout ``READY {...}`` once every broadcaster is live, connected, and its listener
  has received audio (pairs are started one after the other, as users would).
* stdin ``MARK``: the steady-state window starts; stdin ``STOP``: it ends, every
  broadcaster posts ``/api/streams/stop/``, and the worker prints ``RESULT [...]``
  (one object per pair) and exits.

A broadcaster sends noisy speech (``tests.audio_fixtures.noisy_speech``, 5 dB SNR)
in real time as Opus packets encoded once at start-up (the server decodes them like
a browser's; the worker does not spend CPU on re-encoding the same audio). A
listener decodes and counts every frame it receives, with its arrival time.
"""

from __future__ import annotations

import asyncio
import fractions
import json
import logging
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import av
import numpy as np
import requests
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from denoise.constants import PACKET_SAMPLES, SAMPLE_RATE
from tests.audio_fixtures import noisy_speech

logger = logging.getLogger("live_clients")

PACKET_S = PACKET_SAMPLES / SAMPLE_RATE
TIME_BASE = fractions.Fraction(1, SAMPLE_RATE)
STEP_TIMEOUT = 20.0
"""Seconds any one step (HTTP call, ICE connection, first audio) may take."""
GAP_S = 3 * PACKET_S
"""An arrival gap longer than this (three packets) counts as an audible gap."""


def encode_opus(samples: np.ndarray, size: int = PACKET_SAMPLES) -> list[bytes]:
    """Encode mono float audio at 48 kHz into stereo Opus packets of ``size`` samples
    (20 ms as aiortc does; 10 ms as a browser asked for ``a=ptime:10`` does)."""
    codec = av.CodecContext.create("libopus", "w")
    assert isinstance(codec, av.AudioCodecContext)
    codec.bit_rate = 96_000
    codec.format = "s16"
    codec.layout = "stereo"
    codec.sample_rate = SAMPLE_RATE
    codec.time_base = TIME_BASE
    codec.options = {"application": "voip", "frame_duration": str(size * 1000 // SAMPLE_RATE)}
    s16 = np.clip(samples * 32768, -32768, 32767).astype(np.int16)
    packets: list[bytes] = []
    for pos in range(0, s16.size - size + 1, size):
        stereo = np.repeat(s16[pos : pos + size], 2).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(stereo, format="s16", layout="stereo")
        frame.sample_rate = SAMPLE_RATE
        frame.time_base = TIME_BASE
        frame.pts = pos
        packets += [bytes(p) for p in codec.encode(frame)]
    return packets


def encode_packet_sizes(samples: np.ndarray) -> dict[int, list[bytes]]:
    """``samples`` in 20 ms and in 10 ms packets (what :class:`Pair` sends, by the answer)."""
    return {frame: encode_opus(samples, frame) for frame in (PACKET_SAMPLES, 480)}


class OpusLoopTrack(MediaStreamTrack):
    """A microphone stand-in sending pre-encoded Opus packets in real time, looped."""

    kind = "audio"

    def __init__(self, packets: list[bytes], frame: int = PACKET_SAMPLES) -> None:
        super().__init__()
        self._packets = packets
        self._frame = frame
        self._sent = 0
        self._start: float | None = None
        self.late_sends = 0
        """Packets handed to aiortc more than one packet time behind schedule."""

    async def recv(self) -> av.Packet:
        loop = asyncio.get_running_loop()
        if self._start is None:
            self._start = loop.time()
        period = self._frame / SAMPLE_RATE
        due = self._start + self._sent * period
        wait = due - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        elif -wait > period:
            self.late_sends += 1
        packet = av.Packet(self._packets[self._sent % len(self._packets)])
        packet.pts = self._sent * self._frame
        packet.time_base = TIME_BASE
        self._sent += 1
        return packet


class Api:
    """One logged-in user's JSON API session (blocking ``requests``, run in threads)."""

    def __init__(self, host: str, cookies: dict[str, str]) -> None:
        self.base = f"http://{host}"
        self.http = requests.Session()
        for name, value in cookies.items():
            self.http.cookies.set(name, value)

    def post(self, path: str, body: dict[str, Any] | None = None) -> requests.Response:
        """POST JSON with the CSRF header."""
        return self.http.post(
            self.base + path,
            json=body or {},
            headers={"X-CSRFToken": self.http.cookies["csrftoken"], "Referer": self.base + "/"},
            timeout=STEP_TIMEOUT,
        )

    async def apost(self, path: str, body: dict[str, Any] | None = None) -> requests.Response:
        """``post`` in a worker thread."""
        return await asyncio.to_thread(self.post, path, body)


@dataclass
class PairResult:
    """What one broadcaster + listener pair measured (JSON-serialised to the orchestrator)."""

    index: int
    host: str
    broadcaster: str
    error: str | None = None
    stop: dict[str, Any] = field(default_factory=dict)
    session_s: float = 0.0
    """From the broadcaster's connection to its stop request."""
    stop_s: float = 0.0
    """From the broadcaster's connection to the stop's answer (the stream ends in between)."""
    window_s: float = 0.0
    window_frames: int = 0
    frame_ms: int = 20
    """Packet duration on both legs (10 when the server's answer asked for it)."""
    gaps: int = 0
    max_gap_ms: float = 0.0
    late_sends: int = 0
    sent: int = 0
    lag_growth_ms: float = 0.0
    """How much later audio reached the listener at the window's end than at its start."""


class Pair:
    """A broadcaster and its one listener."""

    def __init__(self, spec: dict[str, Any], packets: dict[int, list[bytes]]) -> None:
        """``packets``: the audio encoded in 20 ms (960) and 10 ms (480) packets; the
        broadcaster sends 10 ms ones if the server's answer asks for ``a=ptime:10``."""
        self.spec = spec
        self.packets = packets
        self.host: str = spec["host"]
        self.b_api = Api(self.host, spec["broadcaster"]["cookies"])
        self.l_api = Api(self.host, spec["listener"]["cookies"])
        self.track = OpusLoopTrack(packets[PACKET_SAMPLES])
        self.pcs: list[RTCPeerConnection] = []
        self.arrivals: list[float] = []
        self.stamps: list[float] = []
        """Each received frame's media time (RTP timestamp / 48 kHz), seconds."""
        self.first_frame = asyncio.Event()
        self.connected_at: float | None = None
        self.counter: asyncio.Future[None] | None = None
        self.result = PairResult(spec["index"], self.host, spec["broadcaster"]["username"])

    def _pc(self) -> RTCPeerConnection:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))  # loopback: no STUN
        self.pcs.append(pc)
        return pc

    async def _negotiate(self, pc: RTCPeerConnection, api: Api, path: str) -> None:
        await pc.setLocalDescription(await pc.createOffer())
        local = pc.localDescription
        resp = await api.apost(path, {"sdp": local.sdp, "type": local.type})
        if resp.status_code != 200:
            raise RuntimeError(f"{path}: {resp.status_code} {resp.text[:200]}")
        answer = resp.json()
        if pc.getSenders() and "a=ptime:10" in answer["sdp"]:  # the broadcaster, asked
            self.track = OpusLoopTrack(self.packets[480], 480)
            self.result.frame_ms = 10
            pc.getSenders()[0].replaceTrack(self.track)
        await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], answer["type"]))

    async def start(self) -> None:
        """Go live, wait for the connection, then listen and wait for the first audio."""
        loop = asyncio.get_running_loop()
        b_pc = self._pc()
        b_pc.addTrack(self.track)
        connected = asyncio.Event()

        @b_pc.on("connectionstatechange")
        def on_state() -> None:
            if b_pc.connectionState == "connected":
                self.connected_at = loop.time()
                connected.set()

        await self._negotiate(b_pc, self.b_api, "/api/webrtc/offer/")
        await asyncio.wait_for(connected.wait(), STEP_TIMEOUT)

        l_pc = self._pc()
        l_pc.addTransceiver("audio", direction="recvonly")
        l_pc.on("track", self._count)
        username = self.spec["broadcaster"]["username"]
        await self._negotiate(l_pc, self.l_api, f"/api/webrtc/listen/{username}/")
        await asyncio.wait_for(self.first_frame.wait(), STEP_TIMEOUT)

    def _count(self, track: MediaStreamTrack) -> None:
        async def run() -> None:
            loop = asyncio.get_running_loop()
            try:
                while True:
                    frame = await track.recv()
                    self.arrivals.append(loop.time())
                    self.stamps.append(float(frame.pts or 0) / SAMPLE_RATE)
                    self.first_frame.set()
            except MediaStreamError:
                pass

        self.counter = asyncio.ensure_future(run())

    def window(self, start: float, end: float) -> None:
        """Fill the listener figures for the window [start, end] (loop time)."""
        arrivals = np.asarray(self.arrivals)
        inside = (arrivals >= start) & (arrivals <= end)
        t = arrivals[inside]
        r = self.result
        r.window_s = end - start
        r.window_frames = int(t.size)
        if t.size >= 50:
            # Arrival time minus media time: constant while the server keeps up with real
            # time; grows by the backlog when it falls behind.
            lag = t - np.asarray(self.stamps)[inside]
            r.lag_growth_ms = float(1000 * (np.median(lag[-25:]) - np.median(lag[:25])))
        edges = np.concatenate(([start], t, [end]))
        diffs = np.diff(edges)
        r.gaps = int(np.sum(diffs > GAP_S))
        r.max_gap_ms = float(1000 * diffs.max()) if diffs.size else 0.0
        r.late_sends = self.track.late_sends
        r.sent = self.track._sent

    async def stop(self) -> None:
        """End the broadcast through the API, keep the server's answer, close the peers."""
        loop = asyncio.get_running_loop()
        try:
            stopped = loop.time()  # the request's start: its answer may be slow under load
            resp = await self.b_api.apost("/api/streams/stop/")
            if resp.status_code != 200:
                raise RuntimeError(f"stop: {resp.status_code} {resp.text[:200]}")
            self.result.stop = resp.json()
            if self.connected_at is not None:
                self.result.session_s = stopped - self.connected_at
                self.result.stop_s = loop.time() - self.connected_at
        except Exception as exc:  # reported per pair, never fatal for the others
            self.result.error = self.result.error or f"{type(exc).__name__}: {exc}"
        for pc in self.pcs:
            await pc.close()


async def read_line() -> str:
    """The next stdin line (without blocking the event loop)."""
    return (await asyncio.to_thread(sys.stdin.readline)).strip()


def emit(tag: str, payload: object) -> None:
    """One protocol line on stdout."""
    print(f"{tag} {json.dumps(payload)}", flush=True)


async def main() -> None:
    """Run one job (see the module docstring)."""
    job = json.loads(await read_line())
    audio = noisy_speech(seconds=float(job.get("audio_seconds", 12.0)), snr_db=5.0, seed=0)[2]
    packets = encode_packet_sizes(audio)
    loop = asyncio.get_running_loop()
    pairs = [Pair(spec, packets) for spec in job["pairs"]]
    t0 = time.perf_counter()
    for pair in pairs:
        try:
            await pair.start()
        except Exception as exc:
            pair.result.error = f"start: {type(exc).__name__}: {exc}"
            logger.error("pair %s failed to start: %s", pair.result.index, exc)
    failed = sum(p.result.error is not None for p in pairs)
    emit("READY", {"pairs": len(pairs), "failed": failed, "ramp_s": time.perf_counter() - t0})
    mark = end = loop.time()
    while True:
        line = await read_line()
        if line == "MARK":
            mark = loop.time()
        elif line in ("STOP", ""):  # "" = the orchestrator went away
            end = loop.time()
            break
    for pair in pairs:
        pair.window(mark, end)
    await asyncio.gather(*(p.stop() for p in pairs))
    emit("RESULT", [asdict(p.result) for p in pairs])


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    asyncio.run(main())
