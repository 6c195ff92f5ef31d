"""The live source: pulls the broadcaster's audio, returns it cleaned, one frame at a time.

:class:`LiveSource` wraps the broadcaster's aiortc track. Its single consumer
(the session's pump) calls :meth:`LiveSource.next_chunk` in a loop, so one
stream's frames are processed strictly in order. Inference never runs on the
event loop: the frame is submitted to the denoiser (``Denoiser.submit``: the
batch scheduler's threads, or the backend's own thread) and awaited without a
task of its own. If the engine has not returned a frame within the budget, the
stream degrades instead of queueing: that frame, and every frame that arrives
while the engine is still busy, is passed through (raw audio delayed by the
engine's latency so the timeline stays continuous) and counted.

A whole process can also fall behind (its event loop saturated): then frames
queue up in aiortc before the source ever sees them, and no inference timer
notices. So the source also compares each frame's media time with the wall
clock; once the stream is more than ``max_backlog`` behind its best-ever
position, frames are dropped (counted) until it has caught up, which also
sheds the work of relaying, encoding and recording them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

import av
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from denoise.base import Audio, Denoiser
from denoise.constants import HOP_SAMPLES, SAMPLE_RATE
from denoise.frames import StreamResampler, frame_to_mono

logger = logging.getLogger(__name__)


class BacklogMeter:
    """Tells whether a frame arrives too late relative to the stream's own clock.

    ``lag`` = wall clock - media time of the frame. Its lowest value so far is
    the stream's on-time baseline (network and jitter-buffer delay included);
    a frame whose lag exceeds it by more than ``max_backlog`` seconds is behind.
    The baseline creeps up by ``DRIFT`` (1000 ppm) so a sender whose clock runs
    slightly slow is never mistaken for a backlog.
    """

    DRIFT = 0.001

    def __init__(self, max_backlog: float) -> None:
        self.max_backlog = max_backlog
        self.excess = 0.0
        self._floor: float | None = None
        self._last: float | None = None

    def behind(self, frame: av.AudioFrame) -> bool:
        if frame.pts is None or frame.time_base is None:
            return False
        now = time.monotonic()
        lag = now - float(frame.pts * frame.time_base)
        if self._floor is None or self._last is None:
            self._floor = lag
        else:
            self._floor = min(self._floor + self.DRIFT * (now - self._last), lag)
        self._last = now
        self.excess = lag - self._floor
        return self.excess > self.max_backlog


class DelayLine:
    """Delays a sample stream by a fixed number of samples."""

    def __init__(self, delay: int) -> None:
        self._buf = np.zeros(delay, dtype=np.float32)

    def process(self, x: Audio) -> Audio:
        joined = np.concatenate((self._buf, x))
        self._buf = joined[x.size :]
        return joined[: x.size]


class RateConverter:
    """Brings each frame's samples to :data:`SAMPLE_RATE`, from whatever rate that frame
    has: Opus decodes at 48 kHz, PCMU/PCMA at 8 kHz, G722 at 16 kHz, and a sender may
    switch between the codecs it negotiated mid-stream.

    The streaming resampler holds samples back (up to ~150 ms from 8 kHz), so its output
    for a frame may be empty, or several frames at once. When the rate changes, the old
    resampler is drained first: its tail comes out ahead of the new rate's audio.
    """

    def __init__(self) -> None:
        self._resampler: StreamResampler | None = None

    def process(self, x: Audio, rate: int) -> Audio:
        """``x`` (mono at ``rate``) at 48 kHz, after whatever the resampler still held."""
        tail: Audio | None = None
        if self._resampler is not None and self._resampler.in_rate != rate:
            tail = self._resampler.process(np.zeros(0, np.float32), last=True)
            self._resampler = None
        if rate != SAMPLE_RATE:
            if self._resampler is None:
                self._resampler = StreamResampler(rate, SAMPLE_RATE)
            x = self._resampler.process(x)
        return x if tail is None else np.concatenate((tail, x))


@dataclass(frozen=True, slots=True)
class CleanChunk:
    """One frame of the live stream after the engine, as float32 mono at 48 kHz."""

    pts: int | None
    """Media time in samples at 48 kHz (None if the source frame had none)."""
    cleaned: Audio
    """What listeners hear and the recording keeps (raw audio if the frame was bypassed)."""
    raw: Audio
    """The microphone input delayed by the model latency: lines up with ``cleaned``."""


@dataclass
class TrackStats:
    """Frame counters for one stream (read by the session for logs and the API)."""

    frames: int = 0
    denoised: int = 0
    bypassed: int = 0
    """Frames passed through because the engine was busy or late."""
    late: int = 0
    """Frames whose inference missed the budget (a subset of ``bypassed``)."""
    dropped: int = 0
    """Frames dropped because the stream had fallen behind real time."""
    engine_s: float = 0.0
    """Time the denoised frames waited for the engine, in all (queue and inference)."""
    engine_hops: int = 0
    """Model hops in the denoised frames (10 ms each)."""


class SourceEnded(MediaStreamError):
    """The broadcaster's audio ended, stayed silent too long, or the source was stopped."""


class LiveSource:
    """Wraps the broadcaster's ``track``; each :meth:`next_chunk` is the next frame, cleaned.

    Ends (raises :class:`SourceEnded`) when the track ends or sends nothing
    for ``media_timeout`` seconds, which is how a vanished browser is noticed
    even before ICE gives up.
    """

    def __init__(
        self,
        track: MediaStreamTrack,
        denoiser: Denoiser,
        *,
        budget: float,
        media_timeout: float,
        max_backlog: float = 0.2,
        log: logging.LoggerAdapter[logging.Logger] | None = None,
    ) -> None:
        self._track = track
        self._denoiser = denoiser
        self._budget = budget
        self._media_timeout = media_timeout
        self._delay = DelayLine(denoiser.latency_samples)
        self._busy: asyncio.Future[Audio] | None = None
        self._fifo: Audio = np.zeros(0, dtype=np.float32)
        self._rate = RateConverter()
        self._log = log or logging.LoggerAdapter(logger, {})
        self._ended = False
        self.stats = TrackStats()
        self._backlog = BacklogMeter(max_backlog)

    @property
    def behind_s(self) -> float:
        """How far the latest frame arrived behind the stream's on-time baseline."""
        return self._backlog.excess

    def stop(self) -> None:
        """End the source: the next (or a waiting) :meth:`next_chunk` raises. Idempotent."""
        self._ended = True
        self._track.stop()  # a recv() waiting on the track raises MediaStreamError

    async def next_chunk(self) -> CleanChunk:
        """The next frame's audio as float mono: cleaned, and the raw input lined up with it.

        Never empty: frames the resampler holds back entirely (most 20 ms frames at 8 kHz)
        are passed over, and their audio comes with a later chunk. Call from one task at
        a time (the pump).

        Raises:
            SourceEnded: the track ended, stayed silent too long, or :meth:`stop` was called.
        """
        while True:
            frame = await self._next_frame()
            x = self._rate.process(frame_to_mono(frame), frame.sample_rate)
            if x.size:  # an empty chunk would reach the engine and the listeners' encoders
                break
        raw = self._delay.process(x)
        y = await self._process(x, raw)
        pts = None if frame.pts is None else int(frame.pts * SAMPLE_RATE / frame.sample_rate)
        return CleanChunk(pts, y, raw)

    async def _next_frame(self) -> av.AudioFrame:
        """The track's next frame that is not behind real time (later ones are dropped).

        Raises:
            SourceEnded: as :meth:`next_chunk`.
        """
        while True:
            if self._ended:
                raise SourceEnded
            try:
                # asyncio.timeout, not wait_for: no extra task per frame.
                async with asyncio.timeout(self._media_timeout):
                    frame = await self._track.recv()
            except (TimeoutError, MediaStreamError):
                if not self._ended:
                    self._log.info("source ended or silent for %.1fs", self._media_timeout)
                    self.stop()
                raise SourceEnded from None
            assert isinstance(frame, av.AudioFrame)
            if not self._backlog.behind(frame):
                return frame
            self.stats.dropped += 1
            if self.stats.dropped == 1 or self.stats.dropped % 50 == 0:
                self._log.warning(
                    "stream %.0f ms behind real time: dropping frames (dropped=%d of %d)",
                    self._backlog.excess * 1000,
                    self.stats.dropped,
                    self.stats.frames + self.stats.dropped,
                )

    async def _process(self, x: Audio, raw: Audio) -> Audio:
        self.stats.frames += 1
        if self._busy is not None and not self._busy.done():
            return self._bypass(raw, late=False)
        # A future, not a task: the hop runs on the engine's threads; asyncio.wait
        # neither cancels it at the deadline nor wraps it in a task.
        started = time.monotonic()
        fut = self._denoiser.submit(x)
        done, _ = await asyncio.wait((fut,), timeout=self._budget)
        if not done:
            self._busy = fut  # finishes in the background; its output is dropped
            fut.add_done_callback(_consume)
            return self._bypass(raw, late=True)
        self._busy = None
        self.stats.engine_s += time.monotonic() - started
        self.stats.engine_hops += max(1, x.size // HOP_SAMPLES)
        y = fut.result()
        if y.size != x.size:
            # Frames that are not whole hops (rare Opus sizes): the engine returns
            # whole hops only, so re-chunk through a FIFO to keep the timeline.
            self._fifo = np.concatenate((self._fifo, y))
            short = x.size - self._fifo.size
            if short > 0:
                self._fifo = np.concatenate((np.zeros(short, np.float32), self._fifo))
            y, self._fifo = self._fifo[: x.size], self._fifo[x.size :]
        self.stats.denoised += 1
        return y

    def _bypass(self, raw: Audio, *, late: bool) -> Audio:
        self.stats.bypassed += 1
        if late:
            self.stats.late += 1
        if self.stats.bypassed == 1 or self.stats.bypassed % 100 == 0:
            self._log.warning(
                "engine behind: passing audio through (bypassed=%d late=%d of %d frames)",
                self.stats.bypassed,
                self.stats.late,
                self.stats.frames,
            )
        return raw


def _consume(fut: asyncio.Future[Audio]) -> None:
    """Retrieve an abandoned hop's outcome so asyncio does not log it as never retrieved."""
    if not fut.cancelled():
        fut.exception()
