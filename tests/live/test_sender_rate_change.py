"""A broadcaster switching between negotiated codecs (8, 16, 48 kHz) is resampled from the
rate each frame has, and nothing buffered in the old rate's resampler is lost: the stream
keeps 48 kHz x its duration."""

from __future__ import annotations

import pytest

from denoise.constants import PACKET_SAMPLES, SAMPLE_RATE
from denoise.registry import create_denoiser
from streams.webrtc.source import LiveSource, SourceEnded
from tests.live.rate_track import RateTrack

FRAMES = 50  # one second at each rate


async def samples_out(rates: list[int]) -> int:
    source = LiveSource(
        RateTrack(rates), create_denoiser("identity"), budget=1.0, media_timeout=2.0
    )
    total = 0
    try:
        while True:
            total += (await source.next_chunk()).cleaned.size
    except SourceEnded:
        return total


async def test_8_then_16_khz_is_resampled_from_each_rate() -> None:
    total = await samples_out([8000] * FRAMES + [16000] * FRAMES)
    # Up to a few packets stay in the last resampler when the stream ends.
    assert total == pytest.approx(2 * SAMPLE_RATE, abs=3 * PACKET_SAMPLES)


async def test_switching_back_to_48_khz_keeps_the_resamplers_tail() -> None:
    total = await samples_out([8000] * FRAMES + [SAMPLE_RATE] * FRAMES)
    assert total == pytest.approx(2 * SAMPLE_RATE, abs=PACKET_SAMPLES // 2)
