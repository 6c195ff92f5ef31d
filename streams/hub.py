"""This process's live streams: creates, finds and ends :class:`BroadcastSession`s.

One hub per server process, built by the composition root
(:func:`fc25_denoise.runtime.live_hub`). It owns every session and the
:class:`~streams.webrtc.runtime.LiveRuntime` they share (inference scheduler,
setup, encode and spool threads), and shuts both down. All methods run on the
server's event loop; database work goes through ``sync_to_async``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from aiortc import RTCSessionDescription
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import close_old_connections

from denoise.base import DenoiseError, Denoiser
from fc25_denoise.api import ApiError, BadRequest, Conflict, TooMany
from recordings.services import check_quota, quota_usage
from recordings.storage import spool_paths
from users.events import publish_now
from users.models import User

from . import services
from .quota import QuotaWatch
from .webrtc.peer import REJECTED
from .webrtc.runtime import LiveRuntime
from .webrtc.session import BroadcastSession
from .webrtc.stream import SessionClosed, SessionResult, SpoolTarget, StreamIdentity

logger = logging.getLogger(__name__)

T = TypeVar("T")


async def _db(fn: Callable[..., T], *args: object) -> T:
    """Run a service function in a worker thread with a fresh DB connection.

    Not thread-sensitive on purpose: sessions outlive the request that
    created them, and the request's thread executor is gone by then.
    """

    def call() -> T:
        close_old_connections()
        try:
            return fn(*args)
        finally:
            close_old_connections()

    return await sync_to_async(call, thread_sensitive=False)()


@dataclass(frozen=True)
class Started:
    session_id: uuid.UUID
    answer: RTCSessionDescription


@dataclass(frozen=True)
class Listening:
    session_id: uuid.UUID
    listen_id: uuid.UUID
    answer: RTCSessionDescription


class LiveHub:
    """Registry of this process's sessions keyed by broadcaster id."""

    def __init__(self, runtime: LiveRuntime) -> None:
        """The hub takes ownership of ``runtime`` and shuts it down in :meth:`shutdown`."""
        self.runtime = runtime
        self._sessions: dict[int, BroadcastSession] = {}
        self._heartbeat: asyncio.Future[None] | None = None
        self._channel: str | None = None
        self._control: asyncio.Future[None] | None = None
        self._quota = QuotaWatch(self._notify)

    async def _node_channel(self) -> str:
        """This process's control channel (created with its listener on first use).

        Other processes send live-setting changes for our sessions here; the
        channel is stored on each ``ActiveStream`` row this process owns.
        """
        layer = get_channel_layer()
        if layer is None:
            return ""
        if self._channel is None:
            # The default prefix on purpose: channels-redis serves all of a process's
            # "specific." channels from one receive loop; a channel with another prefix
            # would hold that loop's lock and stall the presence sockets' receives.
            self._channel = await layer.new_channel()
            self._control = asyncio.ensure_future(self._receive_control(layer, self._channel))
        return self._channel

    async def _receive_control(self, layer: Any, channel: str) -> None:
        while True:
            try:
                message = await layer.receive(channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("live control channel failed; retrying")
                await asyncio.sleep(1.0)
                continue
            try:
                await self._control_message(message)
            except Exception:
                logger.exception("bad live control message %r", message.get("type"))

    async def _control_message(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "live.atten_lim":
            self.apply_atten_lim(int(message["user_id"]), float(message["atten_lim_db"]))
        elif kind == "live.revoke":
            broadcaster = message.get("broadcaster_id")
            await self.revoke(
                None if broadcaster is None else int(broadcaster),
                int(message["listener_id"]),
                str(message["reason"]),
            )

    async def revoke(self, broadcaster_id: int | None, listener_id: int, reason: str) -> int:
        """End ``listener_id``'s listening to ``broadcaster_id`` (None: to every stream
        in this process); the listener is sent ``listen_ended`` with ``reason``.

        Returns the number of connections ended. Other processes are reached with a
        ``live.revoke`` message on their control channel (see :mod:`streams.access`).
        """
        if broadcaster_id is None:
            sessions = [s for s in self._sessions.values() if s is not None and not s.stopped]
        else:
            one = self.session_for(broadcaster_id)
            sessions = [one] if one is not None else []
        ended = 0
        for session in sessions:
            for listen_id in session.listener_ids(listener_id):
                ended += await session.end_listener(listen_id, reason)
        return ended

    def apply_atten_lim(self, user_id: int, db: float) -> bool:
        """Apply ``db`` to ``user_id``'s stream if it is live in this process."""
        session = self.session_for(user_id)
        if session is None:
            return False
        session.set_atten_lim(db)  # the engine applies it on its next 10 ms hop
        return True

    async def send_atten_lim(self, user: User, db: float) -> None:
        """Apply ``db`` to ``user``'s live stream wherever it runs (this or another process)."""
        if self.apply_atten_lim(user.pk, db):
            return
        channel = await _db(services.live_node_channel, user)
        layer = get_channel_layer()
        if channel and layer is not None and channel != self._channel:
            message = {"type": "live.atten_lim", "user_id": user.pk, "atten_lim_db": db}
            await layer.send(channel, message)

    def _ensure_heartbeat(self) -> None:
        if self._heartbeat is None or self._heartbeat.done():
            self._heartbeat = asyncio.ensure_future(self._beat())

    async def _beat(self) -> None:
        """Keep this process's ``ActiveStream`` rows fresh; end other processes' dead ones.

        A process that dies leaves rows nobody clears at start (other processes
        still run); every live process sweeps them once their heartbeat is stale.
        """
        interval = settings.STREAM_HEARTBEAT_S
        while True:
            await asyncio.sleep(interval)
            live = {s.session_id: s.listeners for s in self._sessions.values() if s is not None}
            try:
                await _db(services.do_heartbeat, live)
                await _db(services.clear_dead_streams, 3 * interval)
            except Exception:
                logger.exception("live-stream heartbeat failed")

    def session_for(self, user_id: int) -> BroadcastSession | None:
        session = self._sessions.get(user_id)
        return None if session is None or session.stopped else session

    def sessions(self) -> list[BroadcastSession]:
        """A snapshot of this process's running sessions (read by metrics)."""
        return [s for s in list(self._sessions.values()) if s is not None and not s.stopped]

    def listeners(self, user_id: int) -> int:
        session = self.session_for(user_id)
        return session.listeners if session else 0

    async def start(self, user: User, offer: RTCSessionDescription) -> Started:
        """Go live with ``offer``.

        Raises:
            Conflict: already live, or the recordings quota is full.
            TooMany: server stream limit reached.
            ApiError 503: the denoise model cannot be loaded (reason given).
            BadRequest: the SDP was rejected.
        """
        if user.pk in self._sessions:
            raise Conflict("You are already live.")
        if len(self._sessions) >= settings.MAX_LIVE_STREAMS:
            limit = settings.MAX_LIVE_STREAMS
            raise TooMany(f"This server carries at most {limit} live streams; try again later.")
        session_id = uuid.uuid4()
        self._sessions[user.pk] = None  # type: ignore[assignment]  # reserve the slot
        try:
            prefs = await _db(services.broadcast_settings, user)
            # A full quota (not one byte left) blocks going live: the stream would not be kept.
            await _db(functools.partial(check_quota, status=409), user.pk, 1)
            # The row is the cross-process "live" lock: 409 if live elsewhere.
            channel = await self._node_channel()
            await _db(
                services.do_begin_stream, user, session_id, prefs.model, prefs.atten_lim_db, channel
            )
        except BaseException:
            del self._sessions[user.pk]
            raise
        try:
            denoiser = await self._create_denoiser(prefs.model, prefs.atten_lim_db)
            spool = spool_paths(user.pk, session_id)
            session = BroadcastSession(
                self.runtime,
                StreamIdentity(session_id, user.pk, user.username),
                denoiser,
                SpoolTarget(spool.cleaned, spool.raw if prefs.record_raw else None),
                self._finished,
                functools.partial(self._listener_ended, user.username),
            )
            try:
                answer = await session.accept_offer(offer)
            except BaseException as exc:
                # Closes the peer connection and the denoiser (its scheduler slot).
                await session.stop("rejected offer")
                if isinstance(exc, ValueError):
                    raise BadRequest(f"{REJECTED} {exc}") from None
                raise
        except BaseException:
            del self._sessions[user.pk]
            await _db(services.do_end_stream, user.pk, session_id)
            raise
        self._sessions[user.pk] = session
        self._quota.track(session, *await _db(quota_usage, user.pk))
        self._ensure_heartbeat()
        session.log.info("live (model=%s, atten_lim=%g dB)", prefs.model, prefs.atten_lim_db)
        return Started(session_id, answer)

    async def _notify(self, user_id: int, event: dict[str, Any]) -> None:
        await publish_now([user_id], event)

    async def _create_denoiser(self, model: str, atten_lim_db: float) -> Denoiser:
        try:
            return await self.runtime.create_denoiser(model, atten_lim_db)
        except DenoiseError as exc:
            logger.error("cannot start a stream: model %s: %s", model, exc)
            raise ApiError(503, f"Noise removal is unavailable: {exc}") from None

    async def listen(
        self, broadcaster_id: int, listener_id: int, offer: RTCSessionDescription
    ) -> Listening:
        """Connect ``listener_id`` to a live session in this process.

        A listener's earlier connection to the same stream is replaced (it does
        not count against the listener limit).

        Raises:
            Conflict: not live here. TooMany: listener limit. BadRequest: bad SDP.
        """
        session = self.session_for(broadcaster_id)
        if session is None:
            raise Conflict("That stream is not live on this server.")
        others = session.listeners - len(session.listener_ids(listener_id))
        if others >= settings.MAX_LISTENERS_PER_STREAM:
            limit = settings.MAX_LISTENERS_PER_STREAM
            raise TooMany(f"This stream already has {limit} listeners; try again later.")
        try:
            listen_id, answer = await session.add_listener(offer, listener_id)
        except SessionClosed:
            raise Conflict("The stream just ended.") from None
        except ValueError as exc:
            raise BadRequest(f"{REJECTED} {exc}") from None
        return Listening(session.session_id, listen_id, answer)

    async def _listener_ended(
        self, broadcaster: str, listener_id: int, listen_id: uuid.UUID, reason: str
    ) -> None:
        event = {
            "type": "listen_ended",
            "listen_id": str(listen_id),
            "username": broadcaster,
            "reason": reason,
        }
        await publish_now([listener_id], event)

    async def stop(self, user_id: int, reason: str) -> SessionResult:
        """End ``user_id``'s stream and return what was saved.

        Raises:
            Conflict: not live in this process.
        """
        session = self._sessions.get(user_id)
        if session is None:
            raise Conflict("You are not live.")
        return await session.stop(reason)

    async def _finished(self, result: SessionResult) -> int | None:
        for uid, session in list(self._sessions.items()):
            if session is not None and session.session_id == result.session_id:
                del self._sessions[uid]
                self._quota.forget(session)
                recording = await _db(
                    services.do_end_stream, uid, result.session_id, result.gap_seconds
                )
                return recording.pk if recording else None
        return None

    async def shutdown(self) -> None:
        """Stop every session (recordings finalized and saved), then the runtime."""
        for task in (self._heartbeat, self._control):
            if task is not None:
                task.cancel()
        self._quota.close()
        sessions = [s for s in self._sessions.values() if s is not None]
        if sessions:
            logger.info("server shutdown: stopping %d live streams", len(sessions))
            await asyncio.gather(
                *(s.stop("server shutdown") for s in sessions), return_exceptions=True
            )
        self.runtime.shutdown()
