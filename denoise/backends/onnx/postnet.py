"""The steps after the networks, for T frames of N streams, and the state they carry.

:func:`advance` applies the ERB mask, the deep filter and the attenuation
limit and resynthesises T hops, for hop-by-hop (:meth:`.core.StreamCore.process_batch`,
T = 1) and multi-hop calls (:meth:`.core.StreamCore.process_span`) alike. A
:class:`History` holds the batch's stacked state for the length of one call:
stacked once, advanced over the frames, handed back to the streams once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .dsp import C64, F32
from .state import Layout, StreamState, rows_of, stack


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


FIELDS = ("ana", "mean_norm", "unit_norm", "xh", "yh", "syn", "cq", "cq_on")
"""The per-stream arrays of :class:`~.state.StreamState` that a batch call advances."""


@dataclass(eq=False)
class History:
    """A batch's stream state, stacked for one call (the network states excepted).

    ``ana``, ``mean_norm`` and ``unit_norm`` are the front end's memory, the rest
    the spectrum histories, synthesis memory and deep-filter queue that
    :func:`advance` moves on. A model without a queue has empty ``cq`` arrays.
    """

    ana: F32
    mean_norm: F32
    unit_norm: F32
    xh: C64
    yh: C64
    syn: F32
    cq: C64
    cq_on: NDArray[np.bool_]

    @classmethod
    def of(cls, states: Sequence[StreamState]) -> History:
        return cls(*(stack([getattr(s, name) for s in states]) for name in FIELDS))

    def store(self, states: Sequence[StreamState]) -> None:
        """Hand each stream views of the batch's new state (its row of every array)."""
        n = len(states)
        for name in FIELDS:
            for s, view in zip(states, rows_of(getattr(self, name), n), strict=True):
                setattr(s, name, view)


def advance(
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
    """Steps after the networks for T consecutive frames of N streams: output hops [N, T, hop].

    ``spec`` [N, T, n_freqs] are the new noisy frames. ``gains`` [len(mask_rows),
    T, n_freqs] are the ERB mask gains per bin of the rows ``mask_rows`` (each
    for the frame the encoder's lookahead ends at); ``zero_rows`` get a zero
    mask, the others none. ``coefs`` [N, T, order, nb_df] are each frame's
    deep-filter coefficients, ``on`` [N, T] where they apply; ``gain`` [N, 1]
    is the attenuation limit's share of the noisy signal (None: no limit).
    Advances ``hist`` by the T frames.

    Frame k of the batch sees the histories shifted k + 1 times, so every
    frame is a window into the old history followed by the new frames: the
    arithmetic of each frame is that of one hop at a time, without a loop.
    """
    n, t = spec.shape[:2]
    # Frame k's noisy history is xs[:, k + 1 : k + 1 + depth].
    xs = np.concatenate((hist.xh, spec), axis=1)

    # Stage 1: ERB mask for the frame the encoder's lookahead ends at.
    x_new = xs[:, lay.newest + 1 : lay.newest + 1 + t]
    if gains is not None and len(mask_rows) == n:
        y_new = x_new * gains
    else:
        y_new = x_new.copy()
        if zero_rows:
            y_new[zero_rows] = 0
        if gains is not None:
            y_new[mask_rows] = x_new[mask_rows] * gains
    ys = np.concatenate((hist.yh, y_new), axis=1)  # both histories index a frame alike

    # The deep-filter coefficients due at each frame (after those still queued).
    queued = np.concatenate((hist.cq, coefs), axis=1)
    queued_on = np.concatenate((hist.cq_on, on), axis=1)
    coefs, on = queued[:, :t], queued_on[:, :t]
    hist.cq, hist.cq_on = queued[:, t:], queued_on[:, t:]

    # Stage 2: deep filter and attenuation limit for the frames whose taps are known.
    shift = 1 + np.arange(t)  # frame k reads history row p at p + k + 1
    rows = lay.out_pos + shift
    out = ys[:, rows]  # a copy (fancy index)
    src = ys if lay.df_on_masked else xs
    nb = lay.nb_df
    if on.any():
        taps = src[:, shift[:, None] + lay.taps[None, :], :nb]  # [N, T, order, nb_df]
        filtered = np.einsum("ntkf,ntkf->ntf", coefs, taps)
        if on.all():
            out[:, :, :nb] = filtered
        else:
            out[:, :, :nb] = np.where(on[:, :, None], filtered, out[:, :, :nb])
    if gain is not None:
        g = gain[:, :, None]
        out *= np.float32(1.0) - g
        out += g * xs[:, rows]
    hops, hist.syn = lay.dsp.synthesis_span(out, hist.syn)
    hist.xh, hist.yh = xs[:, t:], ys[:, t:]
    return hops
