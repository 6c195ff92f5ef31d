"""Throttle counters end with their window, even one a cache race left without a TTL."""

import time

from django.core.cache import cache
from django.test import override_settings

from users import throttle


@override_settings(LOGIN_RATE_LIMIT=2, LOGIN_RATE_WINDOW=1)
def test_lock_ends_with_the_window():
    assert throttle.acquire("alice", "10.0.0.1")
    assert throttle.acquire("alice", "10.0.0.1")
    assert not throttle.acquire("alice", "10.0.0.1")
    time.sleep(1.2)
    assert throttle.acquire("alice", "10.0.0.1")


@override_settings(LOGIN_RATE_LIMIT=2, LOGIN_RATE_WINDOW=1)
def test_counter_without_ttl_gets_one():
    pair_key, _ = throttle._keys("alice", "10.0.0.1")
    cache.set(pair_key, 0, timeout=None)  # what INCR on a just-expired Redis key leaves
    assert throttle.acquire("alice", "10.0.0.1")
    time.sleep(1.2)
    assert cache.get(pair_key) is None
