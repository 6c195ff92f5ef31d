"""The steps after the networks, for one frame of N streams, and the state they carry.

:func:`frame_step` applies the ERB mask, the deep filter and the attenuation
limit and resynthesises one hop, for hop-by-hop (:meth:`.core.StreamCore.process_batch`)
and multi-hop calls (:meth:`.core.StreamCore.process_span`) alike. A
:class:`History` holds the batch's stacked histories for the length of one call:
stacked once, advanced frame by frame, handed back to the streams once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .dsp import C64, F32
from .state import Layout, StreamState


def stack(arrays: Sequence[np.ndarray], axis: int = 0) -> np.ndarray:
    """The streams' arrays on one batch axis (no copy for one stream)."""
    return arrays[0] if len(arrays) == 1 else np.concatenate(arrays, axis=axis)


def rows_of(a: np.ndarray, n: int, axis: int = 0) -> list[np.ndarray]:
    """Per-stream views of a batched array (no copies)."""
    if n == 1:
        return [a]
    if axis == 0:
        return [a[i : i + 1] for i in range(n)]
    return [a[:, i : i + 1] for i in range(n)]


def complex_coefs(raw: np.ndarray, rows: int, nb_df: int) -> C64:
    """The DF decoder's output as complex coefficients [rows, order, nb_df].

    ``raw`` holds ``rows`` frames of [nb_df, order * 2] real/imag pairs.
    """
    pairs = np.ascontiguousarray(raw, dtype=np.float32).reshape(rows, nb_df, -1, 2)
    return np.ascontiguousarray(pairs.view(np.complex64)[..., 0].transpose(0, 2, 1))


def attenuation(states: Sequence[StreamState]) -> F32 | None:
    """Each row's share of the noisy signal mixed back ([N, 1]), or None if no stream limits."""
    if all(s.gain is None for s in states):
        return None
    return np.array([s.gain or 0.0 for s in states], dtype=np.float32)[:, None]


@dataclass(eq=False)
class History:
    """The spectrum histories and synthesis memory of a batch, stacked for one call."""

    xh: C64
    yh: C64
    syn: F32
    cq: C64 | None
    cq_on: NDArray[np.bool_] | None

    @classmethod
    def of(cls, states: Sequence[StreamState], queued: bool) -> History:
        return cls(
            xh=stack([s.xh for s in states]),
            yh=stack([s.yh for s in states]),
            syn=stack([s.syn for s in states]),
            cq=stack([s.cq for s in states]) if queued else None,
            cq_on=stack([s.cq_on for s in states]) if queued else None,
        )

    def store(
        self, states: Sequence[StreamState], ana: F32, mean_norm: F32, unit_norm: F32
    ) -> None:
        """Hand each stream views of the batch's new state (its row of every array)."""
        n = len(states)
        fields: list[tuple[str, np.ndarray | None]] = [
            ("ana", ana),
            ("syn", self.syn),
            ("mean_norm", mean_norm),
            ("unit_norm", unit_norm),
            ("xh", self.xh),
            ("yh", self.yh),
            ("cq", self.cq),
            ("cq_on", self.cq_on),
        ]
        for name, arr in fields:
            if arr is not None:
                for s, view in zip(states, rows_of(arr, n), strict=True):
                    setattr(s, name, view)


def frame_step(
    lay: Layout,
    hist: History,
    spec: C64,
    gains: F32 | None,
    mask_rows: list[int],
    zero_rows: list[int],
    coefs: C64,
    on: NDArray[np.bool_],
    gain: F32 | None,
) -> F32:
    """Steps after the networks for one frame of N streams: the output hops [N, hop].

    ``spec`` is the new noisy frame, ``gains`` the ERB mask gains per bin of
    the rows ``mask_rows`` (the frame the encoder's lookahead ends at),
    ``zero_rows`` get a zero mask, ``coefs``/``on`` the frame's deep-filter
    coefficients; ``gain`` the attenuation limit's share of the noisy signal
    per row (None: no limit). Advances ``hist``.
    """
    n = spec.shape[0]
    xh = np.concatenate((hist.xh[:, 1:], spec[:, None]), axis=1)

    # Stage 1: ERB mask for the frame the encoder's lookahead ends at.
    x_new = xh[:, lay.newest]
    y_new = x_new.copy() if len(mask_rows) < n else x_new
    if zero_rows:
        y_new[zero_rows] = 0
    if gains is not None:
        if len(mask_rows) == n:
            y_new = x_new * gains
        else:
            y_new[mask_rows] = x_new[mask_rows] * gains
    yh = np.concatenate((hist.yh[:, 1:], y_new[:, None]), axis=1)

    # The deep-filter coefficients due now.
    if hist.cq is not None and hist.cq_on is not None:
        cq = np.concatenate((hist.cq, coefs[:, None]), axis=1)
        cq_on = np.concatenate((hist.cq_on, on[:, None]), axis=1)
        coefs, on, hist.cq, hist.cq_on = cq[:, 0], cq_on[:, 0], cq[:, 1:], cq_on[:, 1:]

    # Stage 2: deep filter and attenuation limit for the frame whose taps are known.
    out = yh[:, lay.out_pos].copy()
    src = yh if lay.df_on_masked else xh
    nb = lay.nb_df
    if on.all():
        out[:, :nb] = np.einsum("nkf,nkf->nf", coefs, src[:, lay.taps, :nb])
    elif on.any():
        rows = np.flatnonzero(on)
        taps = src[rows][:, lay.taps, :nb]
        out[rows, :nb] = np.einsum("nkf,nkf->nf", coefs[rows], taps)
    if gain is not None:
        out *= np.float32(1.0) - gain
        out += gain * xh[:, lay.out_pos]
    hop_out, hist.syn = lay.dsp.synthesis_batch(out, hist.syn)
    hist.xh, hist.yh = xh, yh
    return hop_out
