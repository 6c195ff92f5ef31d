"""What this process's metrics read: frame totals across live sessions, and event-loop lag.

A session's counters (``BroadcastSession.stats``) live only as long as the session, so
:class:`FrameTotals` folds their increases into process-wide totals that only grow.
:class:`LoopMonitor` is one task on the server's loop that, every
:data:`INTERVAL_S`, measures how late its sleep woke up (the event-loop lag: time the
loop spent on something else) and folds the live sessions' counters, so a stream's frames
are counted up to at most one interval before it ended. A scrape folds once more.

Started and stopped by the ASGI lifespan (:mod:`fc25_denoise.asgi`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Protocol

from .periodic import Periodic

INTERVAL_S = 0.5
"""How often the loop monitor wakes up."""

OUTCOMES = ("denoised", "bypassed", "dropped", "too_fast")
"""The frame counters summed across sessions (``BroadcastSession.stats`` keys;
``too_fast``: broadcaster packets refused before decoding, past real time)."""


class HasStats(Protocol):
    """What :class:`FrameTotals` reads of a live session."""

    @property
    def session_id(self) -> object: ...

    @property
    def stats(self) -> dict[str, int]: ...


class FrameTotals:
    """Process-wide frame counters that never go down. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: dict[object, dict[str, int]] = {}
        self._totals = dict.fromkeys(OUTCOMES, 0)

    def fold(self, sessions: Iterable[HasStats]) -> None:
        """Add what each live session counted since the last fold; forget ended ones."""
        with self._lock:
            current: dict[object, dict[str, int]] = {}
            for session in sessions:
                stats = session.stats
                previous = self._last.get(session.session_id, {})
                for key in OUTCOMES:
                    self._totals[key] += max(0, stats.get(key, 0) - previous.get(key, 0))
                current[session.session_id] = stats
            self._last = current

    def totals(self) -> dict[str, int]:
        """A copy of the totals by outcome."""
        with self._lock:
            return dict(self._totals)


class LoopMonitor:
    """One task: measure the loop's lag and fold the sessions' counters every interval
    (a :class:`~fc25_denoise.periodic.Periodic` named ``loop-monitor``)."""

    def __init__(
        self,
        sessions: Callable[[], Iterable[HasStats]],
        totals: FrameTotals,
        on_lag: Callable[[float], None],
        interval_s: float = INTERVAL_S,
    ) -> None:
        self._sessions = sessions
        self._totals = totals
        self._on_lag = on_lag
        self._interval = interval_s
        self._slept_at = 0.0
        self._timer = Periodic("loop-monitor", self._round, self._sleep_for)

    def start(self) -> None:
        """Start the task on the running loop (idempotent)."""
        self._timer.start()

    async def stop(self) -> None:
        """Cancel the task and wait for it (idempotent)."""
        await self._timer.stop()

    def _sleep_for(self) -> float:
        self._slept_at = time.monotonic()
        return self._interval

    async def _round(self) -> None:
        # How much later than asked the sleep ended: time the loop spent elsewhere.
        self._on_lag(max(0.0, time.monotonic() - self._slept_at - self._interval))
        self._totals.fold(self._sessions())
