"""Identity backend: output = input delayed by a fixed number of samples.

Used by tests and as a model-free stand-in (no native code, nothing to load).
It starts no thread: ``submit_hops`` copies the hops on the caller's loop,
which costs less than a hand-off to a thread would.
"""

from __future__ import annotations

import asyncio

import numpy as np
from numpy.typing import NDArray

from ..base import Audio, FrameBackend
from ..constants import HOP_SAMPLES
from ..sources import ModelSource


class IdentityBackend(FrameBackend):
    """Delay line of ``delay_samples`` samples; ``lsnr`` is always ``nan``.

    Raises:
        ValueError: ``delay_samples`` is negative.
    """

    def __init__(self, delay_samples: int = 0) -> None:
        if delay_samples < 0:
            raise ValueError("delay_samples must be >= 0")
        self.delay_samples = int(delay_samples)
        # History of the last ``delay_samples`` input samples, oldest first.
        self._line: Audio = np.zeros(self.delay_samples, dtype=np.float32)
        self.atten_lim_db = 100.0

    def process_hop(self, hop: Audio) -> tuple[Audio, float]:
        if hop.shape != (HOP_SAMPLES,):
            raise ValueError(f"expected {HOP_SAMPLES} samples, got {hop.shape}")
        if self.delay_samples == 0:
            return hop.astype(np.float32, copy=True), float("nan")
        buf = np.concatenate((self._line, hop.astype(np.float32, copy=False)))
        self._line = buf[HOP_SAMPLES:].copy()
        return buf[:HOP_SAMPLES].copy(), float("nan")

    def submit_hops(self, hops: NDArray[np.float32]) -> asyncio.Future[tuple[Audio, list[float]]]:
        """:meth:`process_hops` inline on the loop: a delay line is a few copies (microseconds)."""
        done: asyncio.Future[tuple[Audio, list[float]]] = asyncio.get_running_loop().create_future()
        done.set_result(self.process_hops(hops))
        return done

    def set_atten_lim(self, db: float) -> None:
        # Recorded so tests can observe when the Denoiser applied a change.
        self.atten_lim_db = db


class IdentityModel:
    """Loaded-model object for the registry: hands out identity backends.

    The delay is the source's ``latency_samples``.
    """

    def __init__(self, source: ModelSource) -> None:
        self.delay_samples = int(source.latency_samples)

    def new_backend(self) -> IdentityBackend:
        return IdentityBackend(self.delay_samples)
