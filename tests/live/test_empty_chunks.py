"""Audio that resamples or arrives as nothing is never passed on: a narrow-band sender's
source yields no empty chunks, and an empty chunk that reaches the encoder anyway encodes
to no packets without failing the other streams encoded in the same batch."""

from __future__ import annotations

import numpy as np

from denoise.constants import PACKET_SAMPLES, SAMPLE_RATE
from denoise.registry import create_denoiser
from streams.webrtc.fanout import ENCODE, OpusPacketizer
from streams.webrtc.source import LiveSource, SourceEnded
from tests.live.rate_track import RateTrack


def tone(samples: int) -> np.ndarray:
    t = np.arange(samples) / SAMPLE_RATE
    return (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


def test_an_empty_chunk_encodes_to_no_packets() -> None:
    assert OpusPacketizer().encode(np.zeros(0, np.float32), 0) == []


def test_an_empty_chunk_does_not_fail_the_batch_it_shares() -> None:
    normal, empty = OpusPacketizer(), OpusPacketizer()
    empty_audio = np.zeros(0, np.float32)
    results = ENCODE.run_batch([(normal, tone(PACKET_SAMPLES), 0), (empty, empty_audio, 0)])
    assert len(results) == 2
    assert len(results[0]) == 1 and results[0][0].size > 0  # the normal stream's packet
    assert results[1] == []


async def test_a_narrow_band_sender_yields_no_empty_chunks() -> None:
    """PCMU/PCMA decode to 8 kHz: the resampler holds most 20 ms frames back entirely."""
    source = LiveSource(
        RateTrack([8000] * 50), create_denoiser("identity"), budget=1.0, media_timeout=2.0
    )
    sizes = []
    try:
        while True:
            chunk = await source.next_chunk()
            sizes.append(chunk.cleaned.size)
    except SourceEnded:
        pass
    assert sizes and min(sizes) > 0
    assert sum(sizes) > SAMPLE_RATE * 0.8  # the audio itself still comes through
