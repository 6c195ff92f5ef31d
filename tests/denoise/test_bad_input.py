"""NaN/inf are zeroed and counted (the runtime would abort on NaN); silence stays silent."""

from __future__ import annotations

import numpy as np
import pytest

from denoise import create_denoiser

MODELS = ["identity", pytest.param("dfn3", marks=pytest.mark.model)]


@pytest.mark.parametrize("model", MODELS)
def test_nonfinite_zeroed_and_counted(model: str) -> None:
    d = create_denoiser(model)
    x = (0.05 * np.random.default_rng(0).standard_normal(4800)).astype(np.float32)
    x[[10, 500, 501, 3000]] = [np.nan, np.inf, -np.inf, np.nan]
    y = np.concatenate((d.process(x), d.flush()))
    assert d.nonfinite_samples == 4
    assert np.isfinite(y).all()
    y2 = d.process(np.full(960, np.nan, np.float32))  # a whole packet of garbage
    assert d.nonfinite_samples == 4 + 960
    assert np.isfinite(y2).all()


@pytest.mark.parametrize("model", MODELS)
def test_silence_stays_silent(model: str) -> None:
    d = create_denoiser(model)
    y = np.concatenate((d.process(np.zeros(48_000, np.float32)), d.flush()))
    peak = float(np.abs(y).max())
    assert peak == 0.0 or 20 * np.log10(peak) < -90


def test_rejects_multichannel_chunk() -> None:
    with pytest.raises(ValueError):
        create_denoiser("identity").process(np.zeros((2, 480), np.float32))


@pytest.mark.model
def test_native_close_is_safe_and_idempotent() -> None:
    d = create_denoiser("dfn3")
    d.process(np.zeros(960, np.float32))
    backend = d._backend
    d.close()
    d.close()
    with pytest.raises(RuntimeError):
        backend.process_hop(np.zeros(480, np.float32))  # no use-after-free
    with pytest.raises(ValueError):
        create_denoiser("dfn3")._backend.process_hop(np.zeros(479, np.float32))
