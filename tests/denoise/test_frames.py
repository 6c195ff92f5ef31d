"""av.AudioFrame <-> engine audio conversions and resampling."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest

from denoise.frames import StreamResampler, frame_to_mono, mono_to_frame, resample


def _s16_stereo_frame(left: np.ndarray, right: np.ndarray) -> av.AudioFrame:
    inter = np.empty(2 * len(left), np.int16)
    inter[0::2], inter[1::2] = left, right
    f = av.AudioFrame.from_ndarray(inter.reshape(1, -1), format="s16", layout="stereo")
    f.sample_rate = 48_000
    return f


def test_stereo_s16_to_mono_is_channel_mean() -> None:
    left = np.full(960, 1000, np.int16)
    right = np.full(960, -3000, np.int16)
    mono = frame_to_mono(_s16_stereo_frame(left, right))
    assert mono.dtype == np.float32 and mono.shape == (960,)
    np.testing.assert_allclose(mono, -1000 / 32768)


@pytest.mark.parametrize("layout", ["stereo", "mono"])
def test_round_trip(layout: str) -> None:
    rng = np.random.default_rng(0)
    s = rng.integers(-20000, 20000, 960).astype(np.int16)
    src = _s16_stereo_frame(s, s)
    out = mono_to_frame(frame_to_mono(src), pts=96_000, layout=layout)
    assert out.samples == 960 and out.sample_rate == 48_000
    assert out.pts == 96_000 and out.time_base == Fraction(1, 48_000)
    assert out.format.name == "s16" and out.layout.name == layout
    back = out.to_ndarray().reshape(-1, len(out.layout.channels))
    for ch in range(back.shape[1]):
        np.testing.assert_array_equal(back[:, ch], s)


def test_planar_float_frame() -> None:
    x = np.stack([np.full(480, 0.5, np.float32), np.full(480, -0.25, np.float32)])
    f = av.AudioFrame.from_ndarray(x, format="fltp", layout="stereo")
    np.testing.assert_allclose(frame_to_mono(f), 0.125)


def test_clipping_on_output() -> None:
    f = mono_to_frame(np.array([2.0, -2.0, 0.5], np.float32), pts=0, layout="mono")
    np.testing.assert_array_equal(f.to_ndarray()[0], [32767, -32768, 16384])


def _tone(freq: float, rate: int, seconds: float = 1.0, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _peak_freq(x: np.ndarray, rate: int) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / rate)[np.argmax(spec)])


RATES = [(16_000, 48_000), (44_100, 48_000), (48_000, 22_050)]


@pytest.mark.parametrize(("src", "dst"), RATES)
def test_resampler_keeps_frequency_and_level(src: int, dst: int) -> None:
    y = resample(_tone(1000, src), src, dst)
    assert len(y) == dst
    assert abs(_peak_freq(y, dst) - 1000) <= 1.0
    mid = y[dst // 10 : -dst // 10]
    rms_db = 20 * np.log10(np.sqrt(np.mean(mid**2)) / (0.5 / np.sqrt(2)))
    assert abs(rms_db) < 0.1
    # Aligned: the output is the same sine sampled at the new rate.
    ref = _tone(1000, dst)
    np.testing.assert_allclose(mid, ref[dst // 10 : -dst // 10], atol=1e-3)


def test_stream_resampler_matches_one_shot() -> None:
    x = _tone(440, 16_000)
    r = StreamResampler(16_000, 48_000)
    parts = [r.process(x[i : i + 320], last=i + 320 >= len(x)) for i in range(0, len(x), 320)]
    y = np.concatenate(parts)
    np.testing.assert_allclose(y, resample(x, 16_000, 48_000), atol=1e-5)
