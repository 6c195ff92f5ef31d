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
