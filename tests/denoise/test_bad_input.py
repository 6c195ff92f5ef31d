"""NaN/inf are zeroed and counted (the runtime would abort on NaN); silence stays silent.

Finite samples are never zeroed or counted, however large (they are only clipped to
``INPUT_PEAK_LIMIT``), and no input makes the sanitising emit numpy warnings: a check
built on a float reduction (a sum overflows for huge finite samples and is NaN for
inf + -inf) would get both wrong.
"""

from __future__ import annotations

import warnings
from itertools import pairwise

import numpy as np
import pytest

from denoise import create_denoiser
from denoise.constants import HOP_SAMPLES, INPUT_PEAK_LIMIT

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


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_finite_samples_whose_sum_overflows_are_clipped_not_zeroed(sign: float) -> None:
    d = create_denoiser("identity")  # no delay: the output is the sanitised input
    x = np.full(960, sign * 3e38, np.float32)  # finite; 960 of them sum to inf in float32
    y = d.process(x)
    assert d.nonfinite_samples == 0
    np.testing.assert_array_equal(y, np.full(960, sign * INPUT_PEAK_LIMIT, np.float32))


def test_nonfinite_among_overflowing_finite_samples_is_counted_exactly() -> None:
    d = create_denoiser("identity")
    x = np.full(960, 3e38, np.float32)
    x[[3, 700]] = [np.nan, -np.inf]
    y = d.process(x)
    assert d.nonfinite_samples == 2
    expected = np.full(960, INPUT_PEAK_LIMIT, np.float32)
    expected[[3, 700]] = 0.0
    np.testing.assert_array_equal(y, expected)


def test_sanitising_emits_no_warnings() -> None:
    d = create_denoiser("identity")
    x = np.full(960, 3e38, np.float32)
    x[[1, 2, 3]] = [np.inf, -np.inf, np.nan]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning would fail the call
        d.process(x)
    assert d.nonfinite_samples == 3


def test_nonfinite_counted_once_across_uneven_chunks() -> None:
    """Samples held back for the next hop are sanitised once: a bad one is counted on
    arrival, not again when its hop completes."""
    d = create_denoiser("identity")
    x = (0.05 * np.random.default_rng(1).standard_normal(10 * HOP_SAMPLES)).astype(np.float32)
    bad_at = [0, 479, 480, 481, 1000, 2399, 4799]
    x[bad_at] = [np.nan, np.inf, -np.inf, np.nan, np.inf, np.nan, -np.inf]
    cuts = [0, 7, 486, 1001, 1003, 2400, 3333, len(x)]
    y = np.concatenate([d.process(x[a:b]) for a, b in pairwise(cuts)])
    assert d.nonfinite_samples == len(bad_at)
    assert type(d.nonfinite_samples) is int  # a plain int for metrics and JSON
    expected = x.copy()
    expected[bad_at] = 0.0
    np.testing.assert_array_equal(y, expected)


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
