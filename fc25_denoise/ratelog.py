"""Repeated events counted, with a log line about them due at most every so often.

A broadcaster sending junk, a sender faster than real time and a timer failing every
round each happen many times a second or a period; each is counted, and logged at once
the first time, then at most every ``every_s`` with how many came since. The owners keep
their own wording (and their traceback or not): :meth:`EventsLog.add` says only when a
line is due and what it should count. Not thread-safe: one writer per instance.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Due:
    """A log line due now, about ``unlogged`` events (this one included) that came in the
    ``since_s`` seconds since the last line (None: this is the first)."""

    unlogged: int
    since_s: float | None


class EventsLog:
    """Counts events (:attr:`count`) and says when one should be logged."""

    def __init__(self, every_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.every_s = every_s
        self.count = 0
        """Events since the start (or the last :meth:`reset`)."""
        self._clock = clock
        self._logged_at: float | None = None
        self._unlogged = 0

    def add(self) -> Due | None:
        """Count one event; a :class:`Due` when a line about it is due now (the first
        event, or ``every_s`` after the last line), else None. A suppressed event costs a
        clock read and two additions."""
        self.count += 1
        self._unlogged += 1
        now = self._clock()
        last = self._logged_at
        if last is not None and now - last < self.every_s:
            return None
        due = Due(self._unlogged, None if last is None else now - last)
        self._logged_at, self._unlogged = now, 0
        return due

    def reset(self) -> int:
        """Start over (a run of failures ended): the next event is a first one again.
        Returns the count before."""
        count = self.count
        self.count, self._unlogged, self._logged_at = 0, 0, None
        return count
