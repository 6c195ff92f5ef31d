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

The same look catches up on settings: a change stored by ``PATCH /api/streams/settings/``
reaches the stream through a call to its host, which may not answer (the request then
answers 503 with the change stored). Each look reads the stored ``share_raw`` and
attenuation limit of the process's streams (one query) and applies those a stream does
not run with (``share_raw`` off moves raw listeners to ``full``), unless a change reached
the stream meanwhile (:attr:`BroadcastSession.settings_seq`), which is then the newer.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from fc25_denoise.periodic import FailureLog, Periodic

from .reasons import LOGGED_OUT

if TYPE_CHECKING:
    from .webrtc.session import BroadcastSession

logger = logging.getLogger(__name__)

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

StoredSettings = Callable[[list[int]], Awaitable[dict[int, tuple[float, bool]]]]
"""Broadcaster ids -> their stored ``(atten_lim_db, share_raw)`` (a database call, as
:data:`Audit`)."""

ApplySettings = Callable[[int, float | None, bool | None], Awaitable[None]]
"""Apply ``(user id, atten_lim_db or None, share_raw or None)`` to that user's stream here."""


class AccessWatch:
    """Ends listeners whose access ended without a revoke reaching this process. Owns one
    task (:meth:`start`, :meth:`close`); runs on the loop."""

    def __init__(
        self,
        sessions: Callable[[], list[BroadcastSession]],
        audit: Audit,
        stored: StoredSettings | None = None,
        apply: ApplySettings | None = None,
        every_s: float | None = None,
    ) -> None:
        """``sessions``: the process's running sessions, read at each look; ``stored`` and
        ``apply``: the settings catch-up (None: not done); ``every_s``: the period (None:
        :data:`AUDIT_EVERY_S` as it is at each look)."""
        self._sessions = sessions
        self._audit = audit
        self._stored = stored
        self._apply = apply
        self._settings_failures = FailureLog("live settings catch-up failed", logger)
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
        """One look: settings caught up, then every confirmed listener checked; returns
        how many listens were ended."""
        try:
            await self.catch_up_settings()
            self._settings_failures.succeeded()
        except Exception:  # the access half below still runs
            self._settings_failures.failed()
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

    async def catch_up_settings(self) -> int:
        """Apply stored settings that this process's streams do not run with; returns how
        many streams changed."""
        if self._stored is None or self._apply is None:
            return 0
        sessions = [s for s in self._sessions() if not s.stopped]
        if not sessions:
            return 0
        seen = {s.user_id: s.settings_seq for s in sessions}
        stored = await self._stored(sorted(seen))
        changed = 0
        for session in sessions:
            values = stored.get(session.user_id)
            if values is None or session.stopped or session.settings_seq != seen[session.user_id]:
                continue  # no settings, ended, or a change reached it meanwhile (newer)
            atten, share = values
            new_atten = atten if atten != session.atten_lim_db else None
            new_share = share if share != session.share_raw else None
            if new_atten is None and new_share is None:
                continue
            # Usually a settings call whose host did not answer in time.
            session.log.info(
                "settings caught up from the database (atten_lim=%s share_raw=%s)",
                new_atten,
                new_share,
            )
            await self._apply(session.user_id, new_atten, new_share)
            changed += 1
        return changed
