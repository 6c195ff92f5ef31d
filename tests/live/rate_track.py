"""A broadcaster stand-in whose frames come at the rates a negotiated codec decodes to."""

from __future__ import annotations

import fractions

import av
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from denoise.constants import PACKET_MS


class RateTrack(MediaStreamTrack):
    """Yields one 20 ms s16 mono frame of a 440 Hz tone per entry of ``rates`` (the rate
    of that frame), at once, then ends. ``pts`` counts the frame's own rate's samples on
    one continuous timeline, as aiortc stamps a decoded frame."""

    kind = "audio"

    def __init__(self, rates: list[int]) -> None:
        super().__init__()
        self._rates = list(rates)
        self._seconds = 0.0

    async def recv(self) -> av.AudioFrame:
        if not self._rates:
            self.stop()
            raise MediaStreamError
        rate = self._rates.pop(0)
        n = rate * PACKET_MS // 1000
        t = self._seconds + np.arange(n) / rate
        tone = (0.3 * 32767 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(tone[None, :], format="s16", layout="mono")
        frame.sample_rate = rate
        frame.time_base = fractions.Fraction(1, rate)
        frame.pts = round(self._seconds * rate)
        self._seconds += PACKET_MS / 1000
        return frame
