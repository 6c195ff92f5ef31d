"""A token bucket: at most ``rate`` units a second on average, ``burst`` at once.

Per-connection limits on the event loop (a presence socket's frames, a broadcaster's
audio before it is decoded) use it; it is not thread-safe and costs a clock read.

Not a rate-limiting library (``limits``, ``django-ratelimit``): those count per key in a
shared store (the cache), a round trip per call, which is right for the login and
registration throttles (``users.throttle``, across processes) but not for a check on every
packet or frame of one connection, which lives and dies with that connection's object.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class TokenBucket:
    """Starts full. :meth:`take` says whether ``amount`` fits now, and takes it if so."""

    def __init__(
        self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate <= 0 or burst <= 0:
            raise ValueError("rate and burst must be positive")
        self._rate = rate
        self._burst = burst
        self._clock = clock
        self._tokens = burst
        self._last = clock()

    def take(self, amount: float = 1.0) -> bool:
        """Take ``amount`` if the bucket holds it; False (nothing taken) otherwise."""
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._last) * self._rate)
        self._last = now
        if amount > self._tokens:
            return False
        self._tokens -= amount
        return True
