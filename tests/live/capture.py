"""A received track's audio, collected (no Django: benchmarks use it too)."""

from __future__ import annotations

import asyncio
import time

import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack


class Capture:
    """Collects a received track's audio as float32 mono, and when each frame arrived."""

    def __init__(self) -> None:
        self.chunks: list[np.ndarray] = []
        self.times: list[float] = []
        """Arrival of each frame (time.monotonic())."""
        self.task: asyncio.Task[None] | None = None

    def start(self, track: MediaStreamTrack) -> None:
        async def run() -> None:
            try:
                while True:
                    frame = await track.recv()
                    self.times.append(time.monotonic())
                    x = frame.to_ndarray().astype(np.float32) / 32768.0
                    channels = len(frame.layout.channels)
                    self.chunks.append(x.reshape(-1, channels).mean(axis=1))
            except MediaStreamError:
                pass

        self.task = asyncio.ensure_future(run())

    @property
    def audio(self) -> np.ndarray:
        return np.concatenate(self.chunks) if self.chunks else np.zeros(0, np.float32)
