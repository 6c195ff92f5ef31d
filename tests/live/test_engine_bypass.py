"""An engine slower than the budget: the stream passes raw audio through (counted) and
goes back to denoising once the engine answers, whether the backend computes on its own
worker thread or is awaited (as a batch scheduler's future)."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest
from numpy.typing import NDArray

from denoise.base import Audio, Denoiser, FrameBackend
from denoise.constants import HOP_SAMPLES
from streams.webrtc.source import LiveSource
from tests.live.test_backlog_drop import QueuedSource

SLOW_PACKET = 5
STALL_S = 0.1  # > the 30 ms budget: about 5 packets arrive meanwhile


class SlowNegator(FrameBackend):
    """A fake model: output = -input, so cleaned and passed-through audio differ.

    The hops of packet ``SLOW_PACKET`` take ``STALL_S``: blocking on the backend's own
    worker thread (the default ``submit_hops``).
    """

    def __init__(self) -> None:
        self.calls = 0

    def _slow(self) -> bool:
        self.calls += 1
        return self.calls == SLOW_PACKET + 1

    def process_hop(self, hop: Audio) -> tuple[Audio, float]:
        return -hop, float("nan")

    def process_hops(self, hops: NDArray[np.float32]) -> tuple[Audio, list[float]]:
        if self._slow():
            time.sleep(STALL_S)
        return -hops, [float("nan")] * len(hops)

    def set_atten_lim(self, db: float) -> None:
        pass


class AwaitedSlowNegator(SlowNegator):
    """The slow packet's future resolves later on the loop, as a batch scheduler's would."""

    batched = True

    def submit_hops(self, hops: NDArray[np.float32]) -> asyncio.Future[tuple[Audio, list[float]]]:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[tuple[Audio, list[float]]] = loop.create_future()
        result = (-hops, [float("nan")] * len(hops))
        loop.call_later(STALL_S if self._slow() else 0.001, fut.set_result, result)
        return fut


@pytest.mark.parametrize(
    "backend_type", [SlowNegator, AwaitedSlowNegator], ids=["thread", "awaited"]
)
async def test_slow_engine_is_bypassed_then_denoising_resumes(
    backend_type: type[SlowNegator],
) -> None:
    backend = backend_type()
    denoiser = Denoiser(backend)
    track = LiveSource(QueuedSource(), denoiser, budget=0.03, media_timeout=2.0)
    chunks = [await track.next_chunk() for _ in range(30)]
    track.stop()
    await asyncio.to_thread(denoiser.close)
    kinds = []
    for c in chunks:
        assert c.cleaned.size == c.raw.size == 2 * HOP_SAMPLES  # the timeline never breaks
        if not c.raw.any():  # frame value 0: cannot tell the two apart
            kinds.append("?")
        elif np.array_equal(c.cleaned, -c.raw):
            kinds.append("denoised")
        else:
            assert np.array_equal(c.cleaned, c.raw)
            kinds.append("raw")
    assert [c.pts for c in chunks] == [i * 2 * HOP_SAMPLES for i in range(30)]
    assert kinds[1:SLOW_PACKET] == ["denoised"] * (SLOW_PACKET - 1)
    # The slow packet and the ones arriving while the engine is still busy pass through...
    stats = track.stats
    assert stats.late == 1
    assert 2 <= stats.bypassed <= 10, stats
    assert kinds[SLOW_PACKET : SLOW_PACKET + stats.bypassed] == ["raw"] * stats.bypassed
    # ...then the engine is used again, and every frame is accounted for.
    assert kinds[SLOW_PACKET + stats.bypassed :] == ["denoised"] * (
        30 - SLOW_PACKET - stats.bypassed
    )
    assert stats.frames == 30 and stats.denoised + stats.bypassed == 30
