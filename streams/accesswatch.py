"""Live access checked again on a timer, behind the revokes.

Access normally ends through a ``live.revoke`` sent the moment a friendship ends or an
account stops logging in (:mod:`streams.access`). That message crosses the channel layer
once: if the send fails (Redis away for a moment, a full channel, a publish timeout) the
listen would go on until the stream ends, since a running listen's access was checked
only when it joined. :class:`AccessWatch` looks every :data:`AUDIT_EVERY_S` at every
confirmed listener of this process's streams (:func:`streams.services.access_to_end`: four
queries and one cache read) and ends those who are no longer the broadcaster's friends,
whose account is inactive or gone, or whose login ended (a logout, a session deleted or
expired: :func:`users.logins.ended_logins`), with the reason the revoke would have given:
such a missed revoke costs at most that long, not the rest of the stream. A login whose
record the cache lost (or a session from before login tags) is not known to have ended:
its listen goes on until a revoke or the stream's end, as before the watch.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from fc25_denoise.periodic import Periodic

from .reasons import LOGGED_OUT

if TYPE_CHECKING:
    from .webrtc.session import BroadcastSession

AUDIT_EVERY_S = 5.0
"""How often a process checks its streams' listeners again (four queries and one cache
read a look, however many listeners)."""

Audit = Callable[
    [list[tuple[int, int]], list[tuple[int, str]]],
    Awaitable[tuple[dict[tuple[int, int], str], set[str]]],
]
"""``(broadcaster id, listener id)`` pairs and ``(listener id, login name)`` pairs -> the
pairs to end with the reason, and the names of the logins that ended (a database call the
watch awaits on the loop: it must hand its queries to a worker thread itself)."""


class AccessWatch:
    """Ends listeners whose access ended without a revoke reaching this process. Owns one
    task (:meth:`start`, :meth:`close`); runs on the loop."""

    def __init__(
        self,
        sessions: Callable[[], list[BroadcastSession]],
        audit: Audit,
        every_s: float | None = None,
    ) -> None:
        """``sessions``: the process's running sessions, read at each look; ``every_s``:
        the period (None: :data:`AUDIT_EVERY_S` as it is at each look)."""
        self._sessions = sessions
        self._audit = audit
        self._every = every_s
        self._timer = Periodic(
            "access-watch", self.check, self._period, failed="live access check failed"
        )

    def start(self) -> None:
        """Start looking (idempotent; a stream's install calls it)."""
        self._timer.start()

    async def close(self) -> None:
        """Stop looking and wait for the task (idempotent). A look in its database call
        ends there on its lane; the task does not wait for it."""
        await self._timer.stop()

    def _period(self) -> float:
        return AUDIT_EVERY_S if self._every is None else self._every

    async def check(self) -> int:
        """One look at every confirmed listener; returns how many were ended."""
        listens: list[tuple[BroadcastSession, uuid.UUID, int, str | None]] = [
            (session, listen_id, user_id, login)
            for session in self._sessions()
            for listen_id, user_id, login in session.confirmed_listens()
        ]
        if not listens:
            return 0
        pairs = sorted({(session.user_id, user_id) for session, _, user_id, _ in listens})
        logins = sorted({(user_id, login) for _, _, user_id, login in listens if login})
        to_end, logins_ended = await self._audit(pairs, logins)
        ended = 0
        for session, listen_id, user_id, login in listens:
            reason = to_end.get((session.user_id, user_id))
            if reason is None and login in logins_ended:
                reason = LOGGED_OUT
            if reason is None or session.stopped:
                continue
            if await session.end_listener(listen_id, reason):
                ended += 1
                # Usually a revoke lost on the way; it may also be one still in flight.
                session.log.info(
                    "listen %s listener=%d ended by the access check (%s)",
                    listen_id,
                    user_id,
                    reason,
                )
        return ended
