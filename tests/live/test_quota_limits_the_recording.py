"""The recording itself stops at the quota: a late quota look (a loaded loop) lets a
stream run on for a moment, but never lets its recording pass the quota."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from recordings.models import StreamRecording
from streams.quota import QuotaWatch
from streams.webrtc.spool import SpoolWriter
from tests.live.conftest import ArrayTrack
from tests.live.test_spool_writer import FRAME, MemoryDisk, frames

pytestmark = pytest.mark.django_db(transaction=True)

SPOOL_BYTES_PER_S = 48_000 * 2 * 2  # two 16-bit tracks (cleaned and raw)


@pytest.mark.parametrize("keep_raw", [True, False])
async def test_a_limit_cuts_both_tracks_at_the_same_sample(keep_raw):
    disk = MemoryDisk(Path("c"), Path("r") if keep_raw else None)
    with ThreadPoolExecutor(1) as pool:
        writer = SpoolWriter(
            Path("c"),
            Path("r") if keep_raw else None,
            pool,
            max_pending=50,
            sink_factory=lambda c, r: disk,
        )
        per_sample = 4 if keep_raw else 2
        writer.limit_bytes((3 * FRAME + 100) * per_sample)  # mid-way through the 4th frame
        for k, (cleaned, raw) in enumerate(frames(10)):
            writer.write(cleaned, raw)
            assert writer.capped == (k >= 3)
        result = await writer.close()
    kept = np.concatenate(disk.cleaned)
    assert kept.size == 3 * FRAME + 100
    assert writer.spooled_bytes == kept.size * per_sample
    assert result.duration == pytest.approx(kept.size / 48_000)
    assert kept[-1] == 4  # the cut is inside frame 4; frames 5-10 are not kept
    if keep_raw:
        assert np.array_equal(np.concatenate(disk.raw), -kept)


async def test_a_negative_limit_is_refused():
    with ThreadPoolExecutor(1) as pool:
        writer = SpoolWriter(Path("c"), None, pool, max_pending=1)
        with pytest.raises(ValueError):
            writer.limit_bytes(-1)


async def test_a_stream_whose_quota_look_is_late_records_no_more_than_the_quota(
    clients, settings, monkeypatch
):
    settings.DENOISE_MODEL = "identity"
    settings.RECORDINGS_QUOTA_BYTES = SPOOL_BYTES_PER_S  # one second of recording

    async def never_looks(self: QuotaWatch) -> None:  # a loop too loaded to look in time
        return None

    monkeypatch.setattr(QuotaWatch, "check", never_looks)
    alice = clients[0]
    tone = 0.3 * np.sin(2 * np.pi * 300 * np.arange(48_000 * 30) / 48_000)
    resp, _ = await alice.go_live(ArrayTrack(tone.astype(np.float32)))
    assert resp.status_code == 200, resp.content
    await asyncio.sleep(2.5)  # well past the quota, still live: nobody looked
    assert (await alice.call("post", "/api/streams/stop/")).status_code == 200
    for _ in range(50):  # the recording is saved as the stream ends
        if await StreamRecording.objects.filter(owner__username="alice").aexists():
            break
        await asyncio.sleep(0.1)
    rec = await StreamRecording.objects.aget(owner__username="alice")
    assert 0.9 <= rec.duration <= 1.0
    assert rec.size_bytes <= settings.RECORDINGS_QUOTA_BYTES
