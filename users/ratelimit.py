"""Failed-login rate limiting per user name and per client address.

Counters live in Django's cache (Redis when ``REDIS_URL`` is set, so all
server processes share them). Unknown user names are counted exactly like
known ones, so the limiter's answers never reveal whether an account exists.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache


def _keys(username: str, address: str) -> list[str]:
    name = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]
    return [f"login-fail:user:{name}", f"login-fail:addr:{address}"]


def is_limited(username: str, address: str) -> bool:
    """True if either the user name or the address used up its failures."""
    limit: int = settings.LOGIN_RATE_LIMIT
    counts = cache.get_many(_keys(username, address))
    return any(int(v) >= limit for v in counts.values())


def record_failure(username: str, address: str) -> None:
    """Count one failed login for both keys; the window starts at the first failure."""
    window: int = settings.LOGIN_RATE_WINDOW
    for key in _keys(username, address):
        if cache.add(key, 1, timeout=window):
            continue
        try:
            cache.incr(key)
        except ValueError:  # expired between add() and incr()
            cache.add(key, 1, timeout=window)


def reset(username: str) -> None:
    """Forget a user name's failures after a successful login."""
    cache.delete(_keys(username, "")[0])
