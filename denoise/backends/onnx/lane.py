"""The single-stream fast path of :mod:`.core`: one hop of one stream, no batch.

A lone stream (no scheduler, or a batch of one) spends most of its non-network
time on per-hop bookkeeping of the vectorised core: stacking, fancy indexing,
fresh arrays, dicts of feeds and outputs. A :class:`Lane` is one stream's
preallocated workspace instead: every array the hop touches lives at a fixed
address, the numpy steps write into it with ``out=``, and each network runs
through an ONNX Runtime ``IOBinding`` whose inputs and outputs are those very
buffers (the encoder writes straight into the decoders' inputs). Recurrent
states ping-pong between two buffer sets, so a run never reads what it writes.

The arithmetic is the batched core's, operation for operation (same ufuncs,
dtypes and summation order), so the output equals the general path for a
batch of one bit for bit (``tests/denoise_onnx/test_lane.py``).

While a stream uses its lane, the :class:`~.state.StreamState` fields point
at the lane's buffers. A batched hop replaces them with views of its batch
results; the next lone hop notices (``state.ana`` is no longer the lane's) and
copies the state back in (:meth:`Lane.load`).

A lane reads only the model's :class:`~.state.Layout` (constants and
single-frame sessions), never the core that creates it.
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort

from .dsp import F32
from .model import StreamGraph
from .state import Layout, StreamState


def _value(a: np.ndarray) -> ort.OrtValue:
    """An OrtValue sharing ``a``'s memory (CPU), so ORT reads/writes the numpy buffer."""
    return ort.OrtValue.ortvalue_from_numpy(a)


class _Net:
    """One network's two IO bindings (state buffers swapped) and the current parity."""

    def __init__(
        self, graph: StreamGraph, inputs: dict[str, np.ndarray], outputs: dict[str, np.ndarray]
    ) -> None:
        self.session = graph.session
        self.states = ([s.zeros() for s in graph.states], [s.zeros() for s in graph.states])
        self.cur = 0  # self.states[cur] holds the state the next run reads
        self.bindings: list[ort.IOBinding] = []
        for p in (0, 1):
            io = graph.session.io_binding()
            for name, arr in inputs.items():
                io.bind_ortvalue_input(name, _value(arr))
            for name, arr in outputs.items():
                io.bind_ortvalue_output(name, _value(arr))
            for spec, s_in, s_out in zip(
                graph.states, self.states[p], self.states[1 - p], strict=True
            ):
                io.bind_ortvalue_input(spec.input_name, _value(s_in))
                io.bind_ortvalue_output(spec.output_name, _value(s_out))
            self.bindings.append(io)

    def load(self, arrays: list[np.ndarray]) -> list[np.ndarray]:
        """Copy a state in (it becomes current); returns the current buffers."""
        self.cur = 0
        for dst, src in zip(self.states[0], arrays, strict=True):
            np.copyto(dst, src)
        return self.states[0]

    def run(self) -> list[np.ndarray]:
        """One run; returns the buffers now holding the new state."""
        self.session.run_with_iobinding(self.bindings[self.cur])
        self.cur ^= 1
        return self.states[self.cur]


class Lane:
    """One stream's fixed workspace and bound sessions (~0.3-0.5 MB). Not thread-safe.

    Implements :class:`~.state.LonePath` (the ``lane`` of a :class:`~.state.StreamState`).
    """

    def __init__(self, layout: Layout) -> None:
        lay = self.layout = layout
        d = lay.dsp
        h, f, nb, order = d.hop_size, d.n_freqs, lay.nb_df, lay.order
        zeros = np.zeros
        # Stream state (the StreamState fields point here while the lane is in use).
        self.ana = zeros((1, d.fft_size - h), np.float32)
        self.syn = zeros((1, d.fft_size - h), np.float32)
        self.mean_norm = zeros((1, d.nb_erb), np.float32)
        self.unit_norm = zeros((1, nb), np.float32)
        self.xh = zeros((1, lay.depth, f), np.complex64)
        self.yh = zeros((1, lay.depth - lay.conv_la, f), np.complex64)
        self.cq = zeros((1, lay.queue, order, nb), np.complex64)
        self.cq_on = zeros((1, lay.queue), np.bool_)
        # Scratch.
        self.frame32 = zeros(d.fft_size, np.float32)
        self.frame64 = zeros(d.fft_size, np.float64)
        self.spec128 = zeros(f, np.complex128)
        self.power = zeros(f, np.float32)
        self.tmp = zeros(f, np.float32)
        self.band = zeros(d.nb_erb, np.float32)
        self.band_tmp = zeros(d.nb_erb, np.float32)
        self.mag = zeros(nb, np.float32)
        self.normed = zeros(nb, np.complex64)
        self.gains = zeros(f, np.float32)
        self.coefs = zeros((1, order, nb), np.complex64)
        self.out = zeros((1, f), np.complex64)
        self.time64 = zeros(d.fft_size, np.float64)
        self.time32 = zeros(d.fft_size, np.float32)
        # Network inputs and outputs, shared by the bindings.
        enc_g, erb_g, df_g = lay.graphs
        self.feat_erb = zeros((1, 1, 1, d.nb_erb), np.float32)
        self.feat_spec = zeros((1, 2, 1, nb), np.float32)
        io = {name: self._out_buffer(enc_g, name) for name in enc_g.outputs}
        io = {k: v for k, v in io.items() if k not in {s.output_name for s in enc_g.states}}
        self.lsnr = io["lsnr"]
        self.mask = self._out_buffer(erb_g, erb_g.outputs[0])
        self.raw = self._out_buffer(df_g, df_g.outputs[0])
        self.enc = _Net(enc_g, {"feat_erb": self.feat_erb, "feat_spec": self.feat_spec}, io)
        erb_in = {k: io[k] for k in ("emb", "e3", "e2", "e1", "e0")}
        self.erb = _Net(erb_g, erb_in, {erb_g.outputs[0]: self.mask})
        self.df = _Net(df_g, {"emb": io["emb"], "c0": io["c0"]}, {df_g.outputs[0]: self.raw})
        # [.., nb_df, order * 2] real/imag pairs -> complex [order, nb_df] (a view).
        self.new_coefs = self.raw.reshape(nb, order, 2).view(np.complex64)[..., 0].T
        # Fixed views.
        spec = self.xh[0, -1]
        self.spec, self.spec_re, self.spec_im, self.low = spec, spec.real, spec.imag, spec[:nb]
        self.x_new = self.xh[0, lay.newest]
        self.y_new = self.yh[0, -1]
        src = self.yh if lay.df_on_masked else self.xh
        self.taps = src[:, lay.tap_slice, :nb]
        self.feat_erb_row = self.feat_erb.reshape(-1)
        self.feat_spec_rows = self.feat_spec.reshape(2, nb)

    @staticmethod
    def _out_buffer(graph: StreamGraph, name: str) -> np.ndarray:
        shape = graph.session.get_outputs()[graph.outputs.index(name)].shape
        if not all(isinstance(n, int) for n in shape):
            raise ValueError(f"output {name} has no static shape: {shape}")
        return np.zeros(shape, np.float32)

    def load(self, st: StreamState) -> None:
        """Copy ``st`` into the lane and point its fields at the lane's buffers."""
        for name in ("ana", "syn", "mean_norm", "unit_norm", "xh", "yh", "cq", "cq_on"):
            buf = getattr(self, name)
            np.copyto(buf, getattr(st, name))
            setattr(st, name, buf)
        st.enc[:] = self.enc.load(st.enc)
        st.erb[:] = self.erb.load(st.erb)
        st.df[:] = self.df.load(st.df)

    def hop(self, st: StreamState, hop: F32) -> tuple[F32, float]:
        """Advance ``st`` by one hop ([hop_size] float32); returns (output hop, lsnr).

        Same steps as :meth:`.core.StreamCore.process` for one stream.
        """
        if st.ana is not self.ana:
            self.load(st)
        lay, d = self.layout, self.layout.dsp
        h, mul, add = d.hop_size, np.multiply, np.add
        # Analysis (float32 window product, float64 FFT, as DspSpec.analysis_batch).
        xh = self.xh
        xh[:, :-1] = xh[:, 1:]
        mul(self.ana[0], lay.win_lo, out=self.frame32[:h])
        mul(hop, lay.win_hi, out=self.frame32[h:])
        self.ana[0] = hop
        np.copyto(self.frame64, self.frame32)
        np.fft.rfft(self.frame64, out=self.spec128)
        spec = self.spec
        np.copyto(spec, self.spec128, casting="same_kind")
        mul(spec, d.wnorm, out=spec)
        # Features (DspSpec.features_batch).
        p, t = self.power, self.tmp
        mul(self.spec_re, self.spec_re, out=p)
        mul(self.spec_im, self.spec_im, out=t)
        add(p, t, out=p)
        band, bt = self.band, self.band_tmp
        np.add.reduceat(p, d.band_starts, out=band)
        mul(band, d.inv_width, out=band)
        add(band, lay.eps, out=band)
        np.log10(band, out=band)
        mul(band, lay.ten, out=band)
        mn = self.mean_norm[0]
        mul(band, lay.beta, out=bt)
        mul(mn, lay.alpha, out=mn)
        add(bt, mn, out=mn)
        fe = self.feat_erb_row
        np.subtract(band, mn, out=fe)
        np.divide(fe, lay.forty, out=fe)
        un, mag = self.unit_norm[0], self.mag
        np.abs(self.low, out=mag)
        mul(mag, lay.beta, out=mag)
        mul(un, lay.alpha, out=un)
        add(mag, un, out=un)
        np.sqrt(un, out=mag)
        np.divide(self.low, mag, out=self.normed)
        rows = self.feat_spec_rows
        rows[0] = self.normed.real
        rows[1] = self.normed.imag
        # Encoder, gating, ERB mask.
        st.enc[:] = self.enc.run()
        lsnr = float(self.lsnr.reshape(-1)[0])
        use_mask, zero_mask, use_df = (
            (True, False, True) if st.gating is None else st.gating.stages(lsnr)
        )
        yh = self.yh
        yh[:, :-1] = yh[:, 1:]
        if use_mask:
            st.erb[:] = self.erb.run()
            np.take(self.mask.reshape(-1), d.band_of_bin, out=self.gains)
            mul(self.x_new, self.gains, out=self.y_new)
        elif zero_mask:
            self.y_new[:] = 0
        else:
            self.y_new[:] = self.x_new
        # Deep-filter coefficients of this frame, then the ones due now.
        coefs = self.coefs
        if use_df:
            st.df[:] = self.df.run()
            coefs[0] = self.new_coefs
        else:
            coefs[0] = 0
        on = use_df
        if lay.queue:
            cq, cq_on = self.cq, self.cq_on
            due, due_on = cq[0, 0].copy(), bool(cq_on[0, 0])
            cq[:, :-1] = cq[:, 1:]
            cq_on[:, :-1] = cq_on[:, 1:]
            cq[0, -1] = coefs[0]
            cq_on[0, -1] = on
            coefs[0], on = due, due_on
        # Deep filter, attenuation limit, synthesis.
        out = self.out
        out[:] = yh[:, lay.out_pos]
        nb = lay.nb_df
        if on:
            np.einsum("nkf,nkf->nf", coefs, self.taps, out=out[:, :nb])
        if st.gain is not None:
            g = np.float32(st.gain)
            out *= np.float32(1.0) - g
            out += g * xh[:, lay.out_pos]
        c128 = self.spec128
        np.copyto(c128, out[0])
        np.fft.irfft(c128, n=d.fft_size, out=self.time64)
        x = self.time32
        np.copyto(x, self.time64, casting="same_kind")
        mul(x, lay.win_fft, out=x)
        syn = self.syn[0]
        y = x[:h] + syn
        syn[:] = x[h:]
        st.skip = 0 if use_mask or zero_mask else st.skip + 1
        return y, lsnr
