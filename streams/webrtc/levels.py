"""What a listener hears: the stream at one of three levels of noise removal.

* ``full``: the broadcaster's setting (the engine's output as it is);
* ``light``: noise lowered by at most ``LIGHT_LIMIT_DB`` (the room stays audible);
* ``raw``: the microphone as it arrived (delayed like the others, so a switch
  never jumps in time), only when the broadcaster shares it.

The model runs once per stream whatever the levels. The engine's output with
attenuation limit gain ``g`` (the share of the noisy signal mixed back, per
STFT bin, which is linear and so holds in the time domain too) is
``cleaned = (1 - g) * enhanced + g * raw``, with ``raw`` the input delayed by the
model's latency, the signal the pump already lines up with it. Any other limit's
output is therefore a mix of the two: :func:`level_audio`.
"""

from __future__ import annotations

from typing import Literal, cast

import numpy as np

from denoise.base import Audio

Level = Literal["full", "light", "raw"]
LEVELS: tuple[Level, ...] = ("full", "light", "raw")
LIGHT_LIMIT_DB = 12.0
"""The most noise the ``light`` level removes."""
NO_LIMIT_DB = 100.0
"""An attenuation limit this high means no limit (the engine mixes nothing back)."""


def parse_level(value: object) -> Level:
    """``value`` as a level.

    Raises:
        ValueError: not one of :data:`LEVELS` (the message names them).
    """
    if value not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}")
    return cast(Level, value)


def _gain(db: float) -> float:
    """The share of the noisy signal an attenuation limit of ``db`` mixes back."""
    return 0.0 if db >= NO_LIMIT_DB else float(10.0 ** (-db / 20.0))


def level_audio(level: Level, cleaned: Audio, raw: Audio, atten_lim_db: float) -> Audio:
    """One frame at ``level``, from the engine's output ``cleaned`` (made with the
    broadcaster's ``atten_lim_db``) and the aligned ``raw`` input.

    ``light`` never removes more than the broadcaster's own setting does: with a
    limit under 12 dB it is the same as ``full``.
    """
    if level == "full":
        return cleaned
    if level == "raw":
        return raw
    g = _gain(atten_lim_db)
    b = max(g, _gain(LIGHT_LIMIT_DB))
    if b == g:
        return cleaned
    # enhanced = (cleaned - g * raw) / (1 - g); light = (1 - b) * enhanced + b * raw
    scale = np.float32((1.0 - b) / (1.0 - g))
    out = scale * (cleaned - np.float32(g) * raw) + np.float32(b) * raw
    return out.astype(np.float32, copy=False)
