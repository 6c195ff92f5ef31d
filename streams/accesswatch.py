"""Live access checked again on a timer, behind the revokes.

Access normally ends through a ``live.revoke`` sent the moment a friendship ends or an
account stops logging in (:mod:`streams.access`). That message crosses the channel layer
once: if the send fails (Redis away for a moment, a full channel, a publish timeout) the
listen would go on until the stream ends, since a running listen's access was checked
only when it joined. :class:`AccessWatch` looks every :data:`AUDIT_EVERY_S` at every
confirmed listener of this process's streams, with two queries
(:func:`streams.services.listens_to_end`), and ends those who are no longer the
broadcaster's friends or whose account is inactive or gone, with the reason the revoke
would have given: such a missed revoke costs at most that long, not the rest of the
stream. A lost revoke of one login (a logout, a deleted or expired session) is not
caught here: listens do not record their login's key.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from fc25_denoise.periodic import Periodic

if TYPE_CHECKING:
    from .webrtc.session import BroadcastSession

AUDIT_EVERY_S = 5.0
"""How often a process checks its streams' listeners again (two queries a look)."""

Audit = Callable[[list[tuple[int, int]]], Awaitable[dict[tuple[int, int], str]]]
"""``(broadcaster id, listener id)`` pairs -> those to end, with the reason (a database
call the watch awaits on the loop: it must hand its queries to a worker thread itself)."""


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
        listens: list[tuple[BroadcastSession, uuid.UUID, int]] = [
            (session, listen_id, user_id)
            for session in self._sessions()
            for listen_id, user_id in session.confirmed_listens()
        ]
        if not listens:
            return 0
        pairs = sorted({(session.user_id, user_id) for session, _, user_id in listens})
        to_end = await self._audit(pairs)
        ended = 0
        for session, listen_id, user_id in listens:
            reason = to_end.get((session.user_id, user_id))
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
