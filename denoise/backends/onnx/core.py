"""One 10 ms hop of N DeepFilterNet streams at once (N >= 1), vectorised.

:class:`StreamCore` is what every stream of one model shares (its
:class:`~.state.Layout`, the batch sessions); a :class:`~.state.StreamState`
holds one stream's memory, every array with the stream on its batch axis
(size 1). :meth:`StreamCore.process` stacks the states of the streams in a
batch, runs the DSP in numpy over all rows and each network once (the
symbolic-batch sessions of :meth:`~.model.OnnxModel.batch_graphs`), then hands
each stream views of the results as its new state. A batch of one takes the
lone-stream fast path of :mod:`.lane` instead (same arithmetic, bit-identical
output). Rows never mix: the result for a stream does not depend on what else
is in its batch (up to float rounding of the batched kernels, ~1e-7).

A stream's 20 ms packet is two hops. :meth:`StreamCore.process_span` advances
every stream of a batch by all its hops in one run of each network (the batch
graphs' frame axis is symbolic too), and the steps after the networks (mask,
deep filter, synthesis) run over those frames at once (:mod:`.postnet`): in
batches of 2-8 streams a hop costs 20-30 % less than with one run per hop
(``bench/span_speed.py``).

The loop follows upstream's ``libDF/src/tract.rs``; see :mod:`.backend` for
the steps and :mod:`.state` for the history layout.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from .dsp import C64, F32, MEAN_NORM_INIT, UNIT_NORM_INIT
from .lane import Lane
from .model import Gating, OnnxModel, StreamGraph
from .postnet import History, advance, attenuation, complex_coefs
from .state import Layout, States, StreamState, rows_of, stack

Item = tuple[StreamState, F32, bool]
"""A batch item: a stream's state, its next hops ([k, hop_size] float32) and
whether upstream's silence skip is on for it."""

SILENCE_MEAN_SQUARE = 1e-7
SILENCE_HOPS = 5
SILENCE_LSNR = -15.0
"""The local SNR reported for a skipped silent hop (as upstream)."""


def silent_skip(state: StreamState, hop: F32, enabled: bool) -> bool:
    """Upstream's silence counter: True if this hop is skipped (zeros out, state untouched).

    After more than ``SILENCE_HOPS`` hops with mean square below
    ``SILENCE_MEAN_SQUARE`` the official runtime outputs zeros.
    """
    state.skip = state.skip + 1 if _silent(hop) else 0
    return enabled and state.skip > SILENCE_HOPS


def would_skip(state: StreamState, hop: F32, enabled: bool) -> bool:
    """What :func:`silent_skip` would answer for ``hop``, without counting it."""
    return enabled and state.skip + 1 > SILENCE_HOPS and _silent(hop)


def _silent(hop: F32) -> bool:
    return float(np.dot(hop, hop)) / hop.size < SILENCE_MEAN_SQUARE


class StreamCore:
    """Batched streaming engine of one model; shared by all its streams, thread-safe.

    Implements the ``BatchRunner`` protocol of :mod:`denoise.batching`
    (:meth:`run_batch`).
    """

    def __init__(self, model: OnnxModel) -> None:
        self.model = model
        self.layout = Layout.of(model)
        self._batch: tuple[StreamGraph, StreamGraph, StreamGraph] | None = None
        self.use_lanes = True  # False: batches of one take the general path (tests)
        self.use_spans = True  # False: several hops of a stream go one core call each (tests)
        self._erb_inputs = ("emb", "e3", "e2", "e1", "e0")
        single = self.layout.graphs
        # The decoders' results are their first outputs (names differ between exports).
        self._first = tuple(g.outputs[0] for g in single)
        self._state_in = [[st.input_name for st in g.states] for g in single]
        self._state_out = [[g.outputs.index(st.output_name) for st in g.states] for g in single]

    def prepare_batch(self) -> None:
        """Build the batch sessions now (~0.3 s once per model) instead of on first use."""
        if self._batch is None:
            self._batch = self.model.batch_graphs()

    def new_state(self, gain: float | None = None, gating: Gating | None = None) -> StreamState:
        """A fresh stream, as after ``DFState::new`` + zeroed network states."""
        lay = self.layout
        d, f = lay.dsp, lay.dsp.n_freqs
        hold = d.fft_size - d.hop_size
        enc, erb, df = lay.graphs
        return StreamState(
            ana=np.zeros((1, hold), np.float32),
            syn=np.zeros((1, hold), np.float32),
            mean_norm=np.linspace(*MEAN_NORM_INIT, d.nb_erb, dtype=np.float32)[None],
            unit_norm=np.linspace(*UNIT_NORM_INIT, d.nb_df, dtype=np.float32)[None],
            enc=[s.zeros() for s in enc.states],
            erb=[s.zeros() for s in erb.states],
            df=[s.zeros() for s in df.states],
            xh=np.zeros((1, lay.depth, f), np.complex64),
            yh=np.zeros((1, lay.depth - lay.conv_la, f), np.complex64),
            cq=np.zeros((1, lay.queue, lay.order, lay.nb_df), np.complex64),
            cq_on=np.zeros((1, lay.queue), np.bool_),
            gain=gain,
            gating=gating,
        )

    def run_batch(self, items: Sequence[Item]) -> list[tuple[F32, list[float]]]:
        """``BatchRunner`` entry point: each item's hops, in order, batched across items.

        Items of several hops whose first hop is processed (not skipped as
        silence) and that use no gating advance in one :meth:`process_span`
        per hop count, if at least two share it (a lone stream's lane costs
        what a span of one does, and is bit-identical to unbatched streams).
        The others go hop by hop: hop j of every such item runs in the j-th
        core call; a hop the silence rule skips gives zeros without touching
        that stream's state.
        """
        results: list[tuple[F32, list[float]] | None] = [None] * len(items)
        spans: dict[int, list[int]] = {}
        rest: list[int] = []
        for i, (state, hops, skip) in enumerate(items):
            spannable = self.use_spans and len(hops) > 1 and state.gating is None
            if spannable and not would_skip(state, hops[0], skip):
                spans.setdefault(len(hops), []).append(i)
            else:
                rest.append(i)
        for k, rows in list(spans.items()):
            if len(rows) == 1 and self.use_lanes:  # the lane: as fast, bit-identical
                rest.extend(spans.pop(k))
        for rows in spans.values():
            y, lsnr = self.process_span(
                [items[i][0] for i in rows], np.stack([items[i][1] for i in rows])
            )
            for r, i in enumerate(rows):
                results[i] = (y[r], lsnr[r].tolist())
        if rest:
            rest.sort()
            for i, result in zip(rest, self._hop_by_hop([items[i] for i in rest]), strict=True):
                results[i] = result
        return [r for r in results if r is not None]

    def _hop_by_hop(self, items: Sequence[Item]) -> list[tuple[F32, list[float]]]:
        outs = [np.zeros_like(hops) for _, hops, _ in items]
        snrs = [[SILENCE_LSNR] * len(hops) for _, hops, _ in items]
        for j in range(max(len(hops) for _, hops, _ in items)):
            rows = [
                i
                for i, (state, hops, skip) in enumerate(items)
                if j < len(hops) and not silent_skip(state, hops[j], skip)
            ]
            if not rows:
                continue
            y, lsnr = self.process(
                [items[i][0] for i in rows], stack([items[i][1][j : j + 1] for i in rows])
            )
            for r, i in enumerate(rows):
                outs[i][j] = y[r]
                snrs[i][j] = float(lsnr[r])
        return list(zip(outs, snrs, strict=True))

    def _net(
        self, which: int, feeds: dict[str, np.ndarray], members: list[States], span: bool = False
    ) -> dict[str, np.ndarray]:
        """Run network ``which`` (0 enc, 1 erb_dec, 2 df_dec) for ``members``' states.

        ``span``: the feeds hold several frames (only the batch graphs take that).
        """
        n = len(members)
        if n == 1 and not span:  # fast path for unbatched streams: no stacking, no views
            graph, state = self.layout.graphs[which], members[0]
            feeds.update(zip(self._state_in[which], state, strict=True))
            outs_list = graph.session.run(None, feeds)
            state[:] = [outs_list[i] for i in self._state_out[which]]
            return dict(zip(graph.outputs, outs_list, strict=True))
        self.prepare_batch()
        assert self._batch is not None
        graph = self._batch[which]
        for k, spec in enumerate(graph.states):
            feeds[spec.input_name] = stack([m[k] for m in members], spec.batch_axis)
        outs = dict(zip(graph.outputs, graph.session.run(None, feeds), strict=True))
        for k, spec in enumerate(graph.states):
            views = rows_of(outs[spec.output_name], n, spec.batch_axis)
            for m, view in zip(members, views, strict=True):
                m[k] = view
        return outs

    def process_one(self, state: StreamState, hop: F32) -> tuple[F32, float]:
        """Advance one stream by one hop ([hop_size] float32): (output hop, lsnr).

        The lone-stream fast path (:class:`~.lane.Lane`, created on first
        use); same result as :meth:`process` on a batch of one.
        """
        if not self.use_lanes:
            y, lsnr = self.process_batch([state], hop[None])
            return y[0], float(lsnr[0])
        if state.lane is None:
            state.lane = Lane(self.layout)
        return state.lane.hop(state, hop)

    def process(self, states: Sequence[StreamState], hops: F32) -> tuple[F32, F32]:
        """Advance every stream by one hop; returns (output hops [N, hop], lsnr [N]).

        ``hops`` is [N, hop_size] float32, row n for ``states[n]``. Not
        re-entrant for the same state; different batches may run in parallel.
        A batch of one takes the lone-stream path (:meth:`process_one`).
        """
        if len(states) == 1 and self.use_lanes:
            y, lsnr = self.process_one(states[0], hops[0])
            return y[None], np.array([lsnr], np.float32)
        return self.process_batch(states, hops)

    def process_batch(self, states: Sequence[StreamState], hops: F32) -> tuple[F32, F32]:
        """:meth:`process` through the vectorised code, whatever the batch size."""
        n = len(states)
        dsp = self.layout.dsp
        hist = History.of(states)
        spec, hist.ana = dsp.analysis_batch(hist.ana, hops)
        feat_erb, feat_spec, hist.mean_norm, hist.unit_norm = dsp.features_batch(
            spec, hist.mean_norm, hist.unit_norm
        )
        feeds = {
            "feat_erb": feat_erb.reshape(n, 1, 1, -1),
            "feat_spec": feat_spec.reshape(n, 2, 1, -1),
        }
        enc = self._net(0, feeds, [s.enc for s in states])
        lsnr = enc["lsnr"].reshape(n)
        use_mask, zero_mask, use_df = self._stages(states, lsnr)
        gains = None
        if use_mask:
            picked = self._subset(enc, self._erb_inputs, use_mask, n)
            m = self._net(1, picked, [states[i].erb for i in use_mask])[self._first[1]]
            gains = dsp.band_gains(m.reshape(len(use_mask), -1))
        coefs, on = self._coefs(enc, states, use_df, n)
        hops_out = advance(
            self.layout,
            hist,
            spec[:, None],
            None if gains is None else gains[:, None],
            use_mask,
            zero_mask,
            coefs[:, None],
            on[:, None],
            attenuation(states),
        )
        hist.store(states)
        masked = set(use_mask) | set(zero_mask)
        for i, s in enumerate(states):
            s.skip = 0 if i in masked else s.skip + 1
        return hops_out[:, 0], lsnr

    def process_span(self, states: Sequence[StreamState], hops: F32) -> tuple[F32, F32]:
        """Advance every stream by T hops; returns (output hops [N, T, hop], lsnr [N, T]).

        ``hops`` is [N, T, hop_size] float32. Each network runs once over the T
        frames of all N streams; the result equals T calls of
        :meth:`process_batch` (up to float rounding of the kernels, ~1e-7).

        Raises:
            ValueError: a stream uses gating (its decoders run per frame by
                local SNR; such streams go hop by hop).
        """
        if any(s.gating is not None for s in states):
            raise ValueError("gated streams are advanced hop by hop")
        n, t = hops.shape[:2]
        lay = self.layout
        dsp = lay.dsp
        hist = History.of(states)
        spec, hist.ana = dsp.analysis_span(hist.ana, hops)
        feat_erb, feat_spec, hist.mean_norm, hist.unit_norm = dsp.features_span(
            spec, hist.mean_norm, hist.unit_norm
        )
        feeds = {"feat_erb": feat_erb[:, None], "feat_spec": feat_spec}
        enc = self._net(0, feeds, [s.enc for s in states], span=True)
        lsnr = enc["lsnr"].reshape(n, t)
        erb_feeds = {k: enc[k] for k in self._erb_inputs}
        m = self._net(1, erb_feeds, [s.erb for s in states], span=True)[self._first[1]]
        gains = dsp.band_gains(m.reshape(n, t, -1))
        df_feeds = {k: enc[k] for k in ("emb", "c0")}
        raw = self._net(2, df_feeds, [s.df for s in states], span=True)[self._first[2]]
        coefs = complex_coefs(raw, n * t, lay.nb_df).reshape(n, t, lay.order, lay.nb_df)
        on = np.ones((n, t), np.bool_)
        out = advance(lay, hist, spec, gains, list(range(n)), [], coefs, on, attenuation(states))
        hist.store(states)
        for s in states:
            s.skip = 0
        return out, lsnr

    @staticmethod
    def _stages(states: Sequence[StreamState], lsnr: F32) -> tuple[list[int], list[int], list[int]]:
        """Row indices that get the ERB mask, a zero mask, the deep filter."""
        everyone = list(range(len(states)))
        if all(s.gating is None for s in states):
            return everyone, [], everyone
        mask: list[int] = []
        zero: list[int] = []
        df: list[int] = []
        for i, s in enumerate(states):
            m, z, d = (True, False, True) if s.gating is None else s.gating.stages(float(lsnr[i]))
            for flag, rows in ((m, mask), (z, zero), (d, df)):
                if flag:
                    rows.append(i)
        return mask, zero, df

    @staticmethod
    def _subset(
        outs: dict[str, np.ndarray], names: tuple[str, ...], rows: list[int], n: int
    ) -> dict[str, np.ndarray]:
        """The named outputs restricted to ``rows`` (no copy when that is everyone)."""
        if len(rows) == n:
            return {k: outs[k] for k in names}
        return {k: outs[k][rows] for k in names}

    def _coefs(
        self, enc: dict[str, np.ndarray], states: Sequence[StreamState], rows: list[int], n: int
    ) -> tuple[C64, NDArray[np.bool_]]:
        """Complex DF coefficients [N, order, nb_df] (zeros where off) and the on flags."""
        on = np.zeros(n, np.bool_)
        lay = self.layout
        coefs = np.zeros((n, lay.order, lay.nb_df), np.complex64)
        if not rows:
            return coefs, on
        picked = self._subset(enc, ("emb", "c0"), rows, n)
        raw = self._net(2, picked, [states[i].df for i in rows])[self._first[2]]
        new = complex_coefs(raw, len(rows), lay.nb_df)
        if len(rows) == n:
            on[:] = True
            return new, on
        coefs[rows] = new
        on[rows] = True
        return coefs, on


_CORES: dict[int, StreamCore] = {}
_CORES_LOCK = threading.Lock()


def core_for(model: OnnxModel) -> StreamCore:
    """The shared :class:`StreamCore` of a loaded model (one per model object)."""
    with _CORES_LOCK:
        core = _CORES.get(id(model))
        if core is None or core.model is not model:
            core = _CORES[id(model)] = StreamCore(model)
        return core
