"""The attenuation limit bounds how much noise is removed, and changes apply mid-stream."""

from __future__ import annotations

import numpy as np
import pytest

from denoise.registry import create_denoiser

from .conftest import run_all


def _noise_reduction_db(noisy: np.ndarray, out: np.ndarray, mask: np.ndarray) -> float:
    quiet = ~mask  # noise-only stretches of the fixture
    return float(10 * np.log10(np.mean(noisy[quiet] ** 2) / np.mean(out[quiet] ** 2)))


@pytest.mark.model
@pytest.mark.parametrize("name", ["dfn2", "dfn2-ll", "dfn3-onnx"])
def test_limit_bounds_noise_reduction(speech, name: str) -> None:
    _, _, noisy, mask = speech
    full = _noise_reduction_db(noisy, run_all(create_denoiser(name, 100), noisy), mask)
    limited = _noise_reduction_db(noisy, run_all(create_denoiser(name, 6), noisy), mask)
    assert full > 15.0, full  # the model really removes noise
    # Mixing back 10**(-6/20) of the noisy signal caps the reduction near 6 dB.
    assert 3.0 < limited < 7.5, limited


@pytest.mark.model
def test_limit_change_applies_mid_stream(speech) -> None:
    _, _, noisy, _ = speech
    x = noisy[:96_000]
    switched = create_denoiser("dfn2", 100)
    first = switched.process(x[:48_000])
    switched.set_atten_lim(6)
    second = switched.process(x[48_000:])
    always = create_denoiser("dfn2", 100).process(x)
    assert np.array_equal(first, always[:48_000])  # before the change: identical
    assert np.abs(second - always[48_000:]).max() > 1e-3  # after it: different
