"""One live broadcast: the broadcaster's peer connection, the pipeline, listeners.

Pipeline: broadcaster track -> :class:`~.source.LiveSource` -> the session's
pump, its only consumer, which for every frame in order (a) encodes it to Opus
once and offers the packet to every listener (:mod:`.fanout`; a late or slow
listener gets the newest packets, never a backlog), then (b) hands the cleaned
audio, and the raw input lined up with it, to the session's
:class:`~.spool.SpoolWriter`, which never makes the pump wait for the disk.

The session runs on the process's :class:`~.runtime.LiveRuntime` (threads and
schedulers shared by all sessions) and owns every peer connection, task and
file it opens; ``stop()`` closes them all and is safe to call from any cause
(API, ICE failure, media timeout, server shutdown) any number of times.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import uuid
from collections.abc import Awaitable, Callable, Collection

from aiortc import RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack

from denoise.base import Audio, Denoiser
from denoise.constants import PACKET_SAMPLES

from ..aiotasks import cancel_within
from .decode import DecodeErrors, decode_in_batches
from .fanout import ENCODE, Fanout, offers_opus, prefer_opus
from .levels import Level, level_audio
from .peer import apply_client_offer, ask_ptime, new_peer_connection, tune_receive_latency
from .runtime import LiveRuntime
from .source import LiveSource, SourceEnded
from .stream import (
    Listener,
    ListenerEnded,
    SessionClosed,
    SessionResult,
    SpoolTarget,
    StreamIdentity,
    StreamLog,
    Telemetry,
)
from .telemetry import PERIOD_S, EngineClock, StreamMeter

logger = logging.getLogger(__name__)

TELEMETRY_UNWIND_S = 0.5
"""How long a stop waits for the cancelled telemetry task before going on without it."""


def _named(item: Listener) -> str:
    """How log lines name a listener connection: its listen id and its user's id."""
    return f"listen {item.listen_id} listener={item.user_id}"


class BroadcastSession:
    """A user's live stream in this process."""

    def __init__(
        self,
        runtime: LiveRuntime,
        stream: StreamIdentity,
        denoiser: Denoiser,
        spool: SpoolTarget,
        on_finished: Callable[[SessionResult], Awaitable[int | None]],
        on_listener_ended: ListenerEnded | None = None,
        on_telemetry: Telemetry | None = None,
        *,
        frame_ms: int | None = None,
    ) -> None:
        """``on_finished`` saves the result (returns the recording id);
        ``on_listener_ended`` hears of every listener the server ended on purpose
        (replaced, revoked, stream ended), not of those whose connection failed;
        ``on_telemetry`` gets the ``telemetry`` event twice a second while audio
        flows, with the user ids it is for (the broadcaster and the listeners).
        ``frame_ms`` (10 or 20; default: the runtime's ``opus_frame_ms``) is the Opus
        packet duration asked of the broadcaster and sent to the listeners.
        The session takes ownership of ``denoiser`` and closes it when it stops."""
        self.user_id = stream.user_id
        self.username = stream.username
        self.session_id = stream.session_id
        self.log = StreamLog(logger, {"stream": str(stream.session_id), "user": stream.username})
        self._runtime = runtime
        self._config = runtime.config
        self._denoiser = denoiser
        self._on_finished = on_finished
        self._on_listener_ended = on_listener_ended
        self._on_telemetry = on_telemetry
        self.share_raw = False
        """Whether friends may hear the raw microphone (the hub keeps it current)."""
        self._meter = StreamMeter()
        self._decode_errors = DecodeErrors(self.log)
        self._telemetry: asyncio.Task[None] | None = None
        self._pc = new_peer_connection(self._config.stun_urls)
        self._frame_ms = frame_ms or self._config.opus_frame_ms
        self._fanout = Fanout(self._frame_ms)
        self._source: LiveSource | None = None
        self._listeners: dict[uuid.UUID, Listener] = {}
        self._spool = runtime.spool_writer(spool.cleaned, spool.raw, self.log)
        self._pump: asyncio.Task[None] | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self._stopping: asyncio.Task[SessionResult] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # --- state

    @property
    def listeners(self) -> int:
        return len(self._listeners)

    @property
    def recorded_bytes(self) -> int:
        """What this stream's recording takes on the spool so far (an upper bound of
        what it will take in storage: FLAC is smaller than the spool's WAV)."""
        return self._spool.spooled_bytes

    def limit_recording(self, max_bytes: int) -> None:
        """Keep at most ``max_bytes`` of recording (the quota left); audio past it is not
        recorded, though the stream stays live until it is stopped."""
        self._spool.limit_bytes(max_bytes)

    @property
    def behind_ms(self) -> float:
        """How far this stream's audio is behind real time in the server (0: on time)."""
        return 1000 * self._source.behind_s if self._source else 0.0

    @property
    def stopped(self) -> bool:
        return self._stopping is not None

    @property
    def stats(self) -> dict[str, int]:
        s = self._source.stats if self._source else None
        return {
            "frames": s.frames if s else 0,
            "denoised": s.denoised if s else 0,
            "bypassed": s.bypassed if s else 0,
            "late": s.late if s else 0,
            "dropped": s.dropped if s else 0,
            "unrecorded": self._spool.lost_samples // PACKET_SAMPLES,
            "undecodable": self._decode_errors.count,
        }

    def set_atten_lim(self, db: float) -> None:
        self._denoiser.set_atten_lim(db)

    # --- broadcaster

    async def accept_offer(self, offer: RTCSessionDescription) -> RTCSessionDescription:
        """Answer the broadcaster's offer (ICE gathering completes before returning),
        with Opus as the only codec.

        Raises:
            ValueError: aiortc rejected the SDP (whatever its parser raised). The
            caller must then :meth:`stop` the session, which closes the peer.
        """
        pc = self._pc

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if track.kind != "audio" or self._source is not None:
                return
            for transceiver in pc.getTransceivers():
                if transceiver.receiver.track is track:
                    tune_receive_latency(
                        transceiver.receiver, self._config.jitter_prefetch, self.log
                    )
                    decode_in_batches(
                        transceiver.receiver, self._runtime.codec, self._decode_errors
                    )
            self._source = LiveSource(
                track,
                self._denoiser,
                budget=self._config.budget,
                media_timeout=self._config.media_timeout,
                max_backlog=self._config.max_backlog,
                log=self.log,
            )
            self._pump = asyncio.create_task(self._run_pump(self._source))
            if self._on_telemetry is not None:
                self._telemetry = asyncio.create_task(self._run_telemetry(self._source))

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            self.log.info("broadcaster connection %s", pc.connectionState)
            if pc.connectionState in ("failed", "closed"):
                self._spawn(self.stop(f"connection {pc.connectionState}"))

        # Like a listener's: the transceiver exists before the offer is applied, so that
        # aiortc negotiates Opus only (the codec the decoder thread batches), whatever else
        # the offer lists. The hub has checked that it offers Opus.
        prefer_opus(pc.addTransceiver("audio", direction="recvonly"))
        answer = await apply_client_offer(pc, offer)
        if self._source is None:
            raise ValueError("the offer carries no audio track to broadcast.")
        await pc.setLocalDescription(answer)
        self._watchdog = asyncio.create_task(self._connect_watchdog())
        local = pc.localDescription
        if self._frame_ms != 20:  # 20 ms: what browsers send unasked
            local = RTCSessionDescription(ask_ptime(local.sdp, self._frame_ms), local.type)
        return local

    async def _connect_watchdog(self) -> None:
        # A browser that never completes ICE would otherwise hold the slot forever.
        await asyncio.sleep(self._config.connect_timeout)
        if self._pc.connectionState != "connected":
            await self.stop("never connected")

    async def _run_pump(self, source: LiveSource) -> None:
        """Pull every cleaned frame: listeners first (they wait for it), then the recording.

        Nothing here waits for the disk: the spool writer queues the frame.
        """
        fanout = self._fanout
        position = 0  # the stream's sample clock: one RTP timeline for every level
        try:
            while True:
                chunk = await source.next_chunk()
                if fanout.listening:
                    await self._send_levels(chunk.cleaned, chunk.raw, position)
                position += chunk.cleaned.size
                self._meter.add(chunk.cleaned, chunk.raw)
                self._spool.write(chunk.cleaned, chunk.raw)
        except SourceEnded:
            pass
        except Exception:
            self.log.exception("stream pump failed")
        finally:
            self._spawn(self.stop("media ended"))

    async def _run_telemetry(self, source: LiveSource) -> None:
        """Every ``PERIOD_S``: the stream's figures to its broadcaster and listeners."""
        assert self._on_telemetry is not None
        clock = EngineClock()
        while True:
            await asyncio.sleep(PERIOD_S)
            snap = self._meter.snapshot()
            if snap is None:
                continue  # no audio in this period
            s = source.stats
            hop_ms, budget_ms = clock.per_hop(
                s.engine_s, s.engine_hops, s.denoised, self._config.budget
            )
            event = {
                "type": "telemetry",
                "username": self.username,
                "session_id": str(self.session_id),
                "level_dbfs": snap.input_db,
                "noise_in_dbfs": snap.noise_before_db,
                "noise_out_dbfs": snap.noise_after_db,
                "db_removed": round(snap.db_removed, 1),
                "speech": snap.speech,
                "hop_ms": hop_ms,
                "budget_ms": budget_ms,
                "bypassed": s.bypassed,
                "dropped": s.dropped,
                "listeners": len(self._listeners),
            }
            listening = (i.user_id for i in self._listeners.values() if i.confirmed)
            recipients = sorted({self.user_id, *listening})
            try:
                await self._on_telemetry(recipients, event)
            except Exception:
                self.log.exception("could not send telemetry")

    async def _send_levels(self, cleaned: Audio, raw: Audio, position: int) -> None:
        """Encode the frame once per level someone listens at, and send each to them."""
        fanout = self._fanout
        atten = self._denoiser.atten_lim_db
        futures = [
            (
                level,
                self._runtime.codec.submit_async(
                    ENCODE,
                    (fanout.encoder(level), level_audio(level, cleaned, raw, atten), position),
                ),
            )
            for level in fanout.levels()
        ]
        for level, future in futures:  # submitted together: encoded in one batch
            fanout.publish(level, await future)

    # --- listeners

    def listener_ids(self, user_id: int, logins: Collection[str] | None = None) -> list[uuid.UUID]:
        """The listen ids of ``user_id``'s connections to this stream (at most one);
        with ``logins``, only one opened from one of those logins."""
        return [
            lid
            for lid, item in self._listeners.items()
            if item.user_id == user_id and (logins is None or item.login in logins)
        ]

    async def add_listener(
        self,
        offer: RTCSessionDescription,
        user_id: int,
        level: Level = "full",
        login: str | None = None,
    ) -> tuple[uuid.UUID, RTCSessionDescription]:
        """Answer a listener's receive-only offer with the live stream at ``level``
        (``login``: the name of the login it comes from, see :attr:`Listener.login`).

        Returns the new connection's listen id and the answer. A listener has at
        most one connection per stream: ``user_id``'s previous one is ended
        (reason ``"replaced"``) once the new one is answered. A connection that has
        not reached "connected" within the connect timeout is dropped.

        Raises:
            SessionClosed: the stream ended. ValueError: aiortc rejected the SDP
            (whatever its parser raised); the listener's peer is closed. If the call
            fails or is cancelled before the answer, the listener is dropped (its peer
            closed, its slot freed) before the exception goes on.
        """
        if self.stopped or self._source is None:
            raise SessionClosed
        if not offers_opus(offer.sdp):
            raise ValueError("the listener's offer has no Opus codec, the only one sent")
        pc = new_peer_connection(self._config.stun_urls)
        item = Listener(
            uuid.uuid4(), user_id, pc, self._fanout.subscribe(level), level, login=login
        )
        self._listeners[item.listen_id] = item

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState in ("failed", "closed"):
                await self._drop_listener(item.listen_id)

        try:
            # The transceiver exists before the offer is applied: aiortc picks the
            # codec while applying it, in the offer's order unless preferences say.
            prefer_opus(pc.addTransceiver(item.track, direction="sendonly"))
            await pc.setLocalDescription(await apply_client_offer(pc, offer))
        except BaseException:
            # Cancelled too (the client went away and Django cancelled the view): the
            # listener has no watchdog yet, so nothing else would ever free its slot.
            # Shielded: a second cancellation must not interrupt the peer's closing.
            await asyncio.shield(self._drop_listener(item.listen_id))
            raise
        if item.listen_id not in self._listeners:  # the stream stopped meanwhile
            raise SessionClosed
        # Answered ones only: a concurrent listen still being answered replaces this one.
        answered = [
            lid for lid in self.listener_ids(user_id) if self._listeners[lid].watchdog is not None
        ]
        # Before the awaits below: from here on the connect timeout bounds this listener,
        # even if this call is cancelled while the old one is being ended.
        item.watchdog = asyncio.create_task(self._listener_watchdog(item))
        for old in answered:
            await self.end_listener(old, "replaced")
        self.log.info("%s joined (%d listening)", _named(item), len(self._listeners))
        return item.listen_id, pc.localDescription

    def listener(self, listen_id: uuid.UUID) -> Listener | None:
        return self._listeners.get(listen_id)

    def confirm_listener(self, listen_id: uuid.UUID) -> None:
        """Mark a listener whose access was checked once connected: only confirmed
        listeners get the stream's telemetry."""
        item = self._listeners.get(listen_id)
        if item is not None:
            item.confirmed = True

    def listeners_at(self, level: Level) -> list[tuple[uuid.UUID, int]]:
        """``(listen_id, listener user id)`` of the connections hearing ``level``."""
        return [(lid, i.user_id) for lid, i in self._listeners.items() if i.level == level]

    def set_listener_level(self, listen_id: uuid.UUID, level: Level) -> bool:
        """Switch one listener to ``level`` from the next 20 ms frame on (same connection,
        same RTP timeline). False if that listener is gone."""
        item = self._listeners.get(listen_id)
        if item is None:
            return False
        if item.level != level:
            self._fanout.move(item.track, level)
            item.level = level
            self.log.info("%s now hears %s", _named(item), level)
        return True

    async def _listener_watchdog(self, item: Listener) -> None:
        # A listener whose ICE never completes would otherwise hold a slot for minutes.
        await asyncio.sleep(self._config.connect_timeout)
        if item.pc.connectionState != "connected":
            self.log.info("%s never connected; dropped", _named(item))
            await self._drop_listener(item.listen_id)

    async def end_listener(self, listen_id: uuid.UUID, reason: str) -> bool:
        """Close one listener connection on purpose and tell ``on_listener_ended``.

        Returns False if no such listener is connected.
        """
        item = self._listeners.get(listen_id)
        if item is None:
            return False
        await self._drop_listener(listen_id)
        self.log.info("%s ended: %s", _named(item), reason)
        if self._on_listener_ended is not None:
            try:
                await self._on_listener_ended(item.user_id, listen_id, reason)
            except Exception:
                self.log.exception("could not report the end of listener %s", listen_id)
        return True

    async def _drop_listener(self, listen_id: uuid.UUID) -> None:
        item = self._listeners.pop(listen_id, None)
        if item is None:
            return
        if item.watchdog is not None and item.watchdog is not asyncio.current_task():
            item.watchdog.cancel()
        self._fanout.unsubscribe(item.track)
        self.log.info(
            "%s left (%d listening; it lagged and lost %d packets)",
            _named(item),
            len(self._listeners),
            item.track.dropped,
        )
        await item.pc.close()

    # --- ending

    async def stop(self, reason: str) -> SessionResult:
        """End the stream: close peers, finalize the recording, report. Idempotent."""
        if self._stopping is None:
            self._stopping = asyncio.ensure_future(self._stop(reason))
        return await asyncio.shield(self._stopping)

    async def _stop(self, reason: str) -> SessionResult:
        self.log.info("stopping: %s; frames=%s", reason, self.stats)
        if self._watchdog is not None and self._watchdog is not asyncio.current_task():
            self._watchdog.cancel()
        # The telemetry task may be inside a channel-layer publish: the stop does not
        # wait for it to unwind (one of 12 simultaneous stops once answered 20 s late).
        await cancel_within((self._telemetry,), TELEMETRY_UNWIND_S, self._tasks)
        for listen_id in list(self._listeners):
            await self.end_listener(listen_id, "ended")
        if self._source is not None:
            self._source.stop()
        await self._pc.close()
        if self._pump is not None and self._pump is not asyncio.current_task():
            # The pump ends once the stopped source raises SourceEnded. A track that
            # never delivered a frame (a peer that never connected, a rejected offer)
            # may not wake its waiting recv() at all: nothing to drain, so cancel.
            s = self._source.stats if self._source is not None else None
            if s is None or s.frames + s.dropped == 0:
                self._pump.cancel()
                await asyncio.wait([self._pump])
            else:
                try:
                    await asyncio.wait_for(asyncio.shield(self._pump), 2.0)
                except TimeoutError:
                    self._pump.cancel()
        self._fanout.close()
        duration, gap = 0.0, 0.0
        try:
            recorded = await self._spool.close()
            duration, gap = recorded.duration, recorded.gap_seconds
        except Exception:
            self.log.exception("could not finalize the recording")
        await self._runtime.close_denoiser(self._denoiser)
        if gap:
            self.log.warning("the recording has %.2f s of gaps (slow spool disk)", gap)
        result = SessionResult(
            self.session_id,
            self._spool.path,
            duration,
            reason,
            stats=self.stats,
            gap_seconds=gap,
            db_removed=list(self._meter.removed_per_second),
        )
        try:
            result = dataclasses.replace(result, recording_id=await self._on_finished(result))
        except Exception:
            self.log.exception("could not save the finished stream")
        self.log.info("stopped; recorded %.2fs as recording %s", duration, result.recording_id)
        return result

    def stop_soon(self, reason: str) -> None:
        """Start :meth:`stop` without waiting for it (from a callback or another task)."""
        self._spawn(self.stop(reason))

    def _spawn(self, coro: Awaitable[object]) -> None:
        async def run() -> None:
            await coro

        task = asyncio.ensure_future(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
