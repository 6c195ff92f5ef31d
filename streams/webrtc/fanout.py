"""Listener fan-out: each level in use is encoded to Opus once and sent to its listeners.

aiortc's ``RTCRtpSender`` encodes whatever frames its track yields, per
listener: each one costs an Opus encode on a thread hop plus an RTP audio-level
computation on the event loop (~0.13 ms of Python per packet). A track that
yields ready ``av.Packet``s is only packetised (``Encoder.pack``), so the
session's pump has each frame encoded once (:meth:`Fanout.send`:
:class:`OpusPacketizer`, on the process's encoder thread, where frames of all
streams are encoded in batches: :class:`EncodeRunner`) and the packet offered
to every listener's :class:`PacketTrack`. Listeners must therefore negotiate Opus
(:func:`prefer_opus`), which every WebRTC browser supports.

Listeners choose a level (:mod:`.levels`); each level someone listens at has
its own encoder, and every encoder stamps its packets with the stream's own
sample position, so a listener moved to another level mid-stream continues on
one RTP timeline: no renegotiation, no jump in time, no gap.

A listener who falls behind (its sender not draining its queue) loses its
oldest packets rather than building up delay: live audio, never a backlog.
"""

from __future__ import annotations

import asyncio
import fractions
from collections import deque
from collections.abc import Sequence

import av
from aiortc import RTCRtpSender, RTCRtpTransceiver
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from denoise.base import Audio
from denoise.batching import BatchScheduler
from denoise.constants import SAMPLE_RATE
from denoise.frames import mono_to_frame

from .levels import Level, level_audio

OPUS_BITRATE = 64_000
"""Mono voice: 64 kbit/s is transparent for speech (browsers send 32-40)."""
MAX_QUEUED = 3
"""20 ms packets a listener's sender may lag behind (60 ms) before the oldest are dropped
(with 10 ms packets, twice as many: the same 60 ms). A longer chunk's packets are all kept:
see :meth:`PacketTrack.offer`."""
FRAME_MS = (10, 20)
"""Opus packet durations the packetizer can make."""
_TIME_BASE = fractions.Fraction(1, SAMPLE_RATE)


class OpusPacketizer:
    """Float mono -> Opus packets (mono, ``frame_ms`` long, restricted low delay). One
    stream; one thread at a time.

    ``application=lowdelay`` (CELT only): its look-ahead is 2.5 ms where the VoIP
    mode's is 6.5 ms, and at 64 kbit/s it scores as well on speech (wide-band PESQ
    4.49 against 4.44 for 20 ms packets) for the same CPU, and less CPU than VoIP for
    10 ms packets (``bench/opus_modes.py``).

    10 ms packets reach the listener a frame sooner when the broadcaster sends 10 ms
    frames; a 20 ms chunk is then encoded as two packets (pts 480 samples apart).
    """

    def __init__(self, frame_ms: int = 20) -> None:
        if frame_ms not in FRAME_MS:
            raise ValueError(f"Opus packets must be one of {FRAME_MS} ms long")
        self._codec = av.CodecContext.create("libopus", "w")
        self._codec.bit_rate = OPUS_BITRATE
        self._codec.format = "s16"
        self._codec.layout = "mono"
        self._codec.sample_rate = SAMPLE_RATE
        self._codec.time_base = _TIME_BASE
        self._codec.options = {"application": "lowdelay", "frame_duration": str(frame_ms)}
        self._skew: int | None = None

    def encode(self, samples: Audio, pts: int) -> list[av.Packet]:
        """Encode one chunk (normally one 10 or 20 ms frame) that starts at sample ``pts``
        of the stream; returns the packets it completed (a chunk shorter than a packet
        waits in the codec for the next; an empty chunk completes none).

        Packets carry ``pts`` on the stream's sample timeline (whenever this encoder
        started) and a 1/48000 ``time_base``, as ``Encoder.pack`` expects.

        Raises:
            av.FFmpegError: the codec refused the chunk.
        """
        if not samples.size:  # libopus refuses a frame of 0 samples (av.error.MemoryError)
            return []
        frame = mono_to_frame(samples, pts=pts, layout="mono")
        packets = list(self._codec.encode(frame))
        for p in packets:
            if self._skew is None:  # the encoder's pre-skip shifts its first pts
                self._skew = (p.pts or 0) - pts
            p.pts = (p.pts or 0) - self._skew
            p.time_base = _TIME_BASE
        return packets


Encoded = list[av.Packet] | Exception
"""One chunk's packets, or the error that encoding it raised (see :class:`EncodeRunner`)."""


class EncodeRunner:
    """``BatchRunner`` for :class:`denoise.batching.BatchScheduler`: items are
    ``(packetizer, samples, pts)``; each result is that chunk's packets, or the exception
    its encode raised.

    Several streams' frames encoded in a row on one thread find the codec warm
    (one 20 ms encode costs ~0.3 ms after a pause, ~0.13 ms right after another),
    and their results reach the event loop with one wake-up.

    Errors are caught per item, because the scheduler hands an error raised by
    ``run_batch`` to every item of the batch: one stream's bad chunk would end the
    streams of everyone encoded alongside it. :meth:`Fanout.publish` raises the error in
    the stream it belongs to.
    """

    def run_batch(self, items: Sequence[tuple[OpusPacketizer, Audio, int]]) -> list[Encoded]:
        return [_encode(packetizer, samples, pts) for packetizer, samples, pts in items]


def _encode(packetizer: OpusPacketizer, samples: Audio, pts: int) -> Encoded:
    try:
        return packetizer.encode(samples, pts)
    except Exception as exc:  # this item's outcome, not the batch's
        return exc


ENCODE = EncodeRunner()


class PacketTrack(MediaStreamTrack):
    """A listener's track: yields the live stream's Opus packets (newest kept)."""

    kind = "audio"

    def __init__(self, max_queued: int = MAX_QUEUED) -> None:
        super().__init__()
        self._max = max_queued
        self._queue: deque[av.Packet] = deque()
        self._ready = asyncio.Event()
        self._started = False
        self.dropped = 0
        """Packets discarded because this listener's sender fell behind (or, at its start,
        queued while the connection was being set up)."""

    def offer(self, *packets: av.Packet) -> None:
        """Queue one chunk's packets (called by the session's pump, on the loop), dropping
        the oldest beyond ``max_queued`` or beyond this chunk, whichever holds more.

        A chunk longer than the cap (a broadcaster's 120 ms frames, a resampler's burst)
        arrives at once and is sent at once: capping it would drop part of it every time,
        even for a listener who keeps up. The delay stays bounded all the same: a listener
        who falls behind keeps at most one chunk, or ``max_queued`` packets.
        """
        self._queue.extend(packets)
        keep = max(self._max, len(packets))
        while len(self._queue) > keep:
            self._queue.popleft()
            self.dropped += 1
        self._ready.set()

    async def recv(self) -> av.Packet:  # aiortc senders accept packets as well as frames
        """The oldest queued packet; the first call returns the newest one only.

        Packets queued while the listener's connection was being set up are stale:
        sent in a burst they would fill the browser's jitter buffer, which then plays
        that much later for a long while (it shrinks its buffer only slowly).
        """
        while not self._queue:
            if self.readyState != "live":
                raise MediaStreamError
            self._ready.clear()
            await self._ready.wait()
        if not self._started:
            self._started = True
            while len(self._queue) > 1:
                self._queue.popleft()
                self.dropped += 1
        return self._queue.popleft()

    def stop(self) -> None:
        super().stop()
        self._ready.set()  # a waiting recv() sees the end


class Fanout:
    """The session's listener tracks, grouped by level, each level fed from its encoder
    of ``frame_ms`` packets."""

    def __init__(self, frame_ms: int = 20) -> None:
        if frame_ms not in FRAME_MS:
            raise ValueError(f"Opus packets must be one of {FRAME_MS} ms long")
        self.frame_ms = frame_ms
        self._groups: dict[Level, set[PacketTrack]] = {}
        self._encoders: dict[Level, OpusPacketizer] = {}

    @property
    def listening(self) -> bool:
        return bool(self._groups)

    def levels(self) -> list[Level]:
        """The levels someone listens at now."""
        return list(self._groups)

    def subscribe(self, level: Level) -> PacketTrack:
        track = PacketTrack(MAX_QUEUED * 20 // self.frame_ms)
        self._join(track, level)
        return track

    def move(self, track: PacketTrack, level: Level) -> None:
        """Feed ``track`` from ``level``'s encoder from the next frame on."""
        self._leave(track)
        self._join(track, level)

    def unsubscribe(self, track: PacketTrack) -> None:
        self._leave(track)
        track.stop()

    def _join(self, track: PacketTrack, level: Level) -> None:
        self._groups.setdefault(level, set()).add(track)

    def _leave(self, track: PacketTrack) -> None:
        for level, tracks in list(self._groups.items()):
            tracks.discard(track)
            if not tracks:  # nobody at this level: a later listener starts a fresh encoder
                del self._groups[level]
                self._encoders.pop(level, None)

    def encoder(self, level: Level) -> OpusPacketizer:
        """``level``'s encoder (created on first use; only the pump uses it)."""
        encoder = self._encoders.get(level)
        if encoder is None:
            encoder = self._encoders[level] = OpusPacketizer(self.frame_ms)
        return encoder

    async def send(
        self, codec: BatchScheduler, cleaned: Audio, raw: Audio, atten_db: float, position: int
    ) -> None:
        """Encode one frame once per level someone listens at (on ``codec``, the runtime's
        codec thread), and offer each level's packets to its listeners.

        ``raw`` is the input lined up with ``cleaned``; ``atten_db`` the engine's
        attenuation limit; ``position`` the frame's first sample on the stream's clock.

        Raises:
            Exception: a level's encode failed (see :meth:`publish`).
        """
        futures = [
            (
                level,
                codec.submit_async(
                    ENCODE,
                    (self.encoder(level), level_audio(level, cleaned, raw, atten_db), position),
                ),
            )
            for level in self.levels()
        ]
        for level, future in futures:  # submitted together: encoded in one batch
            self.publish(level, await future)

    def publish(self, level: Level, packets: Encoded) -> None:
        """Offer one chunk's packets (from :data:`ENCODE`) to ``level``'s listeners.

        Raises:
            Exception: the chunk's encode failed (the error :class:`EncodeRunner` caught).
        """
        if isinstance(packets, Exception):
            raise packets
        if not packets:  # the chunk waits in the encoder: wake no listener for nothing
            return
        for track in self._groups.get(level, ()):
            track.offer(*packets)

    def close(self) -> None:
        for tracks in list(self._groups.values()):
            for track in list(tracks):
                self.unsubscribe(track)


def prefer_opus(transceiver: RTCRtpTransceiver) -> None:
    """Make ``transceiver`` negotiate Opus only; call it before applying the remote offer.

    Raises:
        ValueError: aiortc offers no Opus (cannot happen with a stock build).
    """
    codecs = RTCRtpSender.getCapabilities("audio").codecs
    opus = [c for c in codecs if c.mimeType.lower() == "audio/opus"]
    if not opus:
        raise ValueError("this server's WebRTC stack has no Opus codec")
    transceiver.setCodecPreferences(opus)


def offers_opus(sdp: str) -> bool:
    """True if an audio section of the offer lists an Opus payload type on its m= line
    (Opus is the only codec listeners are sent)."""
    listed: set[str] = set()
    opus: set[str] = set()
    for line in sdp.splitlines():
        line = line.strip()
        if line.startswith("m=audio "):
            listed.update(line.split()[3:])
        elif line.lower().startswith("a=rtpmap:") and " opus/48000" in line.lower():
            opus.add(line[len("a=rtpmap:") :].split()[0])
    return bool(listed & opus)
