"""Listeners of every stream are encoded in shared batches on the codec thread: one item
that fails to encode fails its own stream only, never the others in its batch."""

from __future__ import annotations

import asyncio

import av
import numpy as np
import pytest

from denoise.base import Audio
from denoise.batching import BatchScheduler
from denoise.constants import PACKET_SAMPLES
from streams.webrtc.fanout import ENCODE, Fanout, OpusPacketizer


class BrokenPacketizer(OpusPacketizer):
    """A packetizer whose codec refuses every chunk."""

    def encode(self, samples: Audio, pts: int) -> list[av.Packet]:
        raise av.error.InvalidDataError(22, "refused")


def voice() -> np.ndarray:
    return np.full(PACKET_SAMPLES, 0.1, np.float32)


def test_a_failing_item_leaves_the_other_items_their_packets() -> None:
    results = ENCODE.run_batch(
        [
            (OpusPacketizer(), voice(), 0),
            (BrokenPacketizer(), voice(), 0),
            (OpusPacketizer(), voice(), 0),
        ]
    )
    assert len(results[0]) == 1 and len(results[2]) == 1
    assert isinstance(results[1], av.error.InvalidDataError)


async def test_the_failure_reaches_its_own_stream_only() -> None:
    scheduler = BatchScheduler(max_wait_ms=50, max_parallel=1, name="codec")
    for _ in range(2):
        scheduler.register()
    try:
        good, bad = Fanout(), Fanout()
        listeners = good.subscribe("full"), bad.subscribe("full")
        futures = [
            scheduler.submit_async(ENCODE, (OpusPacketizer(), voice(), 0)),
            scheduler.submit_async(ENCODE, (BrokenPacketizer(), voice(), 0)),
        ]
        done, failed = await asyncio.gather(*futures)
    finally:
        scheduler.close()
    assert scheduler.stats.largest == 2  # both in one batch
    good.publish("full", done)
    assert (await asyncio.wait_for(listeners[0].recv(), 5)).size > 0
    with pytest.raises(av.error.InvalidDataError):  # the failing stream's pump sees its error
        bad.publish("full", failed)
    good.close()
    bad.close()
