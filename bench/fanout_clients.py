"""Client worker for ``bench/fanout.py``: one broadcaster and/or many light listeners.

Run as a separate process so that its CPU is not charged to the server::

    python bench/fanout_clients.py < job

Protocol (line-based, as ``bench/live_clients.py``):

* stdin line 1: the job, JSON ``{"host", "broadcaster": {"username", "cookies"} | null,
  "listeners": [{"username", "cookies"}, ...], "of": "<broadcaster's username>"}``.
* stdout ``READY {}`` once the broadcaster (if any) is live and every listener has
  received audio; stdin ``MARK`` starts the window, ``STOP`` ends it: the worker
  prints ``RESULT [...]`` (one object per listener; the broadcaster's stop answer
  as ``{"stop": ...}``) and exits.

A listener here does not decode: it counts every RTP packet's arrival and media
time (its receiver's decoder queue is replaced by a counter), so one worker
process carries dozens of listeners and the load generator measures the server,
not itself.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.live_clients import STEP_TIMEOUT, Api, OpusLoopTrack, encode_packet_sizes
from denoise.constants import PACKET_SAMPLES, SAMPLE_RATE
from tests.audio_fixtures import noisy_speech

LATE_S = 0.06
"""A packet arriving this much later than the listener's earliest (lowest-delay) packet
is late: three 20 ms packets, what a jitter buffer would have to add to play it."""


class PacketCounter:
    """Stands in for an aiortc receiver's decoder queue: notes each packet, decodes none."""

    def __init__(self) -> None:
        self.arrivals: list[float] = []
        self.stamps: list[int] = []
        self.first = asyncio.Event()
        self._ended = threading.Event()

    def put(self, task: Any) -> None:
        if task is None:
            self._ended.set()
            return
        self.arrivals.append(time.monotonic())
        self.stamps.append(task[1].timestamp)
        self.first.set()

    def get(self) -> None:  # aiortc's decoder thread parks here until the receiver stops
        self._ended.wait()


def window_figures(arrivals: list[float], stamps: list[int], start: float, end: float) -> dict:
    """Received, expected, late and lost packets of one listener in [start, end]."""
    t = np.asarray(arrivals)
    ts = np.asarray(stamps, dtype=np.int64)
    inside = (t >= start) & (t <= end)
    if inside.sum() < 2:
        return {"received": int(inside.sum()), "expected": int((end - start) * 50), "late": 0}
    t, ts = t[inside], ts[inside]
    ts = np.unwrap(ts, period=2**32)  # RTP timestamps wrap at 2**32
    step = np.median(np.diff(ts)) or PACKET_SAMPLES
    expected = int(np.rint((ts[-1] - ts[0]) / step)) + 1
    lag = t - ts / SAMPLE_RATE
    late = int(np.sum(lag - lag.min() > LATE_S))
    return {"received": int(t.size), "expected": expected, "late": late}


async def main() -> None:
    job = json.loads(await asyncio.to_thread(sys.stdin.readline))
    host: str = job["host"]
    pcs: list[RTCPeerConnection] = []
    stop_answer: dict[str, Any] = {}
    b_api = None

    async def negotiate(pc: RTCPeerConnection, api: Api, path: str) -> None:
        await pc.setLocalDescription(await pc.createOffer())
        resp = await api.apost(path, {"sdp": pc.localDescription.sdp, "type": "offer"})
        if resp.status_code != 200:
            raise RuntimeError(f"{path}: {resp.status_code} {resp.text[:200]}")
        answer = resp.json()
        await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], answer["type"]))

    if job["broadcaster"]:
        audio = noisy_speech(seconds=12.0, snr_db=5.0, seed=0)[2]
        track = OpusLoopTrack(encode_packet_sizes(audio)[PACKET_SAMPLES])
        b_api = Api(host, job["broadcaster"]["cookies"])
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        pcs.append(pc)
        pc.addTrack(track)
        connected = asyncio.Event()
        pc.on(
            "connectionstatechange",
            lambda: connected.set() if pc.connectionState == "connected" else None,
        )
        await negotiate(pc, b_api, "/api/webrtc/offer/")
        await asyncio.wait_for(connected.wait(), STEP_TIMEOUT)

    counters: list[PacketCounter] = []

    async def listen(spec: dict[str, Any]) -> None:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        pcs.append(pc)
        transceiver = pc.addTransceiver("audio", direction="recvonly")
        counter = PacketCounter()
        counters.append(counter)
        transceiver.receiver._RTCRtpReceiver__decoder_queue = counter  # type: ignore[attr-defined]
        await negotiate(pc, Api(host, spec["cookies"]), f"/api/webrtc/listen/{job['of']}/")
        await asyncio.wait_for(counter.first.wait(), STEP_TIMEOUT)

    for i in range(0, len(job["listeners"]), 8):  # a few at a time, as friends join
        await asyncio.gather(*(listen(s) for s in job["listeners"][i : i + 8]))
    print("READY {}", flush=True)

    assert (await asyncio.to_thread(sys.stdin.readline)).strip() == "MARK"
    start = time.monotonic()
    assert (await asyncio.to_thread(sys.stdin.readline)).strip() == "STOP"
    end = time.monotonic()
    results: list[dict[str, Any]] = [
        window_figures(c.arrivals, c.stamps, start, end) for c in counters
    ]
    if b_api is not None:
        resp = await b_api.apost("/api/streams/stop/")
        stop_answer = resp.json() if resp.status_code == 200 else {"error": resp.status_code}
        results.append({"stop": stop_answer})
    for pc in pcs:
        await pc.close()
    print(f"RESULT {json.dumps(results)}", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
