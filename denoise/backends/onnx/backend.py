"""DeepFilterNet 2/3 on ONNX Runtime, streamed one 10 ms hop at a time.

The loop follows upstream's ``libDF/src/tract.rs`` (the official runtime):

1. STFT analysis of the new hop, ERB and complex features (``dsp``).
2. Encoder on that frame -> embeddings and a local SNR estimate (lsnr).
3. Optional local-SNR gating (:class:`~.model.Gating`, upstream's
   ``apply_stages``); off by default like the shipped official runtime, so
   every frame gets the ERB mask and the deep filter.
4. ERB mask on the frame the encoder's lookahead points at; deep filter
   (``df_order`` complex taps over time, lowest ``nb_df`` bins) once the
   frames it reads exist; attenuation limit by mixing the noisy spectrum back;
   STFT synthesis.
5. After more than 5 hops with mean square below 1e-7 the official runtime
   outputs zeros without touching any state; so do we (``skip_silence``).

Per-stream state is a few numpy arrays (STFT memory, normalisations, conv and
GRU states, a short spectrum history): 60-110 KB (bench/onnx_speed.py). The
arithmetic lives in :mod:`.core`, vectorised over a batch of streams;
this module is the per-stream front end (silence skip, scheduler hand-off).
"""

from __future__ import annotations

import asyncio
import threading
import weakref

import numpy as np
from numpy.typing import NDArray

from ...base import Audio, FrameBackend, ModelLoadError
from ...batching import BatchScheduler
from ...constants import ATTEN_LIM_MAX_DB, HOP_SAMPLES
from ...sources import ModelSource
from .core import SILENCE_HOPS, SILENCE_LSNR, Item, StreamCore, core_for, silent_skip
from .model import UPSTREAM_GATING, Gating, OnnxModel, load_onnx_model


def stages(gating: Gating | None, lsnr: float) -> tuple[bool, bool, bool]:
    """``(apply_mask, apply_zero_mask, apply_df)``; everything when ungated."""
    return (True, False, True) if gating is None else gating.stages(lsnr)


def atten_gain(db: float) -> float | None:
    """Linear share of the noisy signal mixed back, or None for no limit (100 dB)."""
    return None if db >= ATTEN_LIM_MAX_DB else float(10.0 ** (-abs(db) / 20.0))


class _Registration:
    """A batched stream's place among its scheduler's registered streams.

    Kept apart from the backend so that the backend's finalizer can hold it without
    keeping the backend alive. Thread-safe.
    """

    def __init__(self, scheduler: BatchScheduler) -> None:
        self._scheduler = scheduler
        self._counted = False
        self._closed = False
        self._lock = threading.Lock()

    def count(self, on: bool) -> None:
        """Register (``on``) or unregister the stream; no-op if already so, or if closed."""
        # close() may run on another thread while a hop's result arrives; a closed
        # stream must never register again (the scheduler would wait for it).
        with self._lock:
            if on == self._counted or (on and self._closed):
                return
            self._counted = on
            (self._scheduler.register if on else self._scheduler.unregister)()

    def close(self) -> None:
        """Unregister for good. Idempotent."""
        with self._lock:
            self._closed = True
        self.count(False)


def _close_collected(registration: _Registration) -> None:
    """(Finalizer of a backend collected unclosed.) Unregister on a thread of its own.

    The collector may run on any thread at any allocation, also on one that holds the
    scheduler's lock at that moment (a worker slicing its queue, the loop handing over
    a batch): unregistering right there would wait on that lock for ever. A thread of
    its own waits for the lock like any caller.
    """
    threading.Thread(target=registration.close, name="denoise-unregister", daemon=True).start()


class OnnxBackend(FrameBackend):
    """One stream of a DeepFilterNet ONNX model. Not thread-safe (one caller at a time).

    Without ``scheduler`` each hop runs on the caller's thread (a batch of
    one; an asyncio caller's on the stream's own worker thread). With a
    :class:`~denoise.batching.BatchScheduler` (``batched``) a chunk's hops are
    submitted to it at once and may run together with other streams' hops, on
    whichever thread leads that batch; the output is the same up to float
    rounding (~1e-7).

    A batched backend is counted among its scheduler's streams until :meth:`close`;
    one that is dropped unclosed leaves when it is garbage collected (a safety net: a
    stream counted for ever would make every batch wait the scheduler's ``max_wait_ms``).
    """

    def __init__(
        self,
        model: OnnxModel,
        atten_lim_db: float = ATTEN_LIM_MAX_DB,
        gating: Gating | None = None,
        skip_silence: bool = True,
        scheduler: BatchScheduler | None = None,
    ) -> None:
        self.model = model
        self.delay_samples = model.config.delay_samples
        self._core: StreamCore = core_for(model)
        self.state = self._core.new_state(atten_gain(atten_lim_db), gating)
        self._skip_silence = skip_silence
        self._zero_hop = np.zeros(HOP_SAMPLES, dtype=np.float32)
        self._scheduler = scheduler
        self.batched = scheduler is not None
        self._closed = False
        self._registration: _Registration | None = None
        self._release: weakref.finalize | None = None
        if scheduler is not None:
            self._core.prepare_batch()
            self._registration = _Registration(scheduler)
            # Closes the registration (held, not self: that would keep self alive) when
            # the backend is collected unclosed; close() detaches it and closes it itself.
            self._release = weakref.finalize(self, _close_collected, self._registration)
            self._count(True)

    def _count(self, on: bool) -> None:
        if self._registration is not None:
            self._registration.count(on)

    def set_atten_lim(self, db: float) -> None:
        self.state.gain = atten_gain(db)

    def process_hop(self, hop: Audio) -> tuple[Audio, float]:
        """Denoise one hop; see the module docstring for the steps.

        Raises:
            ValueError: ``hop`` is not ``HOP_SAMPLES`` long.
            RuntimeError: the backend was closed (batched streams only).
        """
        if hop.shape != (HOP_SAMPLES,):
            raise ValueError(f"expected {HOP_SAMPLES} samples, got {hop.shape}")
        hop = np.asarray(hop, dtype=np.float32)
        if self._scheduler is not None:
            y, lsnr = self.process_hops(hop[None])
            return y[0], lsnr[0]
        st = self.state
        if not silent_skip(st, hop, self._skip_silence):
            return self._core.process_one(st, hop)
        return self._zero_hop.copy(), SILENCE_LSNR

    def process_hops(self, hops: NDArray[np.float32]) -> tuple[Audio, list[float]]:
        """Denoise consecutive hops ``[k, HOP_SAMPLES]``; batched streams submit them at once.

        Raises:
            RuntimeError: the backend was closed (batched streams only).
        """
        if self._scheduler is None:
            return super().process_hops(hops)
        y, lsnr = self._scheduler.submit(self._core, self._item(hops))
        self._after_batch()
        return y, lsnr

    def submit_hops(self, hops: NDArray[np.float32]) -> asyncio.Future[tuple[Audio, list[float]]]:
        """:meth:`process_hops` as a future of the running loop.

        A batched stream's hops go into its scheduler's next batch (the result
        arrives on this loop); an unbatched one runs on its own worker thread
        (the base class default).

        Raises:
            RuntimeError: the backend was closed.
        """
        if self._scheduler is None:
            return super().submit_hops(hops)
        fut: asyncio.Future[tuple[Audio, list[float]]] = self._scheduler.submit_async(
            self._core, self._item(hops)
        )
        fut.add_done_callback(self._after_batch_done)  # runs before the caller's callbacks
        return fut

    def _item(self, hops: NDArray[np.float32]) -> Item:
        if self._closed:
            raise RuntimeError("backend is closed")
        self._count(True)
        return (self.state, np.asarray(hops, dtype=np.float32), self._skip_silence)

    def _after_batch_done(self, _fut: asyncio.Future[tuple[Audio, list[float]]]) -> None:
        self._after_batch()

    def _after_batch(self) -> None:
        # A stream that went quiet must not hold up the others' batches.
        self._count(not (self._skip_silence and self.state.skip > SILENCE_HOPS))

    def close(self) -> None:
        """Leave the scheduler (a hop already submitted still completes) and stop the
        worker thread of an unbatched stream, if started. Idempotent."""
        self._closed = True
        if self._release is not None:
            self._release.detach()
        if self._registration is not None:
            self._registration.close()  # here and now: the caller may count on it
        super().close()


class OnnxLoadedModel:
    """Registry loader (``loading.KINDS["onnx"]``): one shared model, many streams.

    ``source.options["gating"]`` may be ``"upstream"`` to enable tract.rs's
    local-SNR gating; the default applies every stage to every frame.

    Raises (constructor):
        ModelLoadError: no file/hash, load failure, unknown option, or a
            registered latency that differs from the model's real delay.
    """

    def __init__(self, source: ModelSource) -> None:
        if source.path is None or not source.sha256:
            raise ModelLoadError("ONNX model has no registered file and hash; refusing to load")
        self.model = load_onnx_model(source.path, source.sha256)
        gating = source.options.get("gating")
        if gating not in (None, "upstream"):
            raise ModelLoadError(f"unknown gating option {gating!r}")
        self._gating = UPSTREAM_GATING if gating == "upstream" else None
        delay = self.model.config.delay_samples
        if source.latency_samples != delay:
            raise ModelLoadError(
                f"registered latency {source.latency_samples} != model delay {delay} samples"
            )

    def new_backend(self) -> OnnxBackend:
        """A fresh stream (a few numpy arrays; the sessions are shared)."""
        return OnnxBackend(self.model, gating=self._gating)

    def new_batched_backend(self, scheduler: BatchScheduler) -> OnnxBackend:
        """A fresh stream whose hops go through ``scheduler`` (see :mod:`denoise.batching`)."""
        return OnnxBackend(self.model, gating=self._gating, scheduler=scheduler)
