"""Offline reference: the UNMODIFIED DeepFilterNet graphs over a whole utterance.

This is the yardstick for the streaming backend. It shares only the DSP
(``dsp``: STFT and running normalisations, which are recursive by nature)
and the gating thresholds; the networks run once over all frames with the
original sequence graphs, and the mask, deep filter, lookahead bookkeeping and
attenuation limit are vectorised over time instead of kept in ring buffers.

Decoders run only over the frames the local-SNR gate selects (a decoder the
streaming loop skips does not advance its state), which is exactly what a
causal graph over that subsequence computes.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ...constants import ATTEN_LIM_MAX_DB
from .backend import atten_gain, stages
from .model import Gating, OnnxModel

F32 = NDArray[np.float32]


def enhance_offline(
    model: OnnxModel,
    audio: NDArray[np.floating],
    atten_lim_db: float = ATTEN_LIM_MAX_DB,
    gating: Gating | None = None,
) -> F32:
    """Denoise ``audio`` (48 kHz mono) in one pass, delay removed.

    Returns an array as long as ``audio`` whose sample n is the enhanced input
    sample n; the streaming backend's output equals it shifted by
    ``delay_samples`` (hop-aligned input, no digital silence runs).

    Raises:
        ValueError: ``audio`` is not one-dimensional.
    """
    x = np.asarray(audio, dtype=np.float32)
    if x.ndim != 1:
        raise ValueError("expected mono audio")
    cfg = model.config
    dsp = cfg.dsp
    hop = dsp.hop_size
    lag, conv_la, nb_df = cfg.lag_frames, cfg.conv_lookahead, dsp.nb_df
    n_hops = -(-x.size // hop) + lag + 1  # enough trailing zeros to flush the lookahead
    padded = np.zeros(n_hops * hop, dtype=np.float32)
    padded[: x.size] = x

    state = dsp.new_state()
    spec = np.stack([state.analysis(padded[i * hop : (i + 1) * hop]) for i in range(n_hops)])
    feats = [state.features(s) for s in spec]
    feat_erb = np.stack([f[0] for f in feats])[None, None]  # [1, 1, T, E]
    feat_spec = np.stack([f[1] for f in feats], axis=1)[None]  # [1, 2, T, F']

    sess = model.offline_sessions()
    enc_names = [o.name for o in sess["enc"].get_outputs()]
    enc_out = sess["enc"].run(None, {"feat_erb": feat_erb, "feat_spec": feat_spec})
    enc = dict(zip(enc_names, enc_out, strict=True))
    lsnr = enc["lsnr"].reshape(-1)
    gates = np.array([stages(gating, float(v)) for v in lsnr], dtype=bool).reshape(-1, 3)
    use_mask, zero_mask, use_df = gates.T

    # Frame index f lives at row f + off, so frames before the start are zero rows.
    off = lag + cfg.df_order
    total = off + n_hops
    X = np.zeros((total, dsp.n_freqs), dtype=np.complex64)
    X[off:] = spec
    Y = np.zeros_like(X)
    js = np.arange(n_hops)  # encoder step j describes frame j - conv_lookahead
    rows = js - conv_la + off
    Y[rows] = X[rows]
    Y[rows[zero_mask]] = 0
    sel = np.flatnonzero(use_mask)
    if sel.size:
        m = sess["erb_dec"].run(
            None,
            {
                "emb": enc["emb"][:, sel],
                **{k: enc[k][:, :, sel] for k in ("e3", "e2", "e1", "e0")},
            },
        )[0][0, 0]  # [n_sel, E]
        Y[rows[sel]] = X[rows[sel]] * m[:, dsp.band_of_bin]

    coefs = np.zeros((total, cfg.df_order, nb_df), dtype=np.complex64)
    has_df = np.zeros(total, dtype=bool)
    sel = np.flatnonzero(use_df)
    if sel.size:
        raw = sess["df_dec"].run(None, {"emb": enc["emb"][:, sel], "c0": enc["c0"][:, :, sel]})[0]
        c = raw[0].reshape(sel.size, nb_df, cfg.df_order, 2)
        coefs[rows[sel]] = np.transpose(c[..., 0] + 1j * c[..., 1], (0, 2, 1))
        has_df[rows[sel]] = True

    # Output frames t - lag for every input step t, like the streaming loop.
    out_rows = js - lag + off
    out = Y[out_rows].copy()
    src = Y if cfg.df_on_masked else X
    back = cfg.df_order - 1 - cfg.df_lookahead
    taps = np.arange(-back, cfg.df_lookahead + 1)
    windows = src[out_rows[:, None] + taps[None, :], :nb_df]  # [T, order, F']
    filtered = np.einsum("tkf,tkf->tf", coefs[out_rows], windows)
    df_rows = has_df[out_rows]
    out[df_rows, :nb_df] = filtered[df_rows]
    lim = atten_gain(min(float(atten_lim_db), ATTEN_LIM_MAX_DB))
    if lim is not None:
        out = out * np.float32(1.0 - lim) + np.float32(lim) * X[out_rows]

    synth = dsp.new_state()
    y = np.concatenate([synth.synthesis(frame.astype(np.complex64)) for frame in out])
    return y[cfg.delay_samples : cfg.delay_samples + x.size]
