"""Incremental WAV recorder for a live stream, off the event loop.

Frames are batched on the loop and written by a worker thread (one write in
flight at a time, so order is kept). The WAV header is rewritten on every
flush, so a file is valid up to its last flush even if the process dies; at
the next start :func:`streams.services.clear_stale_streams` turns it into a
recording.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import soundfile as sf

from denoise.base import Audio
from denoise.constants import SAMPLE_RATE

BATCH_SAMPLES = SAMPLE_RATE // 10
"""Write every 100 ms of audio (5 packets)."""
SYNC_EVERY_SAMPLES = SAMPLE_RATE
"""Rewrite the header (sf_write_sync) every second: bounds loss on a crash."""


class WavRecorder:
    """Writes 16-bit mono WAV at 48 kHz to ``path``. Use from one task only."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: sf.SoundFile | None = None
        self._batch: list[Audio] = []
        self._batched = 0
        self._since_sync = 0
        self.samples = 0
        self._closed = False

    @property
    def duration(self) -> float:
        """Seconds written so far (including the pending batch)."""
        return (self.samples + self._batched) / SAMPLE_RATE

    async def write(self, samples: Audio) -> None:
        """Queue samples; every ``BATCH_SAMPLES`` they are written in a worker thread."""
        if self._closed:
            return
        self._batch.append(samples)
        self._batched += samples.size
        if self._batched >= BATCH_SAMPLES:
            await self._flush()

    async def close(self) -> float:
        """Write what is pending, finalize the header, and return the duration. Idempotent."""
        if not self._closed:
            await self._flush()
            self._closed = True
            if self._file is not None:
                await asyncio.to_thread(self._file.close)
        return self.samples / SAMPLE_RATE

    async def _flush(self) -> None:
        if not self._batch:
            return
        data = np.concatenate(self._batch)
        self._batch, self._batched = [], 0
        await asyncio.to_thread(self._write, data)

    def _write(self, data: Audio) -> None:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = sf.SoundFile(
                self.path, "w", samplerate=SAMPLE_RATE, channels=1, format="WAV", subtype="PCM_16"
            )
        self._file.write(data)
        self.samples += data.size
        self._since_sync += data.size
        if self._since_sync >= SYNC_EVERY_SAMPLES:
            self._file.flush()
            self._since_sync = 0
