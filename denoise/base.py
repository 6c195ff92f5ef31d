"""The streaming denoiser contract.

A *backend* (:class:`FrameBackend`) owns one stream's model state and processes
exactly one hop (:data:`~denoise.constants.HOP_SAMPLES` float32 samples at 48 kHz)
at a time. :class:`Denoiser` wraps a backend so callers can feed chunks of any
length; it sanitises input, applies attenuation-limit changes on the next frame
and keeps per-frame telemetry.

Threading: one ``Denoiser`` is driven by one thread at a time (the live path
serialises a stream's frames on a worker); ``set_atten_lim`` may be called from
any thread and takes effect before the next hop is processed (for a batched
backend, ``multi_hop``, before the next chunk).
"""

from __future__ import annotations

import abc
import asyncio
import time
from collections import deque
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .constants import ATTEN_LIM_MAX_DB, ATTEN_LIM_MIN_DB, HOP_SAMPLES

Audio = NDArray[np.float32]


class DenoiseError(Exception):
    """Base class for engine errors; the message is meant for users and logs."""


class ModelLoadError(DenoiseError):
    """A model could not be loaded (missing file, bad hash, runtime refused it)."""


class UnknownModelError(DenoiseError):
    """The requested model name is not in the registry."""


def check_atten_lim(db: float) -> float:
    """Return ``db`` as float if it is a valid attenuation limit.

    Raises:
        ValueError: not a finite number in [6, 100].
    """
    value = float(db)
    if not np.isfinite(value) or not ATTEN_LIM_MIN_DB <= value <= ATTEN_LIM_MAX_DB:
        raise ValueError(
            f"attenuation limit must be between {ATTEN_LIM_MIN_DB:g} and {ATTEN_LIM_MAX_DB:g} dB"
        )
    return value


class FrameBackend(abc.ABC):
    """One stream's model state. Not thread-safe: one caller at a time.

    Contract: ``process_hop`` takes exactly ``HOP_SAMPLES`` finite float32
    samples and returns ``HOP_SAMPLES`` output samples plus the model's local SNR
    estimate in dB (``nan`` if the backend has none). The output stream is the
    input stream delayed by ``delay_samples``.
    """

    delay_samples: int = 0
    batched: bool = False
    """True if hops wait in a shared BatchScheduler: a blocking ``process`` call sleeps
    until its batch ran, so blocking callers need a thread per stream (asyncio callers
    use ``process_async`` instead)."""
    multi_hop: bool = False
    """True if :meth:`process_hops` is cheaper than one ``process_hop`` per hop
    (a batched backend: one hand-off per chunk instead of per hop)."""
    awaitable: bool = False
    """True if :meth:`process_hops_async` works (hops are computed elsewhere, so an
    asyncio caller can await them without a thread of its own)."""

    @abc.abstractmethod
    def process_hop(self, hop: Audio) -> tuple[Audio, float]:
        """Denoise one hop; returns (output hop, local SNR in dB)."""

    def process_hops(self, hops: NDArray[np.float32]) -> tuple[Audio, list[float]]:
        """Denoise consecutive hops (``[k, HOP_SAMPLES]``); returns (outputs, local SNRs)."""
        pairs = [self.process_hop(np.ascontiguousarray(h)) for h in hops]
        out = np.stack([y for y, _ in pairs]) if pairs else np.zeros_like(hops)
        return out, [snr for _, snr in pairs]

    async def process_hops_async(self, hops: NDArray[np.float32]) -> tuple[Audio, list[float]]:
        """:meth:`process_hops` awaited on the caller's loop (``awaitable`` backends).

        Raises:
            TypeError: this backend is not ``awaitable``.
        """
        raise TypeError(f"{type(self).__name__} cannot be awaited")

    @abc.abstractmethod
    def set_atten_lim(self, db: float) -> None:
        """Limit the noise attenuation to ``db`` (already validated, 100 = none)."""

    def close(self) -> None:  # noqa: B027 - optional hook, default is a no-op
        """Release native resources. Idempotent."""


@dataclass(frozen=True, slots=True)
class FrameTelemetry:
    """What happened to one hop."""

    lsnr_db: float
    process_ms: float


class Denoiser:
    """Streaming front end over a :class:`FrameBackend`.

    Feed float32 mono chunks of any length; ``process`` returns the output for
    every complete hop so far (a multiple of ``HOP_SAMPLES``). The concatenated
    output equals the concatenated input delayed by ``latency_samples``.
    """

    TELEMETRY_FRAMES = 100

    def __init__(self, backend: FrameBackend, atten_lim_db: float = ATTEN_LIM_MAX_DB) -> None:
        self._backend = backend
        self._pending: Audio = np.zeros(0, dtype=np.float32)
        self._atten_lim_db = check_atten_lim(atten_lim_db)
        self._applied_atten: float | None = None
        self._closed = False
        self.frames = 0
        self.nonfinite_samples = 0
        self.telemetry: deque[FrameTelemetry] = deque(maxlen=self.TELEMETRY_FRAMES)

    @property
    def batched(self) -> bool:
        """True if ``process`` may block waiting for other streams' hops (batching)."""
        return self._backend.batched

    @property
    def awaitable(self) -> bool:
        """True if :meth:`process_async` may be used (no thread needed per stream)."""
        return self._backend.awaitable

    @property
    def latency_samples(self) -> int:
        """Algorithmic delay of the output relative to the input, in samples."""
        return self._backend.delay_samples

    @property
    def atten_lim_db(self) -> float:
        return self._atten_lim_db

    def set_atten_lim(self, db: float) -> None:
        """Set the attenuation limit; applied before the next hop. Thread-safe.

        Raises:
            ValueError: outside [6, 100] dB.
        """
        self._atten_lim_db = check_atten_lim(db)

    def process(self, chunk: NDArray[np.floating]) -> Audio:
        """Consume ``chunk`` (1-D) and return output for all complete hops.

        Non-finite samples are replaced by 0 and counted in ``nonfinite_samples``.

        Raises:
            ValueError: ``chunk`` is not one-dimensional.
            RuntimeError: the denoiser was closed.
        """
        hops = self._take(chunk)
        n_hops = len(hops)
        if n_hops > 1 and self._backend.multi_hop:
            return self._process_hops(hops)
        out = np.empty(n_hops * HOP_SAMPLES, dtype=np.float32)
        for i in range(n_hops):
            out[i * HOP_SAMPLES : (i + 1) * HOP_SAMPLES] = self._process_hop(hops[i])
        return out

    async def process_async(self, chunk: NDArray[np.floating]) -> Audio:
        """:meth:`process` for an asyncio caller: awaits the batch instead of blocking.

        Only for backends with ``awaitable`` set (batched ONNX streams); call
        it from the loop the scheduler should answer on, one call at a time
        per stream. The chunk is consumed when the call starts. Never cancel
        it: the hop stays in its batch and a next call would put a second hop
        of the same stream in flight. A caller that stops waiting (after a
        deadline, say) runs it as a task, shields it, and makes no further
        call until that task is done (as ``DenoiseTrack`` does).

        Raises:
            TypeError: the backend cannot be awaited.
            ValueError, RuntimeError: as :meth:`process`.
        """
        if not self._backend.awaitable:
            raise TypeError("this denoiser's backend cannot be awaited; use process()")
        hops = self._take(chunk)
        if not len(hops):
            return np.zeros(0, dtype=np.float32)
        self._apply_atten()
        t0 = time.perf_counter()
        y, snrs = await self._backend.process_hops_async(hops)
        self._telemetry(snrs, t0)
        return y.reshape(-1)

    def submit(self, chunk: NDArray[np.floating]) -> asyncio.Future[Audio]:
        """TEMP"""
        loop = asyncio.get_running_loop()
        if self._backend.awaitable:
            return asyncio.ensure_future(self.process_async(chunk))
        return loop.run_in_executor(None, self.process, chunk)

    def _take(self, chunk: NDArray[np.floating]) -> NDArray[np.float32]:
        """Sanitise ``chunk``, append it, and remove the complete hops: ``[k, HOP_SAMPLES]``."""
        if self._closed:
            raise RuntimeError("denoiser is closed")
        x = np.asarray(chunk, dtype=np.float32)
        if x.ndim != 1:
            raise ValueError("expected a mono (1-D) chunk")
        bad = ~np.isfinite(x)
        if bad.any():
            self.nonfinite_samples += int(bad.sum())
            x = np.where(bad, np.float32(0), x)
        buf = np.concatenate((self._pending, x)) if self._pending.size else x
        n = buf.size // HOP_SAMPLES * HOP_SAMPLES
        self._pending = buf[n:].copy()
        # A copy: the caller may reuse its buffer while the hops wait in a batch.
        return np.array(buf[:n], dtype=np.float32).reshape(-1, HOP_SAMPLES)

    def flush(self) -> Audio:
        """Drain the delay line: pad with zeros so every input sample has come out.

        Returns the remaining output; afterwards the total output length is at
        least the total input length plus ``latency_samples``.
        """
        needed = self._pending.size + self.latency_samples
        pad = (-needed) % HOP_SAMPLES
        return self.process(np.zeros(needed - self._pending.size + pad, dtype=np.float32))

    def _process_hop(self, hop: Audio) -> Audio:
        self._apply_atten()
        t0 = time.perf_counter()
        y, lsnr = self._backend.process_hop(hop)
        self.telemetry.append(FrameTelemetry(float(lsnr), (time.perf_counter() - t0) * 1e3))
        self.frames += 1
        return y

    def _process_hops(self, hops: NDArray[np.float32]) -> Audio:
        # The limit is applied once for the whole chunk (a change made while
        # the chunk is in flight applies to the next chunk).
        self._apply_atten()
        t0 = time.perf_counter()
        y, snrs = self._backend.process_hops(np.ascontiguousarray(hops))
        self._telemetry(snrs, t0)
        return y.reshape(-1)

    def _telemetry(self, snrs: list[float], t0: float) -> None:
        ms = (time.perf_counter() - t0) * 1e3 / max(1, len(snrs))
        self.telemetry.extend(FrameTelemetry(float(snr), ms) for snr in snrs)
        self.frames += len(snrs)

    def _apply_atten(self) -> None:
        lim = self._atten_lim_db
        if lim != self._applied_atten:
            self._backend.set_atten_lim(lim)
            self._applied_atten = lim

    def close(self) -> None:
        """Release the backend. Idempotent."""
        if not self._closed:
            self._closed = True
            self._backend.close()
