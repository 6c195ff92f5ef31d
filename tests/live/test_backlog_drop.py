"""A stream that falls behind real time drops frames (counted) instead of piling up delay."""

from __future__ import annotations

import asyncio
import fractions

import av
import numpy as np
from aiortc.mediastreams import MediaStreamTrack

from denoise.constants import PACKET_SAMPLES, SAMPLE_RATE
from denoise.registry import create_denoiser
from streams.webrtc.source import LiveSource


class QueuedSource(MediaStreamTrack):
    """Frames already waiting in a receive queue, as after an event-loop stall."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self.sent = 0
        self.start: float | None = None

    def frame(self, index: int) -> av.AudioFrame:
        samples = np.full((1, 2 * PACKET_SAMPLES), index % 100, np.int16)
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="stereo")
        frame.sample_rate = SAMPLE_RATE
        frame.time_base = fractions.Fraction(1, SAMPLE_RATE)
        frame.pts = index * PACKET_SAMPLES
        return frame

    async def recv(self) -> av.AudioFrame:
        loop = asyncio.get_running_loop()
        if self.start is None:
            self.start = loop.time()
        # Packets are due every 20 ms; one that is already due is returned at once.
        due = self.start + self.sent * PACKET_SAMPLES / SAMPLE_RATE
        if due > loop.time():
            await asyncio.sleep(due - loop.time())
        self.sent += 1
        return self.frame(self.sent - 1)


async def test_a_stall_is_dropped_not_delayed():
    source = QueuedSource()
    track = LiveSource(
        source,
        create_denoiser("identity"),
        budget=0.03,
        media_timeout=2.0,
        max_backlog=0.2,
    )
    for _ in range(10):  # on time
        await track.next_chunk()
    assert track.stats.dropped == 0
    await asyncio.sleep(0.6)  # the process stalls: 30 packets queue up
    first_after = await track.next_chunk()
    # ~20 of the 30 queued frames are skipped so the stream is live again.
    assert 15 <= track.stats.dropped <= 25, track.stats
    assert first_after.pts is not None and first_after.pts >= 25 * PACKET_SAMPLES
    dropped = track.stats.dropped
    for _ in range(20):  # back on time: nothing more is dropped
        await track.next_chunk()
    assert track.stats.dropped == dropped and track.stats.frames == 31
    track.stop()


async def test_on_time_stream_drops_nothing():
    source = QueuedSource()
    track = LiveSource(source, create_denoiser("identity"), budget=0.03, media_timeout=2.0)
    for _ in range(50):
        await track.next_chunk()
        await asyncio.sleep(0.005)  # a consumer slower than nothing, faster than real time
    assert track.stats.dropped == 0 and track.stats.frames == 50
    track.stop()
