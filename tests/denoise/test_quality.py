"""On noisy synthetic speech: noise drops a lot, speech stays; the limit limits."""

from __future__ import annotations

import numpy as np
import pytest

from denoise import create_denoiser
from tests.denoise.conftest import run_all

pytestmark = pytest.mark.model


def _db(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(np.square(x, dtype=np.float64)) + 1e-20))


def _noise_only(mask: np.ndarray, guard: int = 4800) -> np.ndarray:
    """Samples at least ``guard`` (100 ms) away from speech: word tails are not noise."""
    c = np.concatenate(([0], np.cumsum(mask, dtype=np.int64)))
    idx = np.arange(len(mask))
    lo, hi = np.clip(idx - guard, 0, len(mask)), np.clip(idx + guard + 1, 0, len(mask))
    return (c[hi] - c[lo]) == 0


def _envelope(x: np.ndarray) -> np.ndarray:
    n = len(x) // 480 * 480
    return np.sqrt(np.mean(x[:n].reshape(-1, 480) ** 2, axis=1))


def test_noise_removed_speech_kept(speech_5db) -> None:
    clean, _, noisy, mask = speech_5db
    y = run_all(create_denoiser("dfn3"), noisy)
    quiet = _noise_only(mask)
    assert quiet.sum() > 48_000  # enough noise-only material to judge
    drop = _db(noisy[quiet]) - _db(y[quiet])
    assert drop >= 15.0, f"noise only dropped {drop:.1f} dB"
    speech_change = _db(y[mask]) - _db(clean[mask])
    assert abs(speech_change) <= 3.0, f"speech level changed by {speech_change:.1f} dB"
    frames = mask[::480][: len(_envelope(y))]
    corr = np.corrcoef(_envelope(y)[frames], _envelope(clean)[frames])[0, 1]
    assert corr >= 0.9, f"speech envelope correlation {corr:.3f}"


def test_attenuation_limit_12db(speech_5db) -> None:
    _, _, noisy, mask = speech_5db
    y = run_all(create_denoiser("dfn3", atten_lim_db=12), noisy)
    quiet = _noise_only(mask)
    drop = _db(noisy[quiet]) - _db(y[quiet])
    assert 9.0 <= drop <= 15.0, f"noise dropped {drop:.1f} dB with a 12 dB limit"
