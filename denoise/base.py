"""The streaming denoiser contract.

A *backend* (:class:`FrameBackend`) owns one stream's model state and processes
exactly one hop (:data:`~denoise.constants.HOP_SAMPLES` float32 samples at 48 kHz)
at a time. :class:`Denoiser` wraps a backend so callers can feed chunks of any
length; it sanitises input, applies attenuation-limit changes on the next frame
and counts the hops it processed.

Threading: a ``Denoiser`` serves one caller at a time (its ``process``,
``process_async`` and ``flush`` calls never overlap). There are two ways in:

* :meth:`Denoiser.process` computes on, or blocks, the calling thread (file
  denoising, tests, benches);
* :meth:`Denoiser.process_async` (or :meth:`Denoiser.submit`, its future) is
  awaited from an asyncio loop, for every
  backend, and the loop never computes: a ``batched`` backend's hops run on
  its :class:`~denoise.batching.BatchScheduler`'s workers, any other backend
  runs them on a worker thread of its own (:meth:`FrameBackend.submit_hops`),
  except the identity backend, which copies them inline.

A backend that starts a thread owns it: the thread starts on first use and
:meth:`FrameBackend.close` stops it. ``set_atten_lim`` may be called from any
thread; it takes effect before the next hop (``process`` on an unbatched
backend) or before the next chunk (``process_async``, and ``process`` on a
batched backend).
"""

from __future__ import annotations

import abc
import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numpy.typing import NDArray

from .constants import ATTEN_LIM_MAX_DB, ATTEN_LIM_MIN_DB, HOP_SAMPLES, INPUT_PEAK_LIMIT

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


_WORKER_LOCK = threading.RLock()
"""Guards starting and stopping backends' own worker threads (rare: once per stream).
Re-entrant: a backend's ``__del__`` may close it from a garbage collection that
runs while this thread holds the lock for another backend."""


class FrameBackend(abc.ABC):
    """One stream's model state. Not thread-safe: one caller at a time.

    Contract: ``process_hop`` takes exactly ``HOP_SAMPLES`` finite float32
    samples and returns ``HOP_SAMPLES`` output samples plus the model's local SNR
    estimate in dB (``nan`` if the backend has none). The output stream is the
    input stream delayed by ``delay_samples``.

    Executor ownership: the default :meth:`submit_hops` runs
    :meth:`process_hops` on this backend's own single worker thread, started on
    first use; :meth:`close` stops it. A subclass that overrides ``close`` calls
    ``super().close()``.
    """

    delay_samples: int = 0
    batched: bool = False
    """True if hops are computed in a shared BatchScheduler: a whole chunk's hops
    are handed over at once (``Denoiser.process`` passes them to
    :meth:`process_hops`, which blocks until their batch ran) and
    :meth:`submit_hops` returns the batch's future without a thread of its own."""

    _worker: ThreadPoolExecutor | None = None
    _worker_closed: bool = False

    @abc.abstractmethod
    def process_hop(self, hop: Audio) -> tuple[Audio, float]:
        """Denoise one hop; returns (output hop, local SNR in dB)."""

    def process_hops(self, hops: NDArray[np.float32]) -> tuple[Audio, list[float]]:
        """Denoise consecutive hops (``[k, HOP_SAMPLES]``); returns (outputs, local SNRs)."""
        pairs = [self.process_hop(np.ascontiguousarray(h)) for h in hops]
        out = np.stack([y for y, _ in pairs]) if pairs else np.zeros_like(hops)
        return out, [snr for _, snr in pairs]

    def submit_hops(self, hops: NDArray[np.float32]) -> asyncio.Future[tuple[Audio, list[float]]]:
        """Start :meth:`process_hops` off the running loop; returns that loop's future of it.

        Default: runs on this backend's own worker thread (one per backend,
        started on the first call, stopped by :meth:`close`). Batched backends
        override it to hand the hops to their scheduler. A future, not a
        coroutine, so a live stream awaits its hops without a task per frame.
        One call at a time; never cancel the future (the hops are computed anyway).

        Raises:
            RuntimeError: the backend was closed (raised here, not through the future).
        """
        worker = self._own_worker()
        return asyncio.get_running_loop().run_in_executor(worker, self.process_hops, hops)

    @abc.abstractmethod
    def set_atten_lim(self, db: float) -> None:
        """Limit the noise attenuation to ``db`` (already validated, 100 = none)."""

    def close(self) -> None:
        """Release resources; here: stop the worker thread if one was started. Idempotent.

        Waits for a hop the thread is running (not when called on that thread).
        A later :meth:`submit_hops` raises RuntimeError.
        """
        with _WORKER_LOCK:
            worker, self._worker = self._worker, None
            self._worker_closed = True
        if worker is not None:
            # On the worker itself (a last reference dropped there), a join would deadlock.
            here = threading.current_thread().name.startswith(self._worker_prefix())
            worker.shutdown(wait=not here)

    def _own_worker(self) -> ThreadPoolExecutor:
        with _WORKER_LOCK:
            if self._worker_closed:
                raise RuntimeError("backend is closed")
            if self._worker is None:
                self._worker = ThreadPoolExecutor(1, thread_name_prefix=self._worker_prefix())
            return self._worker

    def _worker_prefix(self) -> str:
        return f"denoise-{type(self).__name__}-{id(self):x}"


class Denoiser:
    """Streaming front end over a :class:`FrameBackend`.

    Feed float32 mono chunks of any length; ``process`` returns the output for
    every complete hop so far (a multiple of ``HOP_SAMPLES``). The concatenated
    output equals the concatenated input delayed by ``latency_samples``.
    """

    def __init__(self, backend: FrameBackend, atten_lim_db: float = ATTEN_LIM_MAX_DB) -> None:
        self._backend = backend
        self._pending: Audio = np.zeros(0, dtype=np.float32)
        self._atten_lim_db = check_atten_lim(atten_lim_db)
        self._applied_atten: float | None = None
        self._closed = False
        self.frames = 0
        """Hops processed so far."""
        self.nonfinite_samples = 0

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
        """Consume ``chunk`` (1-D) and return output for all complete hops. Blocking.

        Computes on the calling thread, or, for a ``batched`` backend, blocks it
        until the chunk's batch ran (so do not call it from an event loop; use
        :meth:`process_async` there). Non-finite samples are replaced by 0 and
        counted in ``nonfinite_samples``; finite ones beyond
        :data:`INPUT_PEAK_LIMIT` are clipped to it.

        Raises:
            ValueError: ``chunk`` is not one-dimensional.
            RuntimeError: the denoiser was closed.
        """
        hops = self._take(chunk)
        n_hops = len(hops)
        if n_hops > 1 and self._backend.batched:
            return self._process_hops(hops)
        out = np.empty(n_hops * HOP_SAMPLES, dtype=np.float32)
        for i in range(n_hops):
            out[i * HOP_SAMPLES : (i + 1) * HOP_SAMPLES] = self._process_hop(hops[i])
        return out

    async def process_async(self, chunk: NDArray[np.floating]) -> Audio:
        """:meth:`process` for an asyncio caller, for every backend; the loop does not compute.

        The backend decides where the hops run: a ``batched`` one awaits its
        BatchScheduler (no thread per stream), others their own worker thread,
        the identity backend inline. The output equals :meth:`process`'s for the
        same input (a batched ONNX stream that shares its batches with other
        streams: within float rounding, ~1e-7).

        Contract:

        * One call at a time per stream: the previous ``process_async``,
          ``process`` or ``flush`` has finished before the next one starts.
        * The chunk is consumed when the call is made: its complete hops are
          copied and handed over, the rest waits in the denoiser for the next
          chunk; the caller may reuse its buffer at once.
        * Never cancel it: the hops are computed anyway (already in a batch or
          on the worker thread), so a next call could put a second chunk of the
          same stream in flight, and the cancelled chunk's output is lost. A
          caller that stops waiting (after a deadline, say) uses :meth:`submit`,
          keeps the future, and makes no further call until it is done (as
          ``streams.webrtc.source.LiveSource`` does).
        * The attenuation limit is applied once, before the chunk's hops.
        * For a batched backend, the result arrives on the loop that made the call.

        Raises:
            ValueError: ``chunk`` is not one-dimensional.
            RuntimeError: the denoiser was closed.
            Exception: whatever the backend raised computing the hops.
        """
        return await self.submit(chunk)

    def submit(self, chunk: NDArray[np.floating]) -> asyncio.Future[Audio]:
        """:meth:`process_async` as a future of the running loop (no task is created).

        Same contract; errors of the call itself (closed, not 1-D) are raised
        here, errors of the computation through the future.
        """
        hops = self._take(chunk)
        loop = asyncio.get_running_loop()
        out: asyncio.Future[Audio] = loop.create_future()
        if not len(hops):
            out.set_result(np.zeros(0, dtype=np.float32))
            return out
        self._apply_atten()

        def finish(inner: asyncio.Future[tuple[Audio, list[float]]]) -> None:
            exc = None if inner.cancelled() else inner.exception()  # always retrieved
            if out.done():  # nobody waits any more
                return
            if inner.cancelled():
                out.cancel()
            elif exc is not None:
                out.set_exception(exc)
            else:
                y, snrs = inner.result()
                self.frames += len(snrs)
                out.set_result(y.reshape(-1))

        self._backend.submit_hops(hops).add_done_callback(finish)
        return out

    def _take(self, chunk: NDArray[np.floating]) -> NDArray[np.float32]:
        """Sanitise ``chunk``, append it, and remove the complete hops: ``[k, HOP_SAMPLES]``.

        Sanitising: NaN/inf become 0 and are counted in ``nonfinite_samples``; then
        every sample is clipped to +-:data:`INPUT_PEAK_LIMIT`, so no backend sees a
        sample its arithmetic cannot square. Finite float32 samples are never zeroed or
        counted, however large, and no floating-point warning is emitted for them (wider
        input beyond float32's range becomes inf in the conversion, and counts as such).

        Raises:
            RuntimeError: the denoiser was closed.
            ValueError: ``chunk`` is not one-dimensional.
        """
        if self._closed:
            raise RuntimeError("denoiser is closed")
        x = np.asarray(chunk, dtype=np.float32)
        if x.ndim != 1:
            raise ValueError("expected a mono (1-D) chunk")
        # One new array, sanitised in place: ``x`` may be the caller's buffer, which it may
        # reuse while the hops wait in a batch.
        buf = np.concatenate((self._pending, x))
        # Only ``x`` is checked: the pending tail was sanitised by the previous call. One
        # mask and a count, the cheapest exact test for a live packet. A float reduction
        # (``isfinite(x.sum())``) would raise numpy's overflow/invalid warnings on corrupt
        # input (inf + -inf, huge finite samples); silencing them costs more than the mask.
        finite = np.isfinite(x)
        n_bad = x.size - int(np.count_nonzero(finite))
        if n_bad:
            self.nonfinite_samples += n_bad
            buf[self._pending.size :][~finite] = 0
        np.clip(buf, -INPUT_PEAK_LIMIT, INPUT_PEAK_LIMIT, out=buf)
        n = buf.size // HOP_SAMPLES * HOP_SAMPLES
        self._pending = buf[n:].copy()
        return buf[:n].reshape(-1, HOP_SAMPLES)

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
        y, _lsnr = self._backend.process_hop(hop)
        self.frames += 1
        return y

    def _process_hops(self, hops: NDArray[np.float32]) -> Audio:
        # The limit is applied once for the whole chunk (a change made while
        # the chunk is in flight applies to the next chunk).
        self._apply_atten()
        y, snrs = self._backend.process_hops(np.ascontiguousarray(hops))
        self.frames += len(snrs)
        return y.reshape(-1)

    def _apply_atten(self) -> None:
        lim = self._atten_lim_db
        if lim != self._applied_atten:
            self._backend.set_atten_lim(lim)
            self._applied_atten = lim

    def close(self) -> None:
        """Release the backend, and the worker thread it may own. Idempotent.

        May wait for a hop in flight on that thread, so call it off the event loop.
        """
        if not self._closed:
            self._closed = True
            self._backend.close()
