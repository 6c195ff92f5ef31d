"""What the batched core and the lone-stream lane share: a model's layout, a stream's state.

:class:`Layout` holds the per-model constants of the streaming loop (derived once
from the export's config) and the single-frame sessions; :class:`StreamState`
holds one stream's memory. The batched engine (:mod:`.core`) and the lone-stream
fast path (:mod:`.lane`) both read these and nothing of each other: the core
creates a stream's lane and hands it the layout, the lane never sees the core.

Spectrum history is kept as a shift register: position ``p`` of a ``depth``-row
history holds frame ``t - depth + 1 + p`` (``t`` = newest input frame); the
masked history stops at the newest masked frame (``t - conv_la``), so both
histories index a frame the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from .dsp import C64, F32, DspSpec
from .model import Gating, OnnxModel, StreamGraph

States = list[np.ndarray]
"""One network's recurrent state tensors (conv histories and GRU hidden states)."""


@dataclass(frozen=True, eq=False)
class Layout:
    """Per-model constants of the streaming loop; read-only, shared by all streams.

    Frame bookkeeping (see the module docstring for the history layout):
    ``lag`` frames separate the newest input frame from the output frame;
    ``depth`` rows of noisy-spectrum history are kept; ``queue`` deep-filter
    coefficient sets are in flight; the output frame is history row ``out_pos``,
    its filter taps rows ``taps`` (``tap_slice``, the same rows); the newest
    frame the ERB mask can be applied to is row ``newest``.
    """

    dsp: DspSpec
    graphs: tuple[StreamGraph, StreamGraph, StreamGraph]
    """The single-frame sessions: (encoder, ERB decoder, DF decoder)."""
    lag: int
    conv_la: int
    order: int
    nb_df: int
    df_on_masked: bool
    depth: int
    queue: int
    out_pos: int
    taps: NDArray[np.intp]
    tap_slice: slice
    newest: int
    # float32 constants of the lone-stream path (lane), as the batch kernels use them.
    win_lo: F32
    win_hi: F32
    win_fft: F32
    alpha: np.float32
    beta: np.float32
    eps: np.float32
    ten: np.float32
    forty: np.float32

    @classmethod
    def of(cls, model: OnnxModel) -> Layout:
        """The layout of ``model`` (its config and single-frame sessions)."""
        cfg, d = model.config, model.config.dsp
        lag = cfg.lag_frames
        df_back = cfg.df_order - 1 - cfg.df_lookahead  # taps before the centre frame
        depth = lag + df_back + 1
        out_pos = depth - 1 - lag
        alpha = np.float32(d.alpha)
        return cls(
            dsp=d,
            graphs=(model.enc, model.erb_dec, model.df_dec),
            lag=lag,
            conv_la=cfg.conv_lookahead,
            order=cfg.df_order,
            nb_df=d.nb_df,
            df_on_masked=cfg.df_on_masked,
            depth=depth,
            queue=lag - cfg.conv_lookahead,
            out_pos=out_pos,
            taps=out_pos + np.arange(-df_back, cfg.df_lookahead + 1),
            tap_slice=slice(out_pos - df_back, out_pos + cfg.df_lookahead + 1),
            newest=depth - 1 - cfg.conv_lookahead,
            win_lo=d.window[: d.hop_size],
            win_hi=d.window[d.hop_size :],
            win_fft=d.window * np.float32(d.fft_size),
            alpha=alpha,
            beta=np.float32(1.0) - alpha,
            eps=np.float32(1e-10),
            ten=np.float32(10.0),
            forty=np.float32(40.0),
        )


class LonePath(Protocol):
    """A stream's lone-hop workspace (:class:`.lane.Lane`), kept in its state."""

    def hop(self, st: StreamState, hop: F32) -> tuple[F32, float]:
        """Advance ``st`` by one hop; returns (output hop, lsnr)."""
        ...


@dataclass(eq=False)
class StreamState:
    """One stream's memory (60-110 KB). Owned by one backend; the core replaces arrays.

    Every array has the stream on its batch axis (size 1). ``gain`` is the share
    of the noisy signal mixed back (attenuation limit, None = no limit);
    ``gating`` selects stages by local SNR (None = all); ``skip`` is upstream's
    silence counter (kept by the backend and the core); ``lane`` is the
    lone-stream workspace, made on the stream's first lone hop.
    """

    ana: F32
    syn: F32
    mean_norm: F32
    unit_norm: F32
    enc: States
    erb: States
    df: States
    xh: C64  # noisy spectra, [1, depth, n_freqs]
    yh: C64  # ERB-masked spectra, [1, depth - conv_la, n_freqs]
    cq: C64  # DF coefficients in flight, [1, queue, order, nb_df]
    cq_on: NDArray[np.bool_]  # which of those apply (False where DF was skipped)
    gain: float | None
    gating: Gating | None
    skip: int = 0
    lane: LonePath | None = None


def stack(arrays: Sequence[np.ndarray], axis: int = 0) -> np.ndarray:
    """Streams' arrays on one batch axis (no copy for one stream)."""
    return arrays[0] if len(arrays) == 1 else np.concatenate(arrays, axis=axis)


def rows_of(a: np.ndarray, n: int, axis: int = 0) -> list[np.ndarray]:
    """Per-stream views of a batched array (no copies)."""
    if n == 1:
        return [a]
    if axis == 0:
        return [a[i : i + 1] for i in range(n)]
    return [a[:, i : i + 1] for i in range(n)]
