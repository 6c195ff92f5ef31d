"""A live stream's recording checked against its owner's quota while it runs.

Going live needs at least one free byte of quota (:meth:`LiveHub.start`), but a
stream records about 190 KB/s (two 16-bit 48 kHz tracks) for as long as it
lasts. :class:`QuotaWatch` looks at every live stream of the process four times
a second: at ``WARN_AT`` of the quota the broadcaster is told (a
``recording_quota`` presence event, ``"state": "warning"``); at 100 % the
stream is ended and its recording saved (``"state": "full"``), one check early
rather than one late. The spool's WAV size is the measure: the stored FLAC is
smaller, so a saved stream does not take the quota past its limit. A look can
come late (a loaded loop), so the watch also limits the recording itself to the
quota left when it starts watching: the recording stops growing at the quota
even before the stream is ended. The owner's stored usage is read again every
``REREAD_EVERY_S`` (an import or re-clean finished meanwhile counts against the
same quota), and the recording's limit only ever shrinks.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from fc25_denoise.periodic import Periodic

logger = logging.getLogger(__name__)

WARN_AT = 0.9
CHECK_EVERY_S = 0.25
"""A stream records ~48 KB per check; the stream ends one check early rather than late."""
REREAD_EVERY_S = 1.0
"""How often the owners' stored usage is read again (one query per live owner)."""


class Watched(Protocol):
    """What the watch needs of a live session."""

    user_id: int
    session_id: uuid.UUID

    @property
    def recorded_bytes(self) -> int: ...

    @property
    def stopped(self) -> bool: ...

    def stop_soon(self, reason: str) -> None: ...

    def limit_recording(self, max_bytes: int) -> None: ...


Notify = Callable[[int, dict[str, Any]], Awaitable[None]]
"""``(user_id, event)``: publish a presence event to that user."""

Usage = Callable[[int], Awaitable[tuple[int, int]]]
"""``user_id -> (quota, used)`` in bytes: the owner's stored recordings, not the live one."""


@dataclass
class _Budget:
    quota: int
    used_before: int
    tag: str
    """Prefix of the stream's log lines (``[stream <id> user=<name>]``)."""
    warned: bool = False
    last: int = 0
    """The stream's recorded bytes at the previous check."""
    limit: int = 0
    """The recording's byte limit as last set (it only shrinks)."""

    def shrink_limit(self, session: Watched) -> None:
        """Limit ``session``'s recording to the quota left, if that is less than before."""
        left = max(0, self.quota - self.used_before)
        if left < self.limit:
            self.limit = left
            session.limit_recording(left)


class QuotaWatch:
    """Ends live streams whose recording would exceed the owner's quota. Runs on the loop."""

    def __init__(
        self,
        notify: Notify,
        usage: Usage | None = None,
        every_s: float = CHECK_EVERY_S,
        reread_every_s: float = REREAD_EVERY_S,
    ) -> None:
        """``usage`` (None: never re-read) is awaited on the loop, so it must hand its
        query to a worker thread itself."""
        self._notify = notify
        self._usage = usage
        self._reread_every = reread_every_s
        self._next_reread = 0.0
        self._budgets: dict[Watched, _Budget] = {}
        # Runs while any stream is watched: a round with none left ends it.
        self._timer = Periodic(
            "quota-watch", self._round, every_s, failed="recording quota check failed"
        )

    def track(self, session: Watched, quota: int, used_before: int, tag: str = "") -> None:
        """Watch ``session`` (``quota`` 0: unlimited, nothing to watch); ``tag`` prefixes
        its log lines (default ``[user=<id>]``)."""
        if quota <= 0:
            return
        budget = _Budget(quota, used_before, tag or f"[user={session.user_id}]")
        budget.limit = max(0, quota - used_before)
        self._budgets[session] = budget
        session.limit_recording(budget.limit)
        self._timer.start()

    def forget(self, session: Watched) -> None:
        self._budgets.pop(session, None)

    async def close(self) -> None:
        """Stop watching and wait for the task (idempotent)."""
        self._budgets.clear()
        await self._timer.stop()

    async def check(self) -> None:
        """One look at every watched stream (the loop calls it every ``every_s``)."""
        now = asyncio.get_running_loop().time()
        if self._usage is not None and now >= self._next_reread:
            self._next_reread = now + self._reread_every
            await self._reread(self._usage)
        for session, budget in list(self._budgets.items()):
            if session.stopped:
                self.forget(session)
                continue
            recorded = session.recorded_bytes
            used = budget.used_before + recorded
            # What the next check would find: end the stream before it passes the quota.
            coming = used + max(0, recorded - budget.last)
            budget.last = recorded
            share = used / budget.quota
            if coming >= budget.quota:
                self.forget(session)
                logger.warning("%s recording quota full: ending the stream", budget.tag)
                await self._send(session, "full", used, budget)
                session.stop_soon("recording quota full")
            elif share >= WARN_AT and not budget.warned:
                budget.warned = True
                await self._send(session, "warning", used, budget)

    async def _reread(self, usage: Usage) -> None:
        """Take each watched owner's stored usage again; a failed read keeps the old one."""
        for session, budget in list(self._budgets.items()):
            try:
                _, budget.used_before = await usage(session.user_id)  # the quota is fixed
            except Exception:
                logger.exception("%s could not read the recording quota", budget.tag)
                continue
            budget.shrink_limit(session)

    async def _round(self) -> bool:
        await self.check()
        return bool(self._budgets)

    async def _send(self, session: Watched, state: str, used: int, budget: _Budget) -> None:
        """Tell the broadcaster; never raises (the stream is ended whatever happens here)."""
        try:
            event = {
                "type": "recording_quota",
                "session_id": str(session.session_id),  # the pages of other streams ignore it
                "state": state,
                "used_bytes": used,
                "quota_bytes": budget.quota,
            }
            await self._notify(session.user_id, event)
        except Exception:
            logger.exception("%s could not tell the broadcaster about the quota", budget.tag)
