"""Open audio downloads: how many one user holds in this process, and the lane their
access checks run on.

Both are process-wide tables like the thread lanes (:mod:`fc25_denoise.threads`), not
services the composition root builds: a download's response takes and gives back its slot.

A download holds a file handle and a worker call per chunk for as long as the client
reads, and a client that reads a little every minute can hold one for hours. Each user
may hold :data:`settings.MAX_DOWNLOADS_PER_USER` at once per process; the next is
answered 429 (a player's seeks close their previous request first).

The access checks of an open download (:func:`recordings.services.may_still_read`, every
few seconds) run on :data:`DOWNLOAD_CHECKS`, whose few threads keep their database
connections: run per request, each open download had pinned a thread and a database
connection of its own until it ended (40 downloads, 40 connections).
"""

from __future__ import annotations

import threading

from fc25_denoise.threads import ThreadLane

DOWNLOAD_CHECKS = ThreadLane("download-check", 2)
"""Threads for the access checks of downloads (their database queries)."""


class DownloadSlots:
    """Open downloads per user. Thread-safe: a response's close runs on a worker thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[int, int] = {}

    def take(self, user_id: int, limit: int) -> bool:
        """Count one more open download for ``user_id``; False (nothing counted) at
        ``limit``."""
        with self._lock:
            held = self._open.get(user_id, 0)
            if held >= limit:
                return False
            self._open[user_id] = held + 1
            return True

    def give_back(self, user_id: int) -> None:
        """One of ``user_id``'s downloads ended."""
        with self._lock:
            held = self._open.get(user_id, 0) - 1
            if held > 0:
                self._open[user_id] = held
            else:
                self._open.pop(user_id, None)


SLOTS = DownloadSlots()
"""This process's open downloads."""
