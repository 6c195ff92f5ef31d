"""Atomic counters in Django's cache: one place for the increment and its edge cases.

Used by the login throttle (``users.throttle``: failures per window) and the import
upload slots (``fc25_denoise.limits``: bodies in flight). With Redis (``REDIS_URL``) a
counter is shared by every server process; with the local-memory cache it is per process.
Blocking: each call is a cache round trip or two.
"""

from __future__ import annotations

from django.core.cache import cache


def take(key: str, ttl: int) -> int:
    """Add one to ``key`` atomically and return the new count. A new counter expires
    ``ttl`` seconds after its first take (a window, or a safety net for counts never
    given back)."""
    cache.add(key, 0, timeout=ttl)
    try:
        count = int(cache.incr(key))
    except ValueError:  # expired between add() and incr(): a new counter
        cache.add(key, 1, timeout=ttl)
        return 1
    if count == 1:
        # Redis INCR (or DECR) on a key that expired just after Django's existence check
        # creates it without a TTL; a counter at 1 is new anyway.
        cache.touch(key, ttl)
    return count


def give_back(key: str) -> None:
    """Take back one :func:`take` counted on ``key`` (an expired counter: nothing)."""
    try:
        count = int(cache.decr(key))
    except ValueError:  # expired meanwhile: nothing to give back
        return
    if count < 0:
        # Re-created by Redis DECR after expiring (no TTL, below zero): it would let the
        # next takes past their limit for good.
        cache.delete(key)
