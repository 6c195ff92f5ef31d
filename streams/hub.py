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

import logging
import uuid

from aiortc import RTCSessionDescription
from django.conf import settings

from fc25_denoise.api import Conflict, NotFound, NotLoggedIn, TooMany
from users.models import User
from users.services import session_is_valid

from . import services
from .dbtask import db
from .host import Listening, LocalHub, Started, Stopped, answer_of
from .link import NodeUnavailable
from .placement import hosts_to_try
from .webrtc.levels import Level, parse_level

logger = logging.getLogger(__name__)

__all__ = ["Listening", "LiveHub", "Started", "Stopped"]


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
        for host in order:
            try:
                if host.channel == here:
                    return await self.start_here(user, offer)
                reply = await self.node.call(
                    host.channel, "start", {"user_id": user.pk, "sdp": offer.sdp}, slow=True
                )
                return Started(uuid.UUID(reply["session_id"]), answer_of(reply["sdp"]))
            except (TooMany, NodeUnavailable) as exc:
                slow = isinstance(exc, NodeUnavailable)
                if slow and await db(services.stream_host, user.pk) is not None:
                    raise  # it went live there after all (slowly): never a second stream
                logger.info("user=%s: %s could not take the stream: %s", user, host.channel, exc)
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
        host = await db(services.stream_host, broadcaster_id)
        if host is None:
            raise Conflict("That stream is not live.")
        if await self.node.is_local(host):
            listening = await self.listen_here(broadcaster_id, listener_id, offer, level)
        else:
            args = {
                "broadcaster_id": broadcaster_id,
                "listener_id": listener_id,
                "sdp": offer.sdp,
                "level": level,
            }
            reply = await self.node.call(host, "listen", args)
            listening = Listening(
                uuid.UUID(reply["session_id"]),
                uuid.UUID(reply["listen_id"]),
                answer_of(reply["sdp"]),
                parse_level(reply["level"]),
            )
        if not await db(session_is_valid, session_key, listener_id):
            await self._end_answered(host, broadcaster_id, listener_id, listening.listen_id)
            raise NotLoggedIn("Your session ended while the listen was being answered.")
        return listening

    async def _end_answered(
        self, host: str, broadcaster_id: int, listener_id: int, listen_id: uuid.UUID
    ) -> None:
        """End a listen whose answer will not be sent."""
        try:
            await self._end_at(host, broadcaster_id, listen_id)
        except NotFound:
            pass  # the revoke ended it already
        except NodeUnavailable:
            # It never connects without the answer: FC25_CONNECT_TIMEOUT drops it there.
            logger.warning("[listen %s user=%s] host unavailable to end it", listen_id, listener_id)

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
        await self.node.call(host, "level", args)

    async def end_listen(self, listener: User, listen_id: uuid.UUID) -> None:
        """Stop ``listener``'s connection ``listen_id`` (its pages get ``listen_ended``,
        reason ``stopped``).

        Raises:
            NotFound: not this user's live connection. NodeUnavailable: no answer.
        """
        broadcaster_id, host = await db(services.own_listen, listener, listen_id)
        await self._end_at(host, broadcaster_id, listen_id)

    async def _end_at(self, host: str, broadcaster_id: int, listen_id: uuid.UUID) -> None:
        """End listen ``listen_id`` of the stream that ``host`` runs (raises as
        :meth:`end_listen`)."""
        if await self.node.is_local(host):
            await self.end_listen_here(broadcaster_id, listen_id)
            return
        args = {"broadcaster_id": broadcaster_id, "listen_id": str(listen_id)}
        await self.node.call(host, "end_listen", args)

    async def stop(self, user_id: int, reason: str) -> Stopped:
        """End ``user_id``'s stream, wherever it runs, and return what was saved.

        Raises:
            Conflict: not live. NodeUnavailable: the host did not answer.
        """
        host = await db(services.stream_host, user_id)
        if user_id in self._sessions or host is None or await self.node.is_local(host):
            return await self.stop_here(user_id, reason)
        reply = await self.node.call(
            host, "stop", {"user_id": user_id, "reason": reason}, slow=True
        )
        return Stopped(reply.get("recording_id"), float(reply["duration"]), reply["stats"])

    async def apply_settings(
        self, user: User, atten_lim_db: float | None, share_raw: bool | None
    ) -> None:
        """Apply changed live settings to ``user``'s stream wherever it runs (not live:
        nothing): the attenuation limit from the next hop on; ``share_raw`` off moves
        friends who hear the raw microphone to ``full``.

        Raises:
            NodeUnavailable: the host did not answer (the settings are stored; the
            stream gets them when it next starts).
        """
        if atten_lim_db is None and share_raw is None:
            return
        host = await db(services.stream_host, user.pk)
        if user.pk in self._sessions or host is None or await self.node.is_local(host):
            await self.settings_here(user.pk, atten_lim_db, share_raw)
            return
        args = {"user_id": user.pk, "atten_lim_db": atten_lim_db, "share_raw": share_raw}
        await self.node.call(host, "settings", args)
