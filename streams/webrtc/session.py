"""One live broadcast: the broadcaster's peer connection, the pipeline, listeners.

Pipeline: broadcaster track -> :class:`~.source.LiveSource` -> the session's
pump, its only consumer, which for every frame in order (a) encodes it to Opus
once and offers the packet to every listener (:mod:`.fanout`; a late or slow
listener gets the newest packets, never a backlog), then (b) hands the cleaned
audio, and the raw input lined up with it, to the session's
:class:`~.spool.SpoolWriter`, which never makes the pump wait for the disk.

The session runs on the process's :class:`~.runtime.LiveRuntime` (threads and
schedulers shared by all sessions). It keeps its listeners in a
:class:`~.listeners.ListenerSet` and sends telemetry with a
:class:`~.telemetry.TelemetryLoop`, and owns those and every peer connection,
task and file it opens; ``stop()`` closes them all and is safe to call from any
cause (API, ICE failure, media timeout, server shutdown) any number of times.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import uuid
from collections.abc import Awaitable, Callable, Collection

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack

from denoise.base import Denoiser
from denoise.constants import PACKET_SAMPLES

from .decode import DecodeErrors, decode_in_batches
from .fanout import Fanout, prefer_opus
from .figures import FiguresKeeper
from .levels import Level
from .listeners import ListenerSet
from .pace import RealTimeGate
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
from .telemetry import StreamMeter, TelemetryLoop

logger = logging.getLogger(__name__)


async def _answer(pc: RTCPeerConnection, offer: RTCSessionDescription) -> RTCSessionDescription:
    # Looks ``apply_client_offer`` up in this module when called: tests patch it here
    # (after the session exists), for the listeners' offers as for the broadcaster's.
    return await apply_client_offer(pc, offer)


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
        self.share_raw = False
        """Whether friends may hear the raw microphone (the hub keeps it current)."""
        self.settings_seq = 0
        """Settings changes applied so far (:class:`~streams.outcomes.LiveChange`): the
        access watch applies stored settings only if none came meanwhile."""
        self._meter = StreamMeter()
        self._decode_errors = DecodeErrors(self.log)
        self._pace = RealTimeGate(self.log)
        self._pc = self._open_peer()
        self._frame_ms = frame_ms or self._config.opus_frame_ms
        self._fanout = Fanout(self._frame_ms)
        self._source: LiveSource | None = None
        self._listeners = ListenerSet(
            self._fanout,
            self.log,
            connect_timeout=self._config.connect_timeout,
            open_peer=self._open_peer,
            answer=_answer,
            on_ended=on_listener_ended,
        )
        budget = self._config.budget
        self._telemetry = TelemetryLoop(
            stream, self._meter, self._listeners, on_telemetry, self.log, budget_s=budget
        )
        self._spool = runtime.spool_writer(spool.cleaned, spool.raw, self.log)
        self._figures = None
        if spool.keep_figures is not None:
            self._figures = FiguresKeeper(
                spool.keep_figures,
                self._spool,
                self._meter,
                lambda: self._denoiser.atten_lim_db,
                runtime.figures,
                self.log,
                every_s=self._config.figures_every,
            )
        self._pump: asyncio.Task[None] | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self._stopping: asyncio.Task[SessionResult] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # --- state

    @property
    def listeners(self) -> int:
        """Listener connections, those still being answered included."""
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
            "too_fast": self._pace.refused,
        }

    def set_atten_lim(self, db: float) -> None:
        self._denoiser.set_atten_lim(db)

    @property
    def atten_lim_db(self) -> float:
        """The attenuation limit the engine applies now."""
        return self._denoiser.atten_lim_db

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
                        transceiver.receiver, self._runtime.codec, self._decode_errors, self._pace
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
            self._telemetry.start(self._source)
            if self._figures is not None:
                self._figures.start()

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
                    codec, atten = self._runtime.codec, self._denoiser.atten_lim_db
                    await fanout.send(codec, chunk.cleaned, chunk.raw, atten, position)
                position += chunk.cleaned.size
                self._meter.add(chunk.cleaned, chunk.raw)
                self._spool.write(chunk.cleaned, chunk.raw)
        except SourceEnded:
            pass
        except Exception:
            self.log.exception("stream pump failed")
        finally:
            self._spawn(self.stop("media ended"))

    # --- listeners (the hub's calls, handed to the ListenerSet)

    def listener_ids(self, user_id: int, logins: Collection[str] | None = None) -> list[uuid.UUID]:
        """See :meth:`ListenerSet.ids_of`."""
        return self._listeners.ids_of(user_id, logins)

    async def add_listener(
        self,
        offer: RTCSessionDescription,
        user_id: int,
        level: Level = "full",
        login: str | None = None,
    ) -> tuple[uuid.UUID, RTCSessionDescription]:
        """Answer a listener's offer: see :meth:`ListenerSet.add` (the contract, errors).

        Raises:
            SessionClosed: the stream ended, or it has no audio yet to send.
        """
        if self.stopped or self._source is None:
            raise SessionClosed
        return await self._listeners.add(offer, user_id, level, login)

    def listens_setting_up(self, user_id: int) -> int:
        """See :meth:`ListenerSet.setting_up`."""
        return self._listeners.setting_up(user_id)

    def listener(self, listen_id: uuid.UUID) -> Listener | None:
        return self._listeners.get(listen_id)

    def confirm_listener(self, listen_id: uuid.UUID) -> None:
        """See :meth:`ListenerSet.confirm`."""
        self._listeners.confirm(listen_id)

    def confirmed_listens(self) -> list[tuple[uuid.UUID, int, str | None]]:
        """See :meth:`ListenerSet.confirmed`."""
        return self._listeners.confirmed()

    def listeners_at(self, level: Level) -> list[tuple[uuid.UUID, int]]:
        """See :meth:`ListenerSet.at_level`."""
        return self._listeners.at_level(level)

    def set_listener_level(self, listen_id: uuid.UUID, level: Level) -> bool:
        """See :meth:`ListenerSet.set_level`."""
        return self._listeners.set_level(listen_id, level)

    async def end_listener(self, listen_id: uuid.UUID, reason: str) -> bool:
        """See :meth:`ListenerSet.end`."""
        return await self._listeners.end(listen_id, reason)

    def _open_peer(self) -> RTCPeerConnection:
        # Every peer of this session (the broadcaster's, the listeners') is made here,
        # looking ``new_peer_connection`` up in this module when called: tests patch it.
        return new_peer_connection(self._config.stun_urls)

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
        await self._telemetry.stop()  # bounded: it does not wait for a stuck publish
        if self._figures is not None:
            await self._figures.stop()  # before the save, which removes what it kept
        await self._listeners.end_all("ended")
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
        try:
            await self._runtime.close_denoiser(self._denoiser)
        except Exception:  # the recording is still saved and the stream's slot freed
            self.log.exception("could not close the stream's denoiser")
        if gap:
            self.log.warning("the recording has %.2f s of gaps (slow or failing spool disk)", gap)
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
