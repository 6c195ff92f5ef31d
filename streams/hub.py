"""Live streams wherever they run: :class:`LiveHub`, this process's entry point.

One hub per server process, built by the composition root
(:func:`fc25_denoise.runtime.live_hub`). Its public methods (:meth:`LiveHub.start`,
:meth:`~LiveHub.listen`, :meth:`~LiveHub.set_level`, :meth:`~LiveHub.end_listen`,
:meth:`~LiveHub.stop`, :meth:`~LiveHub.apply_settings`) answer for every stream:
one hosted by another process is reached by forwarding the request to it
(``ActiveStream.node_channel``), and a new stream is placed on the process with
the most room (:mod:`streams.placement`). The work itself, on this process's
sessions, is :class:`~streams.host.LocalHub`'s.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

from aiortc import RTCSessionDescription
from django.conf import settings

from fc25_denoise.api import Conflict, NotFound, NotLoggedIn, TooMany
from users.models import User
from users.services import session_is_valid

from . import services
from .accesswatch import AUDIT_EVERY_S
from .dbtask import db
from .host import LocalHub
from .link import NodeUnavailable, NoReply
from .node import DEAD_AFTER_BEATS
from .outcomes import Listening, Started, Stopped, answer_of
from .placement import hosts_to_try
from .services import LiveRow
from .webrtc.levels import Level, parse_level

logger = logging.getLogger(__name__)

__all__ = ["Listening", "LiveHub", "Started", "Stopped"]

STOP_POLL_S = 0.5
"""How often a stop whose host answers late looks whether the stream has ended."""
SETTINGS_NOT_CONFIRMED = (
    "Your settings are saved, but the server running your live stream did not confirm "
    f"them; the stream takes them within {AUDIT_EVERY_S:g} s."
)
"""The 503 of a settings change stored while the stream's host did not answer."""


class LiveHub(LocalHub):
    """Every live stream, as seen from this process: local ones directly, the others
    through their host."""

    async def start(self, user: User, offer: RTCSessionDescription) -> Started:
        """Go live with ``offer``, hosted by the process with the most room.

        Raises:
            Conflict: already live, or the recordings quota is full.
            TooMany: every server process is full.
            ApiError 503: the denoise model cannot be loaded (reason given).
            BadRequest: the SDP was rejected.
        """
        if user.pk in self._sessions:
            raise Conflict("You are already live.")
        self.node.start()
        others = await self.node.others()
        order = hosts_to_try(await self.node.local_load(), others)
        here = await self.node.channel()
        about = f"[user={user.username}]"  # the session id is the host's to choose
        for host in order:
            try:
                if host.channel == here:
                    return await self.start_here(user, offer)
                args = {"user_id": user.pk, "sdp": offer.sdp}
                reply = await self.node.call(host.channel, "start", args, slow=True, about=about)
                return Started(uuid.UUID(reply["session_id"]), answer_of(reply["sdp"]))
            except (TooMany, NodeUnavailable) as exc:
                slow = isinstance(exc, NodeUnavailable)
                if slow and await db(services.live_stream, user.pk) is not None:
                    raise  # it went live there after all (slowly): never a second stream
                logger.info(
                    "%s server process %s could not take the stream: %s", about, host.channel, exc
                )
        if not others:
            limit = settings.MAX_LIVE_STREAMS
            raise TooMany(f"This server carries at most {limit} live streams; try again later.")
        raise TooMany("Every server process is carrying all the live streams it can; try later.")

    async def listen(
        self,
        broadcaster_id: int,
        listener_id: int,
        offer: RTCSessionDescription,
        level: Level = "full",
        *,
        session_key: str | None,
        login: str | None = None,
    ) -> Listening:
        """Connect ``listener_id`` to ``broadcaster_id``'s stream, wherever it runs.

        The caller has checked that the listener may listen; the host checks again
        once connected (a friendship may end meanwhile), and this process checks that
        ``session_key`` (the request's session: it never leaves this process) still
        logs the listener in: a logout or new password revokes the user's listens
        (:mod:`streams.access`), but one landing while this listen is answered finds
        nothing to end yet. The listen is registered before that check, so one of the
        two always sees the other.

        Raises:
            Conflict: not live. TooMany: listener limit. BadRequest: bad SDP.
            Forbidden: no longer friends, or ``raw`` not shared.
            NodeUnavailable: the host did not answer.
            NotLoggedIn: the session ended meanwhile (the listen is ended, its answer
                never sent).
        """
        live = await db(services.live_stream, broadcaster_id)
        if live is None:
            raise Conflict("That stream is not live.")
        host = live.host
        about = f"[stream {live.session_id} user={live.username} listener={listener_id}]"
        if await self.node.is_local(host):
            listening = await self.listen_here(broadcaster_id, listener_id, offer, level, login)
        else:
            args = {
                "broadcaster_id": broadcaster_id,
                "listener_id": listener_id,
                "sdp": offer.sdp,
                "level": level,
                "login": login,
            }
            reply = await self.node.call(host, "listen", args, about=about)
            listening = Listening(
                uuid.UUID(reply["session_id"]),
                uuid.UUID(reply["listen_id"]),
                answer_of(reply["sdp"]),
                parse_level(reply["level"]),
            )
        if not await db(session_is_valid, session_key, listener_id):
            await self._end_answered(host, broadcaster_id, listening.listen_id, about)
            raise NotLoggedIn("Your session ended while the listen was being answered.")
        return listening

    async def _end_answered(
        self, host: str, broadcaster_id: int, listen_id: uuid.UUID, about: str
    ) -> None:
        """End a listen whose answer will not be sent (``about``: its stream's log prefix)."""
        named = f"{about} listen {listen_id}:"
        try:
            await self._end_at(host, broadcaster_id, listen_id, named)
        except NotFound:
            pass  # the revoke ended it already
        except NodeUnavailable:
            # It never connects without the answer: FC25_CONNECT_TIMEOUT drops it there.
            logger.warning("%s host unavailable to end it", named)

    async def set_level(self, listener: User, listen_id: uuid.UUID, level: Level) -> None:
        """Switch ``listener``'s connection ``listen_id`` to ``level``, wherever its stream runs.

        Raises:
            NotFound: not this user's live connection. Forbidden: ``raw`` not shared.
            NodeUnavailable: the host did not answer.
        """
        broadcaster_id, host = await db(services.own_listen, listener, listen_id)
        if await self.node.is_local(host):
            await self.level_here(broadcaster_id, listen_id, level)
            return
        args = {"broadcaster_id": broadcaster_id, "listen_id": str(listen_id), "level": level}
        await self.node.call(host, "level", args, about=f"[listen {listen_id} user={listener}]")

    async def end_listen(self, listener: User, listen_id: uuid.UUID) -> None:
        """Stop ``listener``'s connection ``listen_id`` (its pages get ``listen_ended``,
        reason ``stopped``).

        Raises:
            NotFound: not this user's live connection. NodeUnavailable: no answer.
        """
        broadcaster_id, host = await db(services.own_listen, listener, listen_id)
        about = f"[listen {listen_id} user={listener.username}]"
        await self._end_at(host, broadcaster_id, listen_id, about)

    async def _end_at(
        self, host: str, broadcaster_id: int, listen_id: uuid.UUID, about: str
    ) -> None:
        """End listen ``listen_id`` of the stream that ``host`` runs (raises as
        :meth:`end_listen`); ``about`` prefixes the call's log lines."""
        if await self.node.is_local(host):
            await self.end_listen_here(broadcaster_id, listen_id)
            return
        args = {"broadcaster_id": broadcaster_id, "listen_id": str(listen_id)}
        await self.node.call(host, "end_listen", args, about=about)

    async def stop(self, user_id: int, reason: str) -> Stopped:
        """End ``user_id``'s stream, wherever it runs, and return what was saved.

        The host answers once the recording is saved, which for a long stream can take
        longer than a forwarded call waits (FLAC encoding, storage): see
        :meth:`_ended_meanwhile`.

        Raises:
            Conflict: not live. NodeUnavailable: the host could not be reached, did not
            answer and is not ending the stream, or stopped beating while it did (a sweep
            then ends the stream and saves its recording).
        """
        live = await db(services.live_stream, user_id)
        if user_id in self._sessions or live is None or await self.node.is_local(live.host):
            return await self.stop_here(user_id, reason)
        about = f"[stream {live.session_id} user={live.username}]"
        args = {"user_id": user_id, "reason": reason}
        try:
            reply = await self.node.call(live.host, "stop", args, slow=True, about=about)
        except NoReply as exc:
            return await self._ended_meanwhile(live, about, exc)
        return Stopped(reply.get("recording_id"), float(reply["duration"]), reply["stats"])

    async def _ended_meanwhile(self, live: LiveRow, about: str, unanswered: NoReply) -> Stopped:
        """What a stop the host did not answer in time left behind.

        The host is asked (one plain call) whether it is ending the stream. If it is,
        this waits as long as the host keeps the stream's row fresh (it does while saving).
        Once the row is gone, the answer is the recording saved from that session
        (``stats`` empty: they are the host's).

        Raises:
            NoReply: ``unanswered``, if the row is still there and the host does not say it
            is ending the stream (the stop never reached it, or the host does not answer
            that either), or once the row went stale (it stopped beating).
        """
        probe = {"session_id": str(live.session_id)}
        try:
            reply = await self.node.call(live.host, "ending", probe, about=about)
        except NodeUnavailable:
            reply = {}  # only a row already gone can still answer the stop
        ending = bool(reply.get("ending"))
        if ending:
            logger.info("%s its host is still ending it (saving the recording): waiting", about)
        max_age = DEAD_AFTER_BEATS * self.node.heartbeat_s
        poll = min(STOP_POLL_S, self.node.heartbeat_s)
        while True:
            end = await db(services.stream_end, live.session_id, max_age)
            if end is not None:
                break
            if not ending:
                raise unanswered
            await asyncio.sleep(poll)  # the row is in the database: no event to wait on
        if not end.ended:
            raise unanswered
        return Stopped(end.recording_id, end.duration, {})

    async def apply_settings(
        self, user: User, atten_lim_db: float | None, share_raw: bool | None
    ) -> None:
        """Apply changed live settings to ``user``'s stream wherever it runs (not live:
        nothing): the attenuation limit from the next hop on; ``share_raw`` off moves
        friends who hear the raw microphone to ``full``.

        Raises:
            NodeUnavailable: the host did not answer (:data:`SETTINGS_NOT_CONFIRMED`: the
            settings are stored, and the host's access watch applies them within
            :data:`~streams.accesswatch.AUDIT_EVERY_S`).
        """
        if atten_lim_db is None and share_raw is None:
            return
        live = await db(services.live_stream, user.pk)
        if user.pk in self._sessions or live is None or await self.node.is_local(live.host):
            await self.settings_here(user.pk, atten_lim_db, share_raw)
            return
        args = {"user_id": user.pk, "atten_lim_db": atten_lim_db, "share_raw": share_raw}
        about = f"[stream {live.session_id} user={user.username}]"
        try:
            await self.node.call(live.host, "settings", args, about=about)
        except NodeUnavailable as exc:
            raise NodeUnavailable(SETTINGS_NOT_CONFIRMED) from exc
