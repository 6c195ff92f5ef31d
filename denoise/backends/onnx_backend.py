"""DeepFilterNet 2/3 on ONNX Runtime, streamed one 10 ms hop at a time.

The loop follows upstream's ``libDF/src/tract.rs`` (the official runtime):

1. STFT analysis of the new hop, ERB and complex features (``onnx_dsp``).
2. Encoder on that frame -> embeddings and a local SNR estimate (lsnr).
3. Optional local-SNR gating (:class:`~.onnx_model.Gating`, upstream's
   ``apply_stages``); off by default like the shipped official runtime, so
   every frame gets the ERB mask and the deep filter.
4. ERB mask on the frame the encoder's lookahead points at; deep filter
   (``df_order`` complex taps over time, lowest ``nb_df`` bins) once the
   frames it reads exist; attenuation limit by mixing the noisy spectrum back;
   STFT synthesis.
5. After more than 5 hops with mean square below 1e-7 the official runtime
   outputs zeros without touching any state; so do we (``skip_silence``).

Per-stream state is a few numpy arrays (STFT memory, normalisations, conv and
GRU states, a short spectrum history): 60-90 KB (bench/onnx_speed.py).
"""

from __future__ import annotations

from collections import deque

import numpy as np

from ..base import Audio, FrameBackend, ModelLoadError
from ..constants import ATTEN_LIM_MAX_DB, HOP_SAMPLES
from ..loading import ModelSource
from .onnx_model import UPSTREAM_GATING, Gating, OnnxModel, StreamGraph, load_onnx_model

SILENCE_MEAN_SQUARE = 1e-7
SILENCE_HOPS = 5


def stages(gating: Gating | None, lsnr: float) -> tuple[bool, bool, bool]:
    """``(apply_mask, apply_zero_mask, apply_df)``; everything when ungated."""
    return (True, False, True) if gating is None else gating.stages(lsnr)


def atten_gain(db: float) -> float | None:
    """Linear share of the noisy signal mixed back, or None for no limit (100 dB)."""
    return None if db >= ATTEN_LIM_MAX_DB else float(10.0 ** (-abs(db) / 20.0))


class _GraphRunner:
    """Runs one shared streaming session with this stream's state tensors."""

    def __init__(self, graph: StreamGraph) -> None:
        self._sess = graph.session
        self._state_in = [s.input_name for s in graph.states]
        index = {name: i for i, name in enumerate(graph.outputs)}
        self._state_out = [index[s.output_name] for s in graph.states]
        self.states = [s.zeros() for s in graph.states]

    def run(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        feeds.update(zip(self._state_in, self.states, strict=True))
        outs = self._sess.run(None, feeds)
        self.states = [outs[i] for i in self._state_out]
        return outs


class OnnxBackend(FrameBackend):
    """One stream of a DeepFilterNet ONNX model. Not thread-safe (one caller at a time)."""

    def __init__(
        self,
        model: OnnxModel,
        atten_lim_db: float = ATTEN_LIM_MAX_DB,
        gating: Gating | None = None,
        skip_silence: bool = True,
    ) -> None:
        cfg = model.config
        self.model = model
        self.delay_samples = cfg.delay_samples
        self._dsp = cfg.dsp.new_state()
        self._enc = _GraphRunner(model.enc)
        self._erb = _GraphRunner(model.erb_dec)
        self._df = _GraphRunner(model.df_dec)
        self._enc_out = {n: i for i, n in enumerate(model.enc.outputs)}
        self._erb_inputs = ("emb", "e3", "e2", "e1", "e0")
        self._lim = atten_gain(atten_lim_db)
        self._gating = gating
        self._skip_silence = skip_silence
        self._skip = 0
        self._t = -1  # index of the newest analysed frame
        self._lag = cfg.lag_frames
        self._conv_la = cfg.conv_lookahead
        self._order = cfg.df_order
        self._df_back = cfg.df_order - 1 - cfg.df_lookahead  # taps before the centre frame
        self._nb_df = cfg.dsp.nb_df
        self._df_on_masked = cfg.df_on_masked
        # Ring buffers of noisy (x) and stage-1 (y) spectra, row = frame % depth.
        depth = self._lag + self._df_back + 1
        self._depth = depth
        self._x = np.zeros((depth, cfg.dsp.n_freqs), dtype=np.complex64)
        self._y = np.zeros_like(self._x)
        self._taps = np.arange(-self._df_back, cfg.df_lookahead + 1)
        # DF coefficients (None where DF is off) waiting for their frame: a
        # DeepFilterNet2 frame is output lag - conv_lookahead hops after its
        # coefficients exist (0 for DeepFilterNet3); the queue holds those in flight.
        self._coefs: deque[np.ndarray | None] = deque([None] * (self._lag - self._conv_la))
        self._zero_hop = np.zeros(HOP_SAMPLES, dtype=np.float32)

    def set_atten_lim(self, db: float) -> None:
        self._lim = atten_gain(db)

    def process_hop(self, hop: Audio) -> tuple[Audio, float]:
        """Denoise one hop; see the module docstring for the steps.

        Raises:
            ValueError: ``hop`` is not ``HOP_SAMPLES`` long.
        """
        if hop.shape != (HOP_SAMPLES,):
            raise ValueError(f"expected {HOP_SAMPLES} samples, got {hop.shape}")
        hop = np.asarray(hop, dtype=np.float32)
        if float(np.dot(hop, hop)) / HOP_SAMPLES < SILENCE_MEAN_SQUARE:
            self._skip += 1
        else:
            self._skip = 0
        if self._skip_silence and self._skip > SILENCE_HOPS:
            return self._zero_hop.copy(), -15.0

        t = self._t = self._t + 1
        d = self._depth
        spec = self._dsp.analysis(hop)
        self._x[t % d] = spec
        feat_erb, feat_spec = self._dsp.features(spec)
        enc = self._enc.run(
            {
                "feat_erb": feat_erb.reshape(1, 1, 1, -1),
                "feat_spec": feat_spec.reshape(1, 2, 1, -1),
            }
        )
        e = self._enc_out
        lsnr = float(enc[e["lsnr"]].reshape(-1)[0])
        use_mask, zero_mask, use_df = stages(self._gating, lsnr)

        # Stage 1: ERB mask for the frame the encoder's lookahead ends at.
        newest = t - self._conv_la
        if use_mask:
            m = self._erb.run({k: enc[e[k]] for k in self._erb_inputs})[0].reshape(-1)
            self._y[newest % d] = self._x[newest % d] * self.model.config.dsp.band_gains(m)
            self._skip = 0
        elif zero_mask:
            self._y[newest % d] = 0
            self._skip = 0
        else:
            self._y[newest % d] = self._x[newest % d]
            self._skip += 1
        coefs = None
        if use_df:
            raw = self._df.run({"emb": enc[e["emb"]], "c0": enc[e["c0"]]})[0]
            # [.., nb_df, order * 2] real/imag pairs -> complex [order, nb_df] without a copy.
            pairs = np.ascontiguousarray(raw, dtype=np.float32).reshape(self._nb_df, self._order, 2)
            coefs = pairs.view(np.complex64)[..., 0].T
        self._coefs.append(coefs)

        # Stage 2: deep filter and output for the frame whose taps are all known.
        out_frame = t - self._lag
        coefs = self._coefs.popleft()
        out = self._y[out_frame % d].copy()
        if coefs is not None:
            src = self._y if self._df_on_masked else self._x
            rows = (out_frame + self._taps) % d
            out[: self._nb_df] = np.einsum("kf,kf->f", coefs, src[rows, : self._nb_df])
        if self._lim is not None:
            out *= np.float32(1.0 - self._lim)
            out += np.float32(self._lim) * self._x[out_frame % d]
        return self._dsp.synthesis(out), lsnr


def create_onnx_backend(
    filename: str,
    sha256: str,
    atten_lim_db: float = ATTEN_LIM_MAX_DB,
    gating: Gating | None = None,
) -> OnnxBackend:
    """A new stream on the shared model ``filename`` (pinned by ``sha256``).

    Raises:
        ModelLoadError: the model cannot be loaded (see :func:`load_onnx_model`).
    """
    return OnnxBackend(load_onnx_model(filename, sha256), atten_lim_db, gating)


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
