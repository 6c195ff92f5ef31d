"""Streaming output does not depend on how the input is chunked."""

from __future__ import annotations

import numpy as np
import pytest

from denoise import create_denoiser
from denoise.backends.identity import IdentityBackend
from denoise.base import Denoiser
from tests.denoise.conftest import run_all

CHUNKS = [1, 17, 480, 960, 4800]


def _signal(seconds: float = 1.0) -> np.ndarray:
    rng = np.random.default_rng(3)
    return (0.1 * rng.standard_normal(int(48_000 * seconds))).astype(np.float32)


@pytest.mark.parametrize("chunk", CHUNKS)
def test_identity_chunking_matches_one_shot(chunk: int) -> None:
    x = _signal()
    ref = run_all(Denoiser(IdentityBackend(delay_samples=123)), x)
    got = run_all(Denoiser(IdentityBackend(delay_samples=123)), x, chunk)
    np.testing.assert_array_equal(got, ref)
    np.testing.assert_array_equal(got, x)  # identity, delay removed


def test_process_returns_whole_hops_only() -> None:
    d = Denoiser(IdentityBackend())
    assert d.process(np.zeros(479, np.float32)).size == 0
    assert d.process(np.zeros(1, np.float32)).size == 480
    assert d.process(np.zeros(1000, np.float32)).size == 960


@pytest.mark.model
def test_native_chunking_matches_one_shot(speech_5db) -> None:
    x = speech_5db[2][: 48_000 * 2]
    ref = run_all(create_denoiser("dfn3"), x)
    assert np.abs(ref).max() > 0.01
    for chunk in CHUNKS:
        # chunk=1 means 96k Python calls; a shorter piece keeps the test quick.
        xs = x[:9600] if chunk == 1 else x
        d = create_denoiser("dfn3")
        got = run_all(d, xs, chunk)
        want = run_all(create_denoiser("dfn3"), xs)
        np.testing.assert_array_equal(got, want, err_msg=f"{chunk=}")
        d.close()
    np.testing.assert_array_equal(run_all(create_denoiser("dfn3"), x, 960), ref)
