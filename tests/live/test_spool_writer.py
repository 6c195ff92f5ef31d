"""The spool writer: cleaned and raw recorded together, off the loop, with bounded memory."""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from streams.webrtc.spool import BATCH_SAMPLES, RETRY_FIRST_S, SpoolWriter

FRAME = 960  # one 20 ms packet


class MemoryDisk:
    """A sink that keeps what it is given; ``gate`` (when set) blocks writes until opened."""

    def __init__(self, cleaned: Path, raw: Path | None) -> None:
        self.cleaned: list[np.ndarray] = []
        self.raw: list[np.ndarray] = []
        self.keeps_raw = raw is not None
        self.gate: threading.Event | None = None
        self.fail_after: int | None = None
        self.closed = False

    def write(self, cleaned: np.ndarray, raw: np.ndarray | None) -> None:
        if self.gate is not None:
            self.gate.wait(10)
        if self.fail_after is not None and len(self.cleaned) >= self.fail_after:
            raise OSError(28, "No space left on device")
        assert (raw is not None) == self.keeps_raw
        self.cleaned.append(cleaned.copy())
        if raw is not None:
            self.raw.append(raw.copy())

    def close(self) -> None:
        self.closed = True


def frames(n: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``n`` frames whose samples say which frame they are (cleaned = k, raw = -k)."""
    return [
        (np.full(FRAME, k + 1, np.float32), np.full(FRAME, -(k + 1), np.float32)) for k in range(n)
    ]


def writer_on(
    disk: MemoryDisk, pool, max_pending: int = 50, retry_s: float = RETRY_FIRST_S
) -> SpoolWriter:
    """A writer whose files are ``disk`` (a test's stand-in), on ``pool``'s threads."""
    return SpoolWriter(
        Path("c.wav"),
        Path("r.wav"),
        pool,
        max_pending=max_pending,
        sink_factory=lambda c, r: disk,
        retry_s=retry_s,
    )


async def test_cleaned_and_raw_are_written_together_in_order(pool):
    disk = MemoryDisk(Path("c"), Path("r"))
    writer = writer_on(disk, pool)
    data = frames(23)  # not a whole number of batches: the tail is written at close
    for cleaned, raw in data:
        writer.write(cleaned, raw)
    result = await writer.close()
    assert disk.closed
    assert np.array_equal(np.concatenate(disk.cleaned), np.concatenate([c for c, _ in data]))
    assert np.array_equal(np.concatenate(disk.raw), np.concatenate([r for _, r in data]))
    # One thread call per 100 ms batch, cleaned and raw in the same call.
    assert [c.size for c in disk.cleaned] == [BATCH_SAMPLES] * 4 + [3 * FRAME]
    assert result.duration == pytest.approx(23 * FRAME / 48_000)
    assert result.gap_seconds == 0 and result.gaps == 0


async def test_real_wav_files_line_up(pool, tmp_path):
    writer = SpoolWriter(tmp_path / "a.cleaned.wav", tmp_path / "a.raw.wav", pool, max_pending=50)
    for cleaned, raw in frames(60):
        writer.write(cleaned / 100, raw / 100)
    result = await writer.close()
    cleaned, rate = sf.read(tmp_path / "a.cleaned.wav", dtype="float32")
    raw, _ = sf.read(tmp_path / "a.raw.wav", dtype="float32")
    assert rate == 48_000 and cleaned.size == raw.size == 60 * FRAME
    assert np.allclose(cleaned, -raw, atol=1e-4)
    assert result.duration == pytest.approx(60 * FRAME / 48_000)


async def test_a_stalled_disk_costs_a_counted_gap_not_memory_or_time(pool, caplog):
    disk = MemoryDisk(Path("c"), Path("r"))
    disk.gate = threading.Event()
    writer = writer_on(disk, pool, max_pending=3)
    data = frames(50)  # 10 batches; the disk takes none of them while stalled
    caplog.set_level(logging.WARNING)
    for i, (cleaned, raw) in enumerate(data):
        writer.write(cleaned, raw)  # never blocks, although the disk does
        if i % 5 == 4:
            await asyncio.sleep(0)  # let the drain task take the first batch
    assert not disk.cleaned  # nothing could be written yet
    assert writer.pending <= 4  # 3 batches + one gap, whatever the stall's length
    assert writer.gaps == 1 and writer.lost_samples > 0
    assert any("recording a gap" in r.getMessage() for r in caplog.records)
    disk.gate.set()
    result = await writer.close()
    got_c, got_r = np.concatenate(disk.cleaned), np.concatenate(disk.raw)
    # The timeline holds: the lost stretch is silence in both files, still aligned.
    assert got_c.size == got_r.size == 50 * FRAME
    assert np.array_equal(got_c, -got_r)
    silent = got_c == 0
    assert silent.sum() == writer.lost_samples
    assert result.gap_seconds == pytest.approx(writer.lost_samples / 48_000)
    assert result.gaps == 1
    # What was kept is the start of the stream, in order.
    kept = got_c[~silent]
    assert np.array_equal(kept, np.concatenate([c for c, _ in data])[: kept.size])


async def test_a_disk_that_keeps_failing_is_logged_once_and_the_loss_counted(pool, caplog):
    disk = MemoryDisk(Path("c"), Path("r"))
    disk.fail_after = 2
    writer = writer_on(disk, pool, retry_s=0.01)
    caplog.set_level(logging.ERROR)
    for cleaned, raw in frames(30):
        writer.write(cleaned, raw)
        await asyncio.sleep(0)
    await asyncio.sleep(0.1)
    for cleaned, raw in frames(5):  # the stream goes on; the disk still refuses
        writer.write(cleaned, raw)
    result = await writer.close()
    assert len(disk.cleaned) == 2
    assert result.duration == pytest.approx(2 * BATCH_SAMPLES / 48_000)
    # Everything else is counted as lost (the stream's ``unrecorded``), not dropped quietly.
    assert writer.lost_samples == 35 * FRAME - 2 * BATCH_SAMPLES
    failures = [r for r in caplog.records if "could not write the recording" in r.getMessage()]
    assert len(failures) == 1
    assert any("disk still failing" in r.getMessage() for r in caplog.records)


async def test_recording_without_raw(pool):
    disk = MemoryDisk(Path("c"), None)
    writer = SpoolWriter(Path("c.wav"), None, pool, max_pending=5, sink_factory=lambda c, r: disk)
    for cleaned, raw in frames(10):
        writer.write(cleaned, raw)
    await writer.close()
    assert len(disk.cleaned) == 2 and not disk.raw
