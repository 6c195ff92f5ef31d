"""One live broadcast: the broadcaster's peer connection, the pipeline, listeners.

Pipeline: broadcaster track -> :class:`DenoiseTrack` -> the session's pump,
its only consumer, which for every frame in order (a) encodes it to Opus once
and offers the packet to every listener (:mod:`.fanout`; a late or slow
listener gets the newest packets, never a backlog), then (b) writes the
cleaned audio, and the raw input lined up with it, to the recorders.

The session owns every peer connection, task and file it opens; ``stop()``
closes them all and is safe to call from any cause (API, ICE failure, media
timeout, server shutdown) any number of times.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from denoise.base import Denoiser
from denoise.batching import BatchScheduler

from .fanout import ENCODE, Fanout, PacketTrack, offers_opus, prefer_opus
from .peer import new_peer_connection, tune_receive_latency
from .recorder import WavRecorder
from .tracks import DenoiseTrack

logger = logging.getLogger(__name__)


class StreamLog(logging.LoggerAdapter[logging.Logger]):
    """Prefixes every record with the stream and user it is about."""

    def process(
        self, msg: Any, kwargs: MutableMapping[str, Any]
    ) -> tuple[Any, MutableMapping[str, Any]]:
        extra = self.extra or {}
        return f"[stream {extra['stream']} user={extra['user']}] {msg}", kwargs


@dataclass(frozen=True)
class SessionConfig:
    stun_urls: list[str]
    jitter_prefetch: int
    budget: float
    media_timeout: float
    connect_timeout: float
    max_backlog: float


@dataclass(frozen=True)
class SessionResult:
    """What a finished session leaves behind."""

    session_id: uuid.UUID
    path: Path
    duration: float
    reason: str
    recording_id: int | None = None
    stats: dict[str, int] = dataclasses.field(default_factory=dict)


class SessionClosed(Exception):
    """The session has stopped; no listener can join."""


class BroadcastSession:
    """A user's live stream in this process."""

    def __init__(
        self,
        *,
        user_id: int,
        username: str,
        session_id: uuid.UUID,
        denoiser: Denoiser,
        executor: Executor,
        setup_executor: Executor,
        encoder: BatchScheduler,
        recording_path: Path,
        raw_path: Path | None,
        config: SessionConfig,
        on_finished: Callable[[SessionResult], Awaitable[int | None]],
    ) -> None:
        self.user_id = user_id
        self.username = username
        self.session_id = session_id
        self.log = StreamLog(logger, {"stream": str(session_id), "user": username})
        self._denoiser = denoiser
        self._executor = executor
        self._setup_executor = setup_executor
        self._encoder = encoder
        self._config = config
        self._on_finished = on_finished
        self._pc = new_peer_connection(config.stun_urls)
        self._fanout = Fanout()
        self._track: DenoiseTrack | None = None
        self._listeners: dict[RTCPeerConnection, PacketTrack] = {}
        self._recorder = WavRecorder(recording_path)
        self._raw_recorder = WavRecorder(raw_path) if raw_path is not None else None
        self._pump: asyncio.Task[None] | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self._stopping: asyncio.Task[SessionResult] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # --- state

    @property
    def listeners(self) -> int:
        return len(self._listeners)

    @property
    def stopped(self) -> bool:
        return self._stopping is not None

    @property
    def stats(self) -> dict[str, int]:
        s = self._track.stats if self._track else None
        return {
            "frames": s.frames if s else 0,
            "denoised": s.denoised if s else 0,
            "bypassed": s.bypassed if s else 0,
            "late": s.late if s else 0,
            "dropped": s.dropped if s else 0,
        }

    def set_atten_lim(self, db: float) -> None:
        self._denoiser.set_atten_lim(db)

    # --- broadcaster

    async def accept_offer(self, offer: RTCSessionDescription) -> RTCSessionDescription:
        """Answer the broadcaster's offer (ICE gathering completes before returning).

        Raises:
            ValueError: aiortc rejected the SDP.
        """
        pc = self._pc

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if track.kind != "audio" or self._track is not None:
                return
            for transceiver in pc.getTransceivers():
                if transceiver.receiver.track is track:
                    tune_receive_latency(transceiver.receiver, self._config.jitter_prefetch)
            self._track = DenoiseTrack(
                track,
                self._denoiser,
                self._executor,
                budget=self._config.budget,
                media_timeout=self._config.media_timeout,
                max_backlog=self._config.max_backlog,
                log=self.log,
            )
            self._pump = asyncio.create_task(self._run_pump(self._track))

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            self.log.info("broadcaster connection %s", pc.connectionState)
            if pc.connectionState in ("failed", "closed"):
                self._spawn(self.stop(f"connection {pc.connectionState}"))

        await pc.setRemoteDescription(offer)
        if self._track is None:
            raise ValueError("The offer carries no audio track to broadcast.")
        await pc.setLocalDescription(await pc.createAnswer())
        self._watchdog = asyncio.create_task(self._connect_watchdog())
        return pc.localDescription

    async def _connect_watchdog(self) -> None:
        # A browser that never completes ICE would otherwise hold the slot forever.
        await asyncio.sleep(self._config.connect_timeout)
        if self._pc.connectionState != "connected":
            await self.stop("never connected")

    async def _run_pump(self, track: DenoiseTrack) -> None:
        """Pull every cleaned frame: listeners first (they wait for it), then the recorders."""
        fanout = self._fanout
        try:
            while True:
                chunk = await track.next_chunk()
                if fanout.listening:
                    packets = await self._encoder.submit_async(
                        ENCODE, (fanout.encoder(), chunk.cleaned)
                    )
                    fanout.publish(packets)
                await self._recorder.write(chunk.cleaned)
                if self._raw_recorder is not None:
                    await self._raw_recorder.write(chunk.raw)
        except MediaStreamError:
            pass
        except Exception:
            self.log.exception("stream pump failed")
        finally:
            self._spawn(self.stop("media ended"))

    # --- listeners

    async def add_listener(self, offer: RTCSessionDescription) -> RTCSessionDescription:
        """Answer a listener's receive-only offer with the live cleaned track.

        Raises:
            SessionClosed: the stream ended. ValueError: aiortc rejected the SDP.
        """
        if self.stopped or self._track is None:
            raise SessionClosed
        if not offers_opus(offer.sdp):
            raise ValueError("the listener's offer has no Opus codec, the only one sent")
        pc = new_peer_connection(self._config.stun_urls)
        track = self._fanout.subscribe()
        self._listeners[pc] = track

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState in ("failed", "closed"):
                await self._drop_listener(pc)

        try:
            # The transceiver exists before the offer is applied: aiortc picks the
            # codec while applying it, in the offer's order unless preferences say.
            prefer_opus(pc.addTransceiver(track, direction="sendonly"))
            await pc.setRemoteDescription(offer)
            await pc.setLocalDescription(await pc.createAnswer())
        except Exception:
            await self._drop_listener(pc)
            raise
        self.log.info("listener joined (%d listening)", len(self._listeners))
        return pc.localDescription

    async def _drop_listener(self, pc: RTCPeerConnection) -> None:
        track = self._listeners.pop(pc, None)
        if track is not None:
            self._fanout.unsubscribe(track)
            self.log.info(
                "listener left (%d listening; it lagged and lost %d packets)",
                len(self._listeners),
                track.dropped,
            )
        await pc.close()

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
        for pc in list(self._listeners):
            await self._drop_listener(pc)
        if self._track is not None:
            self._track.stop()
        await self._pc.close()
        if self._pump is not None and self._pump is not asyncio.current_task():
            # The pump ends once the stopped track raises MediaStreamError.
            try:
                await asyncio.wait_for(asyncio.shield(self._pump), 2.0)
            except TimeoutError:
                self._pump.cancel()
        duration = await self._recorder.close()
        if self._raw_recorder is not None:
            await self._raw_recorder.close()
        self._fanout.close()
        await asyncio.get_running_loop().run_in_executor(self._setup_executor, self._denoiser.close)
        result = SessionResult(
            self.session_id, self._recorder.path, duration, reason, stats=self.stats
        )
        try:
            result = dataclasses.replace(result, recording_id=await self._on_finished(result))
        except Exception:
            self.log.exception("could not save the finished stream")
        self.log.info("stopped; recorded %.2fs as recording %s", duration, result.recording_id)
        return result

    def _spawn(self, coro: Awaitable[object]) -> None:
        async def run() -> None:
            await coro

        task = asyncio.ensure_future(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
