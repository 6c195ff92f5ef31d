"""The broadcaster's audio decoded on the process's codec thread, in batches.

aiortc decodes each received track on a thread of its own (``decoder_worker``)
that hands every decoded frame back to the event loop with
``run_coroutine_threadsafe``: per packet, two thread wake-ups and a task on the
loop. With many streams those wake-ups cost more than the decoding. Here a
track's encoded frames go instead to the process's codec thread
(:class:`denoise.batching.BatchScheduler`, the one that encodes the listeners'
packets), where whatever arrived meanwhile, from every stream, is decoded in a
row and returned to the loop with one wake-up per batch. Opus is decoded
straight to float mono (libopus downmixes), the form the engine takes, so no
conversion is left for the loop.

aiortc has no public hook for this: :func:`decode_in_batches` replaces the
receiver's private decoder queue before its first packet, and parks aiortc's
decoder thread (it starts anyway) until the receiver stops.

A packet that cannot be decoded is skipped (the decoder keeps its state) and counted
in the stream's :class:`DecodeErrors`, which logs through the stream's own logger at
most every :data:`LOG_EVERY_S`: a broadcaster sending junk must not flood the log.
"""

from __future__ import annotations

import asyncio
import fractions
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import av
from aiortc.codecs import get_decoder
from aiortc.codecs.base import Decoder
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtcrtpreceiver import RTCRtpReceiver

from denoise.batching import BatchScheduler, SchedulerClosed
from denoise.constants import SAMPLE_RATE
from fc25_denoise.ratelog import EventsLog

from .logs import Log
from .pace import RealTimeGate, packet_seconds

logger = logging.getLogger(__name__)

_TIME_BASE = fractions.Fraction(1, SAMPLE_RATE)

LOG_EVERY_S = 10.0
"""Undecodable packets are logged at most this often per stream (the first at once)."""


class DecodeErrors:
    """A stream's undecodable packets: counted, and logged at most every
    :data:`LOG_EVERY_S` through the stream's logger.

    ``add`` runs on the codec thread (its only writer); ``count`` may be read from the
    loop. A suppressed packet costs a clock read and two additions: no formatting.
    """

    def __init__(self, log: Log, clock: Callable[[], float] = time.monotonic) -> None:
        self.log = log
        self._events = EventsLog(LOG_EVERY_S, clock)

    @property
    def count(self) -> int:
        """Packets that could not be decoded (skipped)."""
        return self._events.count

    def add(self, codec_name: str, exc: Exception) -> None:
        due = self._events.add()
        if due is None:
            return
        if due.since_s is None:
            self.log.warning(
                "cannot decode a %s packet, skipped (%s); undecodable packets are "
                "counted and logged at most every %.0f s",
                codec_name,
                exc,
                LOG_EVERY_S,
            )
        else:
            self.log.warning(
                "%d more undecodable %s packets in the last %.0f s (%d in all; latest: %s)",
                due.unlogged,
                codec_name,
                due.since_s,
                self.count,
                exc,
            )


class TrackDecoder:
    """One received track's decoder state (codec thread only)."""

    def __init__(self, errors: DecodeErrors | None = None) -> None:
        self._name: str | None = None
        self._opus: av.AudioCodecContext | None = None
        self._other: Decoder | None = None
        self.errors = errors if errors is not None else DecodeErrors(logger)

    def decode(self, codec: RTCRtpCodecParameters, encoded: JitterFrame) -> list[av.AudioFrame]:
        """The frames in one encoded frame; [] when it is empty or cannot be decoded
        (counted in ``errors``; the decoder keeps its state, as aiortc's does)."""
        if codec.name != self._name:
            self._open(codec)
        if not encoded.data:
            # av.Packet(b"") is a null packet: it would flush the decoder, which then
            # answers every later packet with EOF. An empty payload carries no audio.
            return []
        try:
            try:
                return self._decode(encoded)
            except EOFError:  # flushed all the same: a fresh decoder, or silence for good
                self._open(codec)
                return self._decode(encoded)
        except av.FFmpegError as exc:
            self.errors.add(codec.name, exc)
            return []

    def _open(self, codec: RTCRtpCodecParameters) -> None:
        self._name = codec.name
        opus = codec.name.lower() == "opus"
        self._opus = _opus_mono() if opus else None
        self._other = None if opus else get_decoder(codec)

    def _decode(self, encoded: JitterFrame) -> list[av.AudioFrame]:
        if self._opus is not None:
            packet = av.Packet(encoded.data)
            packet.pts = encoded.timestamp
            packet.time_base = _TIME_BASE
            return self._opus.decode(packet)
        assert self._other is not None
        return [f for f in self._other.decode(encoded) if isinstance(f, av.AudioFrame)]


def _opus_mono() -> av.AudioCodecContext:
    codec = av.CodecContext.create("libopus", "r")
    assert isinstance(codec, av.AudioCodecContext)
    codec.options = {"request_sample_fmt": "flt"}  # libopus's float output, no s16 step
    codec.layout = "mono"
    codec.sample_rate = SAMPLE_RATE
    return codec


class DecodeRunner:
    """``BatchRunner``: items are ``(decoder, codec, encoded frame)``; each result is
    that frame's decoded frames."""

    def run_batch(
        self, items: Sequence[tuple[TrackDecoder, RTCRtpCodecParameters, JitterFrame]]
    ) -> list[list[av.AudioFrame]]:
        return [decoder.decode(codec, encoded) for decoder, codec, encoded in items]


DECODE = DecodeRunner()


class BatchedDecoderQueue:
    """Stands in for a receiver's decoder queue (``put`` from the loop, ``get`` from
    aiortc's decoder thread) and decodes on ``scheduler`` instead.

    Decoded frames go to ``output`` (the track's queue) in arrival order: the
    scheduler has one worker, and its results reach the loop batch by batch, in
    order. ``put(None)`` (the receiver stopping) ends the track after the frames
    already decoded, and releases aiortc's parked thread. Undecodable packets are
    counted in ``errors`` (default: unnamed, on this module's logger). With a
    ``pace``, packets past real time are refused before they are decoded.
    """

    def __init__(
        self,
        scheduler: BatchScheduler,
        output: asyncio.Queue[Any],
        errors: DecodeErrors | None = None,
        pace: RealTimeGate | None = None,
    ) -> None:
        self._scheduler = scheduler
        self._output = output
        self._pace = pace
        self._decoder = TrackDecoder(errors)
        self._ended = threading.Event()
        self._pending: asyncio.Future[list[av.AudioFrame]] | None = None

    def put(self, task: tuple[RTCRtpCodecParameters, JitterFrame] | None) -> None:
        if task is None:
            self._ended.set()
            if self._pending is None or self._pending.done():
                self._output.put_nowait(None)
            else:  # after the frames still being decoded
                self._pending.add_done_callback(lambda _: self._output.put_nowait(None))
            return
        if self._ended.is_set():
            return
        codec, encoded = task
        if self._pace is not None and not self._pace.admit(packet_seconds(codec, encoded.data)):
            return
        try:
            fut = self._scheduler.submit_async(DECODE, (self._decoder, codec, encoded))
        except SchedulerClosed:  # the server is shutting down
            return
        fut.add_done_callback(self._deliver)
        self._pending = fut

    def _deliver(self, fut: asyncio.Future[list[av.AudioFrame]]) -> None:
        if fut.cancelled():
            return
        if fut.exception() is not None:
            self._decoder.errors.log.warning("decoding failed: %r", fut.exception())
            return
        for frame in fut.result():
            self._output.put_nowait(frame)

    def get(self) -> None:
        """aiortc's decoder thread waits here until the receiver stops; None ends it."""
        self._ended.wait()


def decode_in_batches(
    receiver: RTCRtpReceiver,
    scheduler: BatchScheduler,
    errors: DecodeErrors | None = None,
    pace: RealTimeGate | None = None,
) -> bool:
    """Make ``receiver`` decode on ``scheduler`` (call before it receives: on "track"),
    counting its undecodable packets in ``errors`` (the stream's) and holding it to real
    time with ``pace``.

    Returns False (and logs) if aiortc's internals changed, leaving aiortc's own
    decoder thread in charge.
    """
    attr = "_RTCRtpReceiver__decoder_queue"
    track = getattr(receiver, "track", None)
    output = getattr(track, "_queue", None)
    if (
        getattr(receiver, "_RTCRtpReceiver__decoder_thread", 1) is not None
        or not isinstance(output, asyncio.Queue)
        or not hasattr(receiver, attr)
    ):
        log = errors.log if errors is not None else logger
        log.warning("cannot move decoding off aiortc's thread (aiortc internals changed)")
        return False
    setattr(receiver, attr, BatchedDecoderQueue(scheduler, output, errors, pace))
    return True
