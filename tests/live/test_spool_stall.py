"""A stalled spool disk delays the recording, never the listeners."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from django.core.files.storage import default_storage

from fc25_denoise import runtime
from recordings.models import StreamRecording
from streams.webrtc.runtime import LiveRuntime
from streams.webrtc.spool import WavPairSink
from tests.live.conftest import ArrayTrack, LiveClient

pytestmark = pytest.mark.django_db(transaction=True)

STALL_S = 0.5
STALL_AFTER_S = 1.5  # of recorded audio: listeners are receiving by then


class StallingDisk(WavPairSink):
    """The real spool files, on a disk that freezes for ``STALL_S`` once."""

    stalls: list[tuple[float, float]] = []  # (start, end) on the monotonic clock
    stall_s = STALL_S

    def __init__(self, cleaned: Path, raw: Path | None) -> None:
        super().__init__(cleaned, raw)
        self._written = 0
        self._stalled = False

    def write(self, cleaned: np.ndarray, raw: np.ndarray | None) -> None:
        self._written += cleaned.size
        if not self._stalled and self._written >= STALL_AFTER_S * 48_000:
            self._stalled = True
            start = time.monotonic()
            threading.Event().wait(self.stall_s)  # a blocked write() call, as on a hung disk
            StallingDisk.stalls.append((start, time.monotonic()))
        super().write(cleaned, raw)


@pytest.fixture
async def stalling_hub(settings):
    StallingDisk.stalls = []
    StallingDisk.stall_s = STALL_S
    runtime.replace_live_hub(None)
    hub = runtime.build_live_hub(LiveRuntime(runtime.live_config(), sink_factory=StallingDisk))
    runtime.replace_live_hub(hub)
    yield hub
    await hub.shutdown()
    runtime.replace_live_hub(None)


async def test_a_blocked_spool_write_leaves_listener_frames_on_time(
    stalling_hub, friends, settings
):
    settings.DENOISE_MODEL = "identity"
    alice_user, bob_user, _ = friends
    alice = await LiveClient(alice_user).setup()
    bob = await LiveClient(bob_user).setup()
    tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(48_000 * 6) / 48_000)).astype(np.float32)
    try:
        resp, _ = await alice.go_live(ArrayTrack(tone))
        assert resp.status_code == 200, resp.content
        resp, capture = await bob.listen("alice")
        assert resp.status_code == 200, resp.content
        deadline = time.monotonic() + 15
        while not StallingDisk.stalls and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert StallingDisk.stalls, "the spool disk never stalled"
        await asyncio.sleep(1.0)  # frames after the stall, too
        resp = await alice.call("post", "/api/streams/stop/")
        assert resp.status_code == 200
        result = resp.json()
    finally:
        await alice.close()
        await bob.close()

    start, end = StallingDisk.stalls[0]
    assert end - start >= STALL_S * 0.9
    times = np.array(capture.times)
    around = times[(times > start - 0.5) & (times < end + 0.5)]
    assert around.size >= 40, "the listener received too few frames around the stall"
    # 20 ms packets: a pump that waited for the disk would leave a ~500 ms hole here.
    assert np.diff(around).max() < 0.2, np.diff(around).max()
    # The recording waited for the disk instead, and lost nothing.
    assert result["stats"]["unrecorded"] == 0
    rec = await StreamRecording.objects.aget(pk=result["recording_id"])
    with default_storage.open(rec.file.name) as fh:
        audio, _ = sf.read(fh, dtype="float32")
    assert audio.size >= 48_000 * (STALL_AFTER_S + 1.0)


async def test_a_disk_stalled_beyond_the_buffer_leaves_a_counted_gap(
    stalling_hub, friends, settings
):
    settings.DENOISE_MODEL = "identity"
    StallingDisk.stall_s = 1.5
    stalling_hub.runtime.config = dataclasses.replace(stalling_hub.runtime.config, spool_buffer=0.3)
    alice = await LiveClient(friends[0]).setup()
    tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(48_000 * 8) / 48_000)).astype(np.float32)
    try:
        resp, _ = await alice.go_live(ArrayTrack(tone))
        assert resp.status_code == 200, resp.content
        deadline = time.monotonic() + 15
        while not StallingDisk.stalls and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert StallingDisk.stalls, "the spool disk never stalled"
        await asyncio.sleep(0.5)
        resp = await alice.call("post", "/api/streams/stop/")
        assert resp.status_code == 200
        result = resp.json()
    finally:
        await alice.close()
    # About 1.5 s minus the 0.3 s buffer could not be written: counted, and kept as a gap.
    assert 30 <= result["stats"]["unrecorded"] <= 75, result["stats"]
    rec = await StreamRecording.objects.aget(pk=result["recording_id"])
    assert rec.gap_seconds == pytest.approx(result["stats"]["unrecorded"] * 0.02, abs=0.02)
    # The gap is silence: the recording is as long as the stream, the timeline intact.
    assert rec.duration == pytest.approx(result["duration"], abs=0.05)
    assert rec.duration >= STALL_AFTER_S + 1.5
