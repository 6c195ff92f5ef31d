"""Conversions between aiortc/PyAV audio frames and engine audio, and resampling.

Engine audio is float32 mono in [-1, 1] at :data:`~denoise.constants.SAMPLE_RATE`.
WebRTC delivers 20 ms ``av.AudioFrame``s, normally s16 packed stereo or mono
at 48 kHz; other formats (planar, float) and rates are accepted too.
"""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import soxr
from numpy.typing import NDArray

from .base import Audio
from .constants import SAMPLE_RATE

_S16_SCALE = 32768.0


def frame_to_mono(frame: av.AudioFrame) -> Audio:
    """Return the frame's samples as float32 mono (channel mean) at the frame's rate.

    Integer formats are scaled to [-1, 1); float formats are taken as is.

    Raises:
        ValueError: unsupported sample format.
    """
    data = frame.to_ndarray()
    channels = len(frame.layout.channels)
    if channels == 1 and data.dtype == np.float32:  # what the live decoder gives
        return np.ascontiguousarray(data.reshape(-1))
    # Packed formats come as (1, samples * channels), planar as (channels, samples).
    x = data.reshape(-1, channels).T if not frame.format.is_planar else data
    if np.issubdtype(x.dtype, np.integer):
        scale = float(2 ** (8 * x.dtype.itemsize - 1))  # s16 -> 32768, s32 -> 2**31
        mono = x.astype(np.float32).mean(axis=0) / np.float32(scale)
    elif np.issubdtype(x.dtype, np.floating):
        mono = x.astype(np.float32).mean(axis=0)
    else:
        raise ValueError(f"unsupported sample format {frame.format.name}")
    return np.ascontiguousarray(mono, dtype=np.float32)


def mono_to_frame(
    samples: NDArray[np.floating],
    pts: int | None,
    sample_rate: int = SAMPLE_RATE,
    layout: str = "stereo",
) -> av.AudioFrame:
    """Build an s16 packed ``av.AudioFrame`` from float mono samples.

    Mono is copied to every channel of ``layout`` ("mono" or "stereo");
    samples are clipped to [-1, 1] and rounded. ``time_base`` is 1/sample_rate,
    so ``pts`` counts samples (the aiortc convention).

    Raises:
        ValueError: ``samples`` is not 1-D or the layout is unsupported.
    """
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim != 1:
        raise ValueError("expected mono (1-D) samples")
    if layout not in ("mono", "stereo"):
        raise ValueError(f"unsupported layout {layout!r}")
    s16 = np.clip(np.rint(x * _S16_SCALE), -32768, 32767).astype(np.int16)
    if layout == "stereo":
        s16 = np.repeat(s16, 2)  # interleave L=R
    frame = av.AudioFrame.from_ndarray(s16.reshape(1, -1), format="s16", layout=layout)
    frame.sample_rate = sample_rate
    frame.time_base = Fraction(1, sample_rate)
    frame.pts = pts
    return frame


def resample(x: NDArray[np.floating], in_rate: int, out_rate: int) -> Audio:
    """Resample a whole signal (1-D, or 2-D as samples x channels) with soxr HQ.

    The output is aligned with the input (soxr compensates its filter delay)
    and has ``round(len * out_rate / in_rate)`` samples.
    """
    a = np.asarray(x, dtype=np.float32)
    if in_rate == out_rate:
        return a.copy()
    return np.asarray(soxr.resample(a, in_rate, out_rate, quality="HQ"), dtype=np.float32)


class StreamResampler:
    """Chunked resampler for live or block-wise audio (soxr HQ, delay-compensated).

    Feed chunks with :meth:`process`; call it with ``last=True`` once at the end
    to drain. The concatenated output equals :func:`resample` of the whole
    input up to rounding of the length.
    """

    def __init__(self, in_rate: int, out_rate: int, channels: int = 1) -> None:
        self.in_rate, self.out_rate, self.channels = in_rate, out_rate, channels
        self._passthrough = in_rate == out_rate
        self._stream = None
        if not self._passthrough:
            self._stream = soxr.ResampleStream(in_rate, out_rate, channels, "float32", "HQ")

    def process(self, chunk: NDArray[np.floating], last: bool = False) -> Audio:
        """Resample one chunk (1-D for mono, samples x channels otherwise)."""
        x = np.ascontiguousarray(chunk, dtype=np.float32)
        if self._stream is None:
            return x.copy()
        return np.asarray(self._stream.resample_chunk(x, last=last), dtype=np.float32)
