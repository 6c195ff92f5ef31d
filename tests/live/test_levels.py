"""Listener levels are mixes of the engine's output and the aligned raw input."""

from __future__ import annotations

import numpy as np
import pytest

from streams.webrtc.levels import LIGHT_LIMIT_DB, level_audio, parse_level


def db(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(x.astype(np.float64) ** 2)))


@pytest.mark.parametrize("atten", [100.0, 40.0, 20.0])
def test_light_removes_at_most_12_db_of_what_full_removes(atten):
    rng = np.random.default_rng(2)
    raw = (0.1 * rng.standard_normal(960)).astype(np.float32)
    enhanced = np.zeros(960, np.float32)  # the model silenced the noise entirely
    g = 0.0 if atten >= 100 else 10 ** (-atten / 20)
    cleaned = ((1 - g) * enhanced + g * raw).astype(np.float32)
    light = level_audio("light", cleaned, raw, atten)
    assert db(raw) - db(light) == pytest.approx(LIGHT_LIMIT_DB, abs=0.01)
    assert level_audio("full", cleaned, raw, atten) is cleaned
    assert level_audio("raw", cleaned, raw, atten) is raw


def test_light_is_full_when_the_broadcaster_removes_less_than_12_db():
    raw = np.ones(960, np.float32)
    cleaned = (raw * 10 ** (-6 / 20)).astype(np.float32)
    assert level_audio("light", cleaned, raw, 6.0) is cleaned


def test_light_keeps_speech_the_engine_kept():
    """What the engine passes (speech) passes light unchanged: only the noise is mixed back."""
    t = np.arange(960) / 48_000
    speech = (0.3 * np.sin(2 * np.pi * 200 * t)).astype(np.float32)
    light = level_audio("light", speech, speech, 100.0)
    np.testing.assert_allclose(light, speech, atol=1e-6)


def test_parse_level():
    assert parse_level("light") == "light"
    with pytest.raises(ValueError, match="full, light, raw"):
        parse_level("loud")
