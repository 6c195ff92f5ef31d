"""A broadcaster's packets held to real time before they are decoded.

Nothing in WebRTC makes a sender pace its audio: a client that sends packets as fast as
it can encode them (13 times real time, measured) had every packet decoded, denoised,
encoded for the listeners and recorded, so one stream slot could cost many times what a
stream is sized at, and its recording grew as fast. :class:`RealTimeGate` admits at most
:data:`PACE_RATE` seconds of audio per second of wall time, with a :data:`BURST_S`
allowance for a network's bunching (a jitter buffer's release after a stall); what is
over is refused before the decoder, counted (the stream's ``too_fast``) and logged at
most every :data:`LOG_EVERY_S`. A packet's length is read from its own header
(:func:`packet_seconds`), not from its RTP timestamp, which the sender chooses.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from fc25_denoise.bucket import TokenBucket
from fc25_denoise.ratelog import EventsLog

from .logs import Log

PACE_RATE = 1.02
"""Seconds of audio admitted per wall second: real time and 2 % for a sender's fast clock
(sound cards are within 0.1 %)."""
BURST_S = 1.0
"""Audio admitted at once after a quiet spell (a network stall, DTX silence)."""
LOG_EVERY_S = 10.0
"""A refusing gate logs at most this often (the first refusal at once)."""

_OPUS_FRAME_MS = (
    (10, 20, 40, 60) * 3  # configurations 0-11: SILK
    + (10, 20) * 2  # 12-15: hybrid
    + (2.5, 5, 10, 20) * 4  # 16-31: CELT
)
"""One Opus frame's length by the TOC byte's configuration (RFC 6716, 3.1)."""
BYTES_PER_S = {"pcmu": 8000, "pcma": 8000, "g722": 8000}
"""G.711 is a byte per 8 kHz sample; G.722 four bits per 16 kHz sample."""
UNKNOWN_PACKET_S = 0.02
"""What a packet whose length cannot be read counts (a browser's usual 20 ms)."""
MAX_PACKET_S = 0.12
"""The longest packet Opus allows (RFC 6716, 3.2.5); a longer claim counts as this."""


def packet_seconds(codec: RTCRtpCodecParameters, payload: bytes) -> float:
    """The audio one encoded packet holds, read from its payload: Opus's TOC byte (and
    frame count), or the byte rate of G.711 and G.722; :data:`UNKNOWN_PACKET_S` for a
    packet that says nothing readable (empty, or another codec)."""
    name = codec.mimeType.split("/")[-1].lower()
    if name in BYTES_PER_S:
        return len(payload) / BYTES_PER_S[name]
    if name != "opus" or not payload:
        return UNKNOWN_PACKET_S
    toc = payload[0]
    code = toc & 0x3
    if code == 0:
        count = 1
    elif code in (1, 2):
        count = 2
    elif len(payload) > 1:
        count = payload[1] & 0x3F
    else:
        return UNKNOWN_PACKET_S
    if count < 1:  # no frames: malformed, and must not pass the gate for free
        return UNKNOWN_PACKET_S
    return min(count * _OPUS_FRAME_MS[toc >> 3] / 1000, MAX_PACKET_S)


class RealTimeGate:
    """A token bucket in seconds of audio: :meth:`admit` takes a packet's length and says
    whether it fits, counting and logging what does not. Used from one thread (the loop)."""

    def __init__(
        self,
        log: Log,
        *,
        rate: float = PACE_RATE,
        burst_s: float = BURST_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._log = log
        self._bucket = TokenBucket(rate, burst_s, clock)
        self._refusals = EventsLog(LOG_EVERY_S, clock)

    @property
    def refused(self) -> int:
        """Packets refused since the stream began."""
        return self._refusals.count

    def admit(self, seconds: float) -> bool:
        """Whether a packet of ``seconds`` of audio may be decoded now; a refusal is
        counted and logged (at most every :data:`LOG_EVERY_S`)."""
        if self._bucket.take(seconds):
            return True
        due = self._refusals.add()
        if due is not None:
            self._log.warning(
                "sender faster than real time: %d packets refused (%d in all)",
                due.unlogged,
                self.refused,
            )
        return False
