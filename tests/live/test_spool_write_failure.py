"""A spool write that fails (a full disk for a moment) costs the recording a counted gap,
not the rest of the stream.

Before, the first failed write ended the recording: every later frame was dropped
without being counted (``unrecorded`` stayed 0, ``gap_seconds`` 0), so a disk full for a
second lost the rest of a long stream. Now the failed audio becomes a gap, the drain
tries again, and once the disk takes writes the gap is written as silence and the
recording goes on, as long as the stream, cleaned and raw still aligned, even when the
failed write had torn one of the real WAV files part-way.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from streams.webrtc.spool import BATCH_SAMPLES, CLOSE_RETRIES, SpoolWriter, WavPairSink
from tests.disk_limits import file_size_limit
from tests.live.test_spool_writer import FRAME, MemoryDisk, frames, writer_on

RATE = 48_000


class FullForAMoment(MemoryDisk):
    """Refuses writes (ENOSPC) from its ``fail_at``-th write until ``fail_at + times``."""

    def __init__(self, fail_at: int, times: int) -> None:
        super().__init__(Path("c"), Path("r"))
        self.calls = 0
        self.fail_at, self.times = fail_at, times

    def write(self, cleaned: np.ndarray, raw: np.ndarray | None) -> None:
        self.calls += 1
        if self.fail_at <= self.calls < self.fail_at + self.times:
            raise OSError(28, "No space left on device")
        super().write(cleaned, raw)


async def feed(writer: SpoolWriter, data: list[tuple[np.ndarray, np.ndarray]]) -> None:
    for i, (cleaned, raw) in enumerate(data):
        writer.write(cleaned, raw)
        if i % 5 == 4:
            await asyncio.sleep(0.005)  # about real time, 100x faster


async def test_a_disk_full_for_a_moment_costs_a_counted_gap_and_the_recording_goes_on(pool, caplog):
    disk = FullForAMoment(fail_at=3, times=2)
    writer = writer_on(disk, pool, retry_s=0.01)
    caplog.set_level(logging.WARNING)
    data = frames(150)  # 3 s
    await feed(writer, data)
    result = await writer.close()

    got_c, got_r = np.concatenate(disk.cleaned), np.concatenate(disk.raw)
    assert got_c.size == got_r.size == 150 * FRAME  # as long as the stream
    assert np.array_equal(got_c, -got_r)  # still aligned
    silent = got_c == 0
    assert silent.sum() == writer.lost_samples == BATCH_SAMPLES  # the one batch that failed
    assert result.gaps == 1 and result.gap_seconds == pytest.approx(0.1)
    kept = np.concatenate([c for c, _ in data])
    kept[2 * BATCH_SAMPLES : 3 * BATCH_SAMPLES] = 0  # the third batch is the gap, in place
    assert np.array_equal(got_c, kept)
    messages = [r.getMessage() for r in caplog.records]
    assert sum("could not write the recording" in m for m in messages) == 1
    assert any("writes again after 2 failed tries" in m for m in messages)


def test_a_torn_wav_write_is_cut_back_so_both_files_stay_aligned(tmp_path):
    # Sink level, one thread: the rlimit is per process, so no other test thread writes.
    sink = WavPairSink(tmp_path / "a.cleaned.wav", tmp_path / "a.raw.wav")
    tone = (0.25 * np.sin(np.arange(RATE) / 7)).astype(np.float32)
    sink.write(tone[:4800], tone[:4800])
    room = 44 + 2 * 4800 + 2 * 2000  # the header, the first batch and 2000 more samples
    with file_size_limit(room), pytest.raises(Exception):  # noqa: B017 (libsndfile's error)
        sink.write(tone[4800:9600], tone[4800:9600])  # torn: the cleaned file got 2000
    sink.write(tone[9600:14400], tone[9600:14400])
    sink.close()

    cleaned, _ = sf.read(tmp_path / "a.cleaned.wav", dtype="float32")
    raw, _ = sf.read(tmp_path / "a.raw.wav", dtype="float32")
    assert cleaned.size == raw.size == 9600
    assert np.array_equal(cleaned, raw)
    expected = np.concatenate([tone[:4800], tone[9600:14400]])
    assert np.allclose(cleaned, expected, atol=1e-4)


def test_a_torn_last_write_is_cut_back_at_close(tmp_path):
    sink = WavPairSink(tmp_path / "b.cleaned.wav", tmp_path / "b.raw.wav")
    tone = (0.25 * np.sin(np.arange(RATE) / 7)).astype(np.float32)
    sink.write(tone[:4800], tone[:4800])
    with file_size_limit(44 + 2 * 4800 + 2 * 2000), pytest.raises(Exception):  # noqa: B017
        sink.write(tone[4800:9600], tone[4800:9600])
    sink.close()
    assert sf.info(tmp_path / "b.cleaned.wav").frames == sf.info(tmp_path / "b.raw.wav").frames
    assert sf.info(tmp_path / "b.cleaned.wav").frames == 4800


async def test_a_closing_writer_tries_three_more_times_whatever_failed_before(pool):
    class Broken(MemoryDisk):
        def __init__(self) -> None:
            super().__init__(Path("c"), Path("r"))
            self.tries = 0

        def write(self, cleaned: np.ndarray, raw: np.ndarray | None) -> None:
            self.tries += 1
            raise OSError(5, "Input/output error")

    disk = Broken()
    writer = writer_on(disk, pool, retry_s=0.01)
    await feed(writer, frames(50))
    await asyncio.sleep(0.3)  # failing over and over meanwhile
    before = disk.tries
    assert before >= 4
    result = await writer.close()
    assert disk.tries - before == CLOSE_RETRIES + 1  # one try, then three more
    assert result.duration == 0 and writer.lost_samples == 50 * FRAME
