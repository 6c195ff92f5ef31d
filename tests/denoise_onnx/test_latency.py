"""Reported delay (registry latency = backend delay_samples) equals the measured delay."""

from __future__ import annotations

import numpy as np
import pytest

from denoise.registry import create_denoiser, get_spec

from .conftest import ONNX_MODELS, onnx_model

SR = 48_000


def _output(name: str, x: np.ndarray, atten_lim_db: float) -> tuple[np.ndarray, int]:
    d = create_denoiser(name, atten_lim_db)
    return np.concatenate([d.process(x), d.flush()]), d.latency_samples


@pytest.mark.model
@pytest.mark.parametrize("name", ONNX_MODELS)
def test_click_delay(name: str) -> None:
    # Clicks at odd offsets on a quiet noise bed (not digital silence, which the
    # runtime skips). At a 6 dB limit half of each click passes straight
    # through the model's frame alignment, so its peak marks the true delay.
    rng = np.random.default_rng(0)
    x = (0.003 * rng.standard_normal(3 * SR)).astype(np.float32)
    clicks = np.arange(12_000, x.size - 12_000, 24_000) + 137
    x[clicks] += 0.8
    y, reported = _output(name, x, 6.0)
    measured = [int(np.argmax(np.abs(y[c : c + 4000]))) for c in clicks]
    assert measured == [reported] * len(clicks)
    assert reported == get_spec(name).latency_samples == onnx_model(name).config.delay_samples


@pytest.mark.model
@pytest.mark.parametrize("name", ONNX_MODELS)
def test_speech_delay_without_limit(speech, name: str) -> None:
    clean, _, noisy, _ = speech
    y, reported = _output(name, noisy, 100.0)
    lags = np.arange(0, 3000)
    seg = clean[SR : 3 * SR]
    corr = [float(np.dot(y[SR + lag : 3 * SR + lag], seg)) for lag in lags]
    assert int(lags[int(np.argmax(corr))]) == reported
