"""Our numpy DSP equals upstream's libDF (pip deepfilterlib), when that is installed."""

from __future__ import annotations

import numpy as np
import pytest

from denoise.backends.onnx.dsp import DspSpec, norm_alpha

libdf = pytest.importorskip("libdf")


def test_stft_features_and_synthesis_match_libdf() -> None:
    spec = DspSpec(48_000, 960, 480, 32, 96, 2, norm_alpha(48_000, 480, 1.0))
    assert spec.alpha == pytest.approx(0.99)
    df = libdf.DF(48_000, 960, 480, 32, 2)
    assert np.array_equal(df.erb_widths(), spec.erb)
    x = (0.1 * np.random.default_rng(0).standard_normal(48_000)).astype(np.float32)

    ref = df.analysis(x[None])[0]
    state = spec.new_state()
    ours = np.stack([state.analysis(x[i : i + 480]) for i in range(0, x.size, 480)])
    assert np.abs(ours - ref).max() < 1e-6

    feats = [state.features(f) for f in ours]
    erb_ref = libdf.erb_norm(libdf.erb(ref[None, None], df.erb_widths())[0], spec.alpha)[0]
    assert np.abs(np.stack([f[0] for f in feats]) - erb_ref).max() < 1e-5
    cplx_ref = libdf.unit_norm(ref[None, :, :96].copy(), spec.alpha)[0]
    cplx = np.stack([f[1] for f in feats])
    assert np.abs(cplx[:, 0] - cplx_ref.real).max() < 1e-5
    assert np.abs(cplx[:, 1] - cplx_ref.imag).max() < 1e-5

    synth = spec.new_state()
    y = np.concatenate([synth.synthesis(f) for f in ours])
    assert np.abs(y - df.synthesis(ref[None])[0]).max() < 1e-6
    assert np.abs(y[480:] - x[:-480]).max() < 1e-5  # perfect reconstruction, 1 hop late
