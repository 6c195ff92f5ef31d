"""This process's live streams: :class:`LocalHub` creates, finds and ends its
:class:`BroadcastSession`s and does the work requests about them ask for.

The work methods (``*_here``) are what a request about a stream hosted here
runs, whether it arrived in this process or was forwarded from another
(:func:`streams.calls.serve`); :class:`streams.hub.LiveHub` adds the routing
that decides where a request goes. The hub owns this process's sessions, the
:class:`~streams.webrtc.runtime.LiveRuntime` they share (inference scheduler,
setup, encode and spool threads) and its :class:`~streams.node.ProcessNode`
(heartbeat, channel to the other processes), and shuts them down. All methods
run on the server's event loop; database work goes to threads.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import uuid
from typing import Any

from aiortc import RTCSessionDescription
from django.conf import settings

from fc25_denoise.api import BadRequest, Conflict, Forbidden, TooMany
from recordings.services import check_quota, keep_live_figures, quota_usage
from recordings.storage import spool_paths
from users.events import publish_now
from users.models import User

from . import access, liveness, services
from .accesswatch import AccessWatch
from .calls import serve
from .checks import check_level, check_offer_for, reachable_offer
from .dbtask import db
from .denoisers import build_denoiser
from .node import ProcessNode
from .outcomes import Listening, LiveChange, Started, Stopped, answer_of
from .placement import NodeLoad
from .quota import QuotaWatch
from .reasons import NOT_FRIENDS
from .sessiontable import SessionTable
from .webrtc.levels import Level
from .webrtc.peer import REJECTED, advertise_address
from .webrtc.runtime import LiveRuntime
from .webrtc.session import BroadcastSession
from .webrtc.stream import SessionClosed, SessionResult, SpoolTarget, StreamIdentity, StreamLog

logger = logging.getLogger(__name__)

MAX_LISTENS_SETTING_UP = 2
"""A friend's listens to one stream being answered at once (two tabs pressing Listen
together); more get 429. Each holds a peer connection, its certificate and its ICE on the
stream's event loop, and only an answered one is replaced by the next."""

SHUTDOWN_STARTS_WAIT_S = 30.0
"""Longest a shutdown waits for streams being set up (each ends itself at its install)."""


class LocalHub(SessionTable):
    """This process's sessions, keyed by broadcaster id, and the work done on them: the
    streams' starts, stops and listens here, the per-listener work in
    :class:`~streams.sessiontable.SessionTable`."""

    def __init__(self, runtime: LiveRuntime) -> None:
        """The hub takes ownership of ``runtime`` and shuts it down in :meth:`shutdown`."""
        super().__init__()
        self.runtime = runtime
        self._finishing: set[uuid.UUID] = set()
        """Stopped sessions whose recording is being saved (their rows still exist)."""
        self._starting: set[uuid.UUID] = set()
        """Sessions being set up (their rows exist from ``do_begin_stream`` on)."""
        self._closing = False
        """Shutting down: no new stream is taken, and placement sees this process full."""
        self._quota = QuotaWatch(self._notify, usage=self._quota_usage)
        self._access = AccessWatch(
            self.sessions, self._access_to_end, self._stored_settings, self.settings_here
        )
        self.node = ProcessNode(
            functools.partial(serve, self),
            self._notice,
            self._load,
            self._listener_counts,
            self._lost,
        )

    def _load(self, channel: str) -> NodeLoad:
        live = self.sessions()
        return NodeLoad(
            channel=channel,
            streams=len(self._sessions),  # streams being set up hold their slot too
            listeners=sum(s.listeners for s in live),
            # Shutting down: the beat goes on (rows of streams being saved stay fresh) but
            # must not offer the slots its ending streams free.
            capacity=0 if self._closing else settings.MAX_LIVE_STREAMS,
            behind_ms=max((s.behind_ms for s in live), default=0.0),
        )

    def _listener_counts(self) -> dict[uuid.UUID, int]:
        """Every stream this process holds, with its listeners: the beat keeps their rows
        fresh and the sweep spares exactly these (see :class:`~streams.node.ProcessNode`)."""
        counts = {s.session_id: s.listeners for s in self._sessions.values() if s is not None}
        # A stream being set up (a model load, ICE gathering) or a stopped one whose
        # recording is being saved keeps its row fresh too: no sweep takes it for dead.
        counts.update({sid: 0 for sid in self._starting | self._finishing})
        return counts

    async def _lost(self, session_ids: list[uuid.UUID]) -> None:
        """The beat found no row for these streams. For a live one that is not stopping,
        another process's sweep took it over while this one was stalled (frozen for two
        heartbeats and more, so it could not answer): its friends were told it ended and
        its recording so far was saved. It stops now instead of running on unseen, with
        no row, until its broadcaster leaves.

        The beat's list was taken before its database call: a stream still being set up
        then (no row yet) may be installed by now, with its row. So the rows of the
        installed candidates are looked for again, and only those still missing stop.
        """
        lost = set(session_ids)
        candidates = [
            s
            for s in self._sessions.values()
            if s is not None and s.session_id in lost and not s.stopped
        ]
        if not candidates:
            return
        gone = set(await db(liveness.rowless, [s.session_id for s in candidates]))
        for session in candidates:
            if session.session_id in gone and not session.stopped:
                logger.warning(
                    "[stream %s user=%s] taken over by another process: stopping it",
                    session.session_id,
                    session.username,
                )
                session.stop_soon("taken over by another process")

    async def _notice(self, message: dict[str, Any]) -> None:
        if message.get("type") == access.REVOKE_MESSAGE_TYPE:
            broadcaster = message.get("broadcaster_id")
            logins = message.get("logins")
            await self.revoke(
                None if broadcaster is None else int(broadcaster),
                int(message["listener_id"]),
                str(message["reason"]),
                None if logins is None else [str(name) for name in logins],
            )
        elif message.get("type") == access.END_MESSAGE_TYPE:
            session = self.session_for(int(message["user_id"]))
            if session is not None and not session.stopped:  # its stop logs the reason
                session.stop_soon(str(message.get("reason") or "ended"))

    async def start_here(self, user: User, offer: RTCSessionDescription) -> Started:
        """Host ``user``'s new stream here (raises as :meth:`start`; TooMany once shut down)."""
        check_offer_for(offer, "broadcast")
        if self._closing:
            raise TooMany("This server process is shutting down; try again.")
        if user.pk in self._sessions:
            raise Conflict("You are already live.")
        if len(self._sessions) >= settings.MAX_LIVE_STREAMS:
            limit = settings.MAX_LIVE_STREAMS
            raise TooMany(f"This server carries at most {limit} live streams; try again later.")
        self.node.start()
        session_id = uuid.uuid4()
        self._sessions[user.pk] = None  # type: ignore[assignment]  # reserve the slot
        self._starting.add(session_id)
        try:
            return await self._start_reserved(user, offer, session_id)
        finally:
            self._starting.discard(session_id)

    def _release(self, user_id: int) -> None:
        """Free a reserved slot whose stream did not start (with its pending settings)."""
        del self._sessions[user_id]
        self._pending.pop(user_id, None)

    async def _start_reserved(
        self, user: User, offer: RTCSessionDescription, session_id: uuid.UUID
    ) -> Started:
        log = StreamLog(logger, {"stream": str(session_id), "user": user.username})
        try:
            prefs = await db(services.broadcast_settings, user)
            # A full quota (not one byte left) blocks going live: the stream would not be kept.
            await db(functools.partial(check_quota, status=409), user.pk, 1)
            # The row is the cross-process "live" lock: 409 if live elsewhere.
            channel = await self.node.channel()
            row = await db(
                services.do_begin_stream, user, session_id, prefs.model, prefs.atten_lim_db, channel
            )
        except BaseException:
            self._release(user.pk)
            raise
        try:
            # Read again now that the row names this process: a change stored before it
            # existed reached no process. Those arriving from here on are newer.
            self._pending.pop(user.pk, None)
            live = await db(services.broadcast_settings, user)
            denoiser = await build_denoiser(self.runtime, prefs.model, live.atten_lim_db, log)
            try:
                spool = spool_paths(user.pk, session_id)
                session = BroadcastSession(
                    self.runtime,
                    StreamIdentity(session_id, user.pk, user.username),
                    denoiser,
                    SpoolTarget(
                        spool.cleaned,
                        spool.raw if prefs.record_raw else None,
                        functools.partial(
                            keep_live_figures,
                            spool,
                            session_id,
                            user.username,
                            row.started_at,
                            prefs.model,
                        ),
                    ),
                    self._finished,
                    functools.partial(self._listener_ended, user.username),
                    self._telemetry,
                    frame_ms=10 if prefs.low_latency else None,
                )
            except BaseException:
                # No session took the denoiser: unclosed, a batched one would stay counted
                # by the scheduler, and every batch would wait for its hops.
                await self.runtime.close_denoiser(denoiser)
                raise
            session.share_raw = live.share_raw
            try:
                answer = await session.accept_offer(reachable_offer(offer, log))
                if self._closing:  # shutdown stops installed sessions only
                    raise TooMany("This server process is shutting down; try again.")
            except BaseException as exc:
                # Closes the peer connection and the denoiser (its scheduler slot).
                await session.stop("server shutdown" if self._closing else "rejected offer")
                if isinstance(exc, ValueError):
                    raise BadRequest(f"{REJECTED} {exc}") from None
                raise
        except BaseException:
            self._release(user.pk)
            # Never live: the broadcaster's pages hear nothing (no live_ended), friends
            # hear streaming_status false after the true do_begin_stream sent.
            end_unannounced = functools.partial(services.do_end_stream, went_live=False)
            await db(end_unannounced, user.pk, session_id)
            raise
        # Changes made while it was set up, with no await before the install: no listener
        # ever meets the values they replaced (a raw listen after share_raw went off).
        change = LiveChange(live.atten_lim_db).then(self._pending.pop(user.pk, LiveChange()))
        change.apply_to(session)
        self._sessions[user.pk] = session
        self._access.start()
        self._quota.track(
            session,
            *await db(quota_usage, user.pk),
            tag=f"[stream {session_id} user={user.username}]",
        )
        self.node.beat_soon()  # placement sees the new load now
        log.info("live (model=%s, atten_lim=%g dB)", prefs.model, change.atten_lim_db)
        return Started(session_id, answer_of(advertise_address(answer.sdp, settings.PUBLIC_IP)))

    async def _notify(self, user_id: int, event: dict[str, Any]) -> None:
        await publish_now([user_id], event)

    async def _quota_usage(self, user_id: int) -> tuple[int, int]:
        return await db(quota_usage, user_id)

    async def _access_to_end(
        self, pairs: list[tuple[int, int]], logins: list[tuple[int, str]]
    ) -> tuple[dict[tuple[int, int], str], set[str]]:
        return await db(services.access_to_end, pairs, logins)

    async def _stored_settings(self, user_ids: list[int]) -> dict[int, tuple[float, bool]]:
        return await db(services.stored_live_settings, user_ids)

    async def listen_here(
        self,
        broadcaster_id: int,
        listener_id: int,
        offer: RTCSessionDescription,
        level: Level = "full",
        login: str | None = None,
    ) -> Listening:
        """Connect ``listener_id`` to a live session in this process (``login``: the
        name of the login the listen comes from, see :class:`~streams.webrtc.stream.Listener`).

        A listener's earlier connection to the same stream is replaced (it does
        not count against the listener limit); at most :data:`MAX_LISTENS_SETTING_UP`
        of one listener's connections are answered at once, and those count. Access is
        checked again once the connection exists: a friendship that ended meanwhile
        found nothing to revoke.

        Raises:
            Conflict: not live here. TooMany: listener limit, or too many of this
            listener's listens being set up. BadRequest: bad SDP.
            Forbidden: no longer friends, or ``raw`` not shared.
        """
        check_offer_for(offer, "listen")
        session = self.session_for(broadcaster_id)
        if session is None:
            raise Conflict("That stream is not live (or is still starting).")
        check_level(session, listener_id, level)
        # Counted and registered with no await between (add_listener registers before its
        # first): parallel offers from one friend are counted one by one.
        setting_up = session.listens_setting_up(listener_id)
        if setting_up >= MAX_LISTENS_SETTING_UP:
            raise TooMany("Your listen to this stream is still being set up; try again shortly.")
        # A friend's answered listen is replaced by this one; those being set up count.
        others = session.listeners - (len(session.listener_ids(listener_id)) - setting_up)
        if others >= settings.MAX_LISTENERS_PER_STREAM:
            limit = settings.MAX_LISTENERS_PER_STREAM
            raise TooMany(f"This stream already has {limit} listeners; try again later.")
        try:
            reachable = reachable_offer(offer, session.log)
            listen_id, answer = await session.add_listener(reachable, listener_id, level, login)
        except SessionClosed:
            raise Conflict("The stream just ended.") from None
        except ValueError as exc:
            raise BadRequest(f"{REJECTED} {exc}") from None
        if not await db(services.may_listen, listener_id, broadcaster_id):
            await session.end_listener(listen_id, NOT_FRIENDS)
            raise Forbidden(f"Only {session.username}'s friends can listen.")
        try:
            check_level(session, listener_id, level)
        except Forbidden:  # raw stopped being shared while the listen was answered
            level = "full"
            session.set_listener_level(listen_id, level)
        session.confirm_listener(listen_id)  # from now on it gets the stream's telemetry
        await db(services.do_record_listen, listen_id, broadcaster_id, listener_id, level)
        sdp = advertise_address(answer.sdp, settings.PUBLIC_IP)
        return Listening(session.session_id, listen_id, answer_of(sdp), level)

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
        await db(services.do_forget_listen, listen_id)

    async def _telemetry(self, user_ids: list[int], event: dict[str, Any]) -> None:
        await publish_now(user_ids, event)

    async def stop_here(self, user_id: int, reason: str) -> Stopped:
        """End ``user_id``'s stream in this process.

        Raises:
            Conflict: not live in this process.
        """
        session = self._sessions.get(user_id)
        if session is None:
            raise Conflict("You are not live.")
        result = await session.stop(reason)
        return Stopped(result.recording_id, result.duration, result.stats)

    def ending_here(self, session_id: uuid.UUID) -> bool:
        """Whether stream ``session_id`` is being stopped in this process, or its recording
        saved (a forwarded stop that was not answered in time is still under way)."""
        if session_id in self._finishing:
            return True
        return any(
            s is not None and s.session_id == session_id and s.stopped
            for s in self._sessions.values()
        )

    async def _finished(self, result: SessionResult) -> int | None:
        for uid, session in list(self._sessions.items()):
            if session is not None and session.session_id == result.session_id:
                del self._sessions[uid]
                self._quota.forget(session)
                self._finishing.add(result.session_id)
                try:
                    recording = await db(
                        services.do_end_stream,
                        uid,
                        result.session_id,
                        result.gap_seconds,
                        result.db_removed,
                    )
                finally:
                    self._finishing.discard(result.session_id)
                self.node.beat_soon()
                return recording.pk if recording else None
        return None

    async def shutdown(self) -> None:
        """Stop every session (recordings finalized and saved, friends told), then the
        node (it leaves placement) and the runtime.

        From its first line no stream is taken (:meth:`start_here` answers 429, the beat
        reports no room); streams being set up end themselves before their install, and
        are waited for (``SHUTDOWN_STARTS_WAIT_S`` at most): no session outlives the runtime.
        """
        self._closing = True
        await self._quota.close()
        await self._access.close()
        sessions = [s for s in self._sessions.values() if s is not None]
        if sessions:
            logger.info("server shutdown: stopping %d live streams", len(sessions))
            await asyncio.gather(
                *(s.stop("server shutdown") for s in sessions), return_exceptions=True
            )
        await self._wait_for_starts()
        await self.node.close()
        self.runtime.shutdown()

    async def _wait_for_starts(self) -> None:
        """Wait until no stream is being set up: its slot freed and, for one that failed,
        its row ended (``_starting`` is left only after that), so nothing is left for the
        database lanes that close after this. Polled: a start ends in several places."""
        deadline = asyncio.get_running_loop().time() + SHUTDOWN_STARTS_WAIT_S
        while self._starting or any(s is None for s in self._sessions.values()):
            if asyncio.get_running_loop().time() >= deadline:
                logger.warning(
                    "server shutdown: streams still being set up (%s); not waiting",
                    ", ".join(sorted(str(session_id) for session_id in self._starting)),
                )
                return
            await asyncio.sleep(0.05)
