"""A process's table of live sessions and the work on a stream's listeners and settings
(:class:`SessionTable`, the base of :class:`streams.host.LocalHub`).

A user's entry is ``None`` while their stream is being set up (its slot reserved, no
session yet): settings changed meanwhile wait in ``_pending`` and reach the session
before it is installed. All methods run on the server's event loop; database work goes
to threads.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection

from fc25_denoise.api import NotFound
from users.events import publish_now

from . import services
from .checks import check_level
from .dbtask import db
from .outcomes import LiveChange
from .webrtc.levels import Level
from .webrtc.session import BroadcastSession


class SessionTable:
    """Sessions by broadcaster id, and what is done to a running one's listeners and
    settings (``*_here``: the work a request about a stream hosted here runs)."""

    def __init__(self) -> None:
        self._sessions: dict[int, BroadcastSession] = {}
        self._pending: dict[int, LiveChange] = {}
        """Settings changed while a user's stream was being set up (slot reserved, no
        session yet): applied to the session before it is installed."""

    def session_for(self, user_id: int) -> BroadcastSession | None:
        session = self._sessions.get(user_id)
        return None if session is None or session.stopped else session

    def sessions(self) -> list[BroadcastSession]:
        """A snapshot of this process's running sessions (read by metrics)."""
        return [s for s in list(self._sessions.values()) if s is not None and not s.stopped]

    def listeners(self, user_id: int) -> int:
        session = self.session_for(user_id)
        return session.listeners if session else 0

    async def revoke(
        self,
        broadcaster_id: int | None,
        listener_id: int,
        reason: str,
        logins: Collection[str] | None = None,
    ) -> int:
        """End ``listener_id``'s listening to ``broadcaster_id`` (None: to every stream
        in this process), only the listens opened from ``logins`` when given (a logout);
        the listener is sent ``listen_ended`` with ``reason``.

        Returns the number of connections ended. Other processes are reached with a
        ``live.revoke`` notice on their channel (see :mod:`streams.access`).
        """
        if broadcaster_id is None:
            sessions = self.sessions()
        else:
            one = self.session_for(broadcaster_id)
            sessions = [one] if one is not None else []
        ended = 0
        for session in sessions:
            for listen_id in session.listener_ids(listener_id, logins):
                ended += await session.end_listener(listen_id, reason)
        return ended

    async def settings_here(
        self, user_id: int, atten_lim_db: float | None, share_raw: bool | None
    ) -> None:
        """Apply changed settings to ``user_id``'s stream if it is live in this process.

        A stream being set up here (its slot reserved, no session yet) gets them before
        its session is installed: no listener ever meets the old value.
        """
        change = LiveChange(atten_lim_db, share_raw)
        if user_id in self._sessions and self._sessions[user_id] is None:
            self._pending[user_id] = self._pending.get(user_id, LiveChange()).then(change)
            return
        session = self.session_for(user_id)
        if session is None:
            return
        change.apply_to(session)
        if share_raw is False:
            for listen_id, listener_id in session.listeners_at("raw"):
                if listener_id != user_id:
                    await self._switch(session, listen_id, "full", "raw_not_shared")

    async def level_here(self, broadcaster_id: int, listen_id: uuid.UUID, level: Level) -> None:
        """Switch a listener of a stream in this process to ``level`` (next frame on).

        Raises:
            NotFound: the connection ended. Forbidden: ``raw`` not shared.
        """
        session = self.session_for(broadcaster_id)
        item = session.listener(listen_id) if session is not None else None
        if session is None or item is None:
            await db(services.do_forget_listen, listen_id)
            raise NotFound("That listening connection has ended.")
        check_level(session, item.user_id, level)
        await self._switch(session, listen_id, level, None)

    async def _switch(
        self, session: BroadcastSession, listen_id: uuid.UUID, level: Level, reason: str | None
    ) -> None:
        item = session.listener(listen_id)
        if item is None or not session.set_listener_level(listen_id, level):
            return
        await db(services.do_set_listen_level, listen_id, level)
        if reason is not None:  # the server changed it: the listener's pages follow
            event = {
                "type": "listen_level",
                "listen_id": str(listen_id),
                "username": session.username,
                "level": level,
                "reason": reason,
            }
            await publish_now([item.user_id], event)

    async def end_listen_here(self, broadcaster_id: int, listen_id: uuid.UUID) -> None:
        """End a listener connection of a stream in this process (reason ``stopped``).

        Raises:
            NotFound: it had ended already.
        """
        session = self.session_for(broadcaster_id)
        if session is None or not await session.end_listener(listen_id, "stopped"):
            await db(services.do_forget_listen, listen_id)
            raise NotFound("That listening connection has ended.")
