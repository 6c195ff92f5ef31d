"""Frame-by-frame streaming equals the unmodified graphs run over the whole utterance."""

from __future__ import annotations

import numpy as np
import pytest

from denoise.backends.onnx.backend import OnnxBackend
from denoise.backends.onnx.model import UPSTREAM_GATING
from denoise.backends.onnx.offline import enhance_offline
from denoise.base import Denoiser

from .conftest import onnx_model, run_all

TOLERANCE = 1e-4


@pytest.mark.model
@pytest.mark.parametrize("name", ["dfn2", "dfn3-onnx", "dfn2-ll"])
@pytest.mark.parametrize("atten_lim_db", [100.0, 12.0])
def test_streaming_equals_offline(speech, name: str, atten_lim_db: float) -> None:
    _, _, noisy, _ = speech
    model = onnx_model(name)
    offline = enhance_offline(model, noisy, atten_lim_db)
    streamed = run_all(Denoiser(OnnxBackend(model, atten_lim_db), atten_lim_db), noisy, 960)
    assert streamed.shape == offline.shape == noisy.shape
    assert np.abs(offline).max() > 0.05  # the comparison is not between silences
    assert np.abs(streamed - offline).max() < TOLERANCE


@pytest.mark.model
@pytest.mark.parametrize("name", ["dfn2", "dfn3-onnx"])
def test_streaming_equals_offline_with_gating(speech, name: str) -> None:
    """With tract.rs's local-SNR gating, skipped decoder runs match decoders run
    over the gated subsequence of frames."""
    _, _, noisy, _ = speech
    model = onnx_model(name)
    offline = enhance_offline(model, noisy, gating=UPSTREAM_GATING)
    streamed = run_all(Denoiser(OnnxBackend(model, gating=UPSTREAM_GATING)), noisy, 480)
    assert np.abs(streamed - offline).max() < TOLERANCE
    ungated = enhance_offline(model, noisy)
    assert np.abs(ungated - offline).max() > 1e-3  # gating really changed frames here
