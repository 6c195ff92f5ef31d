"""Audio constants shared by the engine and the live path, named once.

Everything in the product runs at the model's native rate; other rates are
resampled at the edges (file import, browser capture is already 48 kHz).
"""

from typing import Final

SAMPLE_RATE: Final = 48_000
"""Engine and WebRTC sample rate in Hz (Opus in browsers runs at 48 kHz)."""

HOP_MS: Final = 10
HOP_SAMPLES: Final = SAMPLE_RATE * HOP_MS // 1000
"""One model frame: 10 ms = 480 samples. The streaming state advances by one hop."""

PACKET_MS: Final = 20
PACKET_SAMPLES: Final = SAMPLE_RATE * PACKET_MS // 1000
"""One WebRTC audio packet / PyAV frame: 20 ms = 960 samples = two hops."""

ATTEN_LIM_MIN_DB: Final = 6.0
ATTEN_LIM_MAX_DB: Final = 100.0
"""Attenuation limit range; 100 dB means "no limit" (full noise removal)."""

INPUT_PEAK_LIMIT: Final = 1e4
"""Input samples are clipped to +-this (+80 dBFS; full scale is 1.0).

Far above any real signal (float audio that is not corrupt stays within a
few times full scale), so genuine audio is never touched, yet low enough that
a corrupt sample (a float file may hold 1e30) cannot overflow float32 in the
model's features: a 960-sample frame's bin power stays below ~1e14 (float32
overflows at 3.4e38). Unclipped, the power became inf and the stream's running
normalisation and recurrent state NaN for the rest of its life. Kept far below
the overflow so the running means are pushed at most ~80 dB off: measured on
dfn3-onnx, 100 ms after a clipped 1e30 sample the output is within 3e-3 of
that of a stream that never saw it (tests/denoise/test_huge_sample.py). Applied by
``denoise.base.Denoiser``.
"""
