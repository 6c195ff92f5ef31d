"""A chunk longer than the listener's queue cap (120 ms Opus frames from the broadcaster,
resampler bursts) reaches the listener whole; a listener that stops reading still loses
its oldest packets, so its delay stays bounded."""

from __future__ import annotations

import asyncio

import numpy as np

from denoise.constants import PACKET_SAMPLES
from streams.webrtc.fanout import MAX_QUEUED, Fanout

LONG = 6 * PACKET_SAMPLES  # a 120 ms chunk: 5760 samples


def tone(samples: int) -> np.ndarray:
    return (0.3 * np.sin(2 * np.pi * 440 * np.arange(samples) / 48_000)).astype(np.float32)


async def test_a_120_ms_chunk_reaches_the_listener_whole() -> None:
    fan = Fanout()
    track = fan.subscribe("full")
    encoder = fan.encoder("full")
    fan.publish("full", encoder.encode(tone(PACKET_SAMPLES), 0))
    await asyncio.wait_for(track.recv(), 5)  # started
    packets = encoder.encode(tone(LONG), PACKET_SAMPLES)
    assert len(packets) > MAX_QUEUED
    fan.publish("full", packets)
    assert track.dropped == 0
    got = [await asyncio.wait_for(track.recv(), 5) for _ in packets]
    assert [p.pts for p in got] == [p.pts for p in packets]
    fan.close()


async def test_a_listener_that_stops_reading_still_drops() -> None:
    fan = Fanout()
    track = fan.subscribe("full")
    encoder = fan.encoder("full")
    fan.publish("full", encoder.encode(tone(PACKET_SAMPLES), 0))
    await asyncio.wait_for(track.recv(), 5)  # started, then never reads again
    sent = []
    for k in range(4):
        packets = encoder.encode(tone(LONG), PACKET_SAMPLES + k * LONG)
        sent += packets
        fan.publish("full", packets)
    assert track.dropped >= len(sent) - len(packets)  # at most the newest chunk is kept
    fan.close()
