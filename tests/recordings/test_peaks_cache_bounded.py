"""The peaks envelopes kept between requests are compact and bounded, and a file is
decoded once however many requests ask for it at the same time.

Each envelope had been kept as Python lists (about 176 KB pickled) in the default cache
for a day, however small its file: without Redis that cache holds 100000 entries (login
records need them), so tiny imports each asked for their peaks grew the process without
bound (0.4 MB per recording measured). Now an envelope is 8000 float32 pairs (64 KB) in a
cache of its own, which without Redis holds at most ``PEAKS_CACHE_ENTRIES``.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.conf import settings
from django.core.cache import caches

from recordings import peaks as peaks_route
from recordings.audio import ENVELOPE_POINTS, peaks

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_envelope_is_kept_as_compact_bytes(rec, as_bob):
    assert as_bob.get(f"/api/recordings/{rec.pk}/peaks/?buckets=100").status_code == 200
    kept = caches[peaks_route.PEAKS_CACHE].get(peaks_route.envelope_key(rec.file.name))
    assert isinstance(kept, bytes) and len(kept) == ENVELOPE_POINTS * 2 * 4


def test_without_redis_the_peaks_cache_is_bounded():
    if settings.CACHES["default"]["BACKEND"].endswith("RedisCache"):
        pytest.skip("the bound is the local-memory cache's (Redis keys expire in a day)")
    cache = caches[peaks_route.PEAKS_CACHE]
    for i in range(settings.PEAKS_CACHE_ENTRIES + 50):
        cache.set(peaks_route.envelope_key(f"recordings/1/{i}.flac"), b"x", 60)
    kept = sum(
        cache.get(peaks_route.envelope_key(f"recordings/1/{i}.flac")) is not None
        for i in range(settings.PEAKS_CACHE_ENTRIES + 50)
    )
    assert kept <= settings.PEAKS_CACHE_ENTRIES
    assert caches["default"].get(peaks_route.envelope_key("recordings/1/0.flac")) is None


def test_requests_at_the_same_time_decode_a_file_once(rec, monkeypatch):
    calls: list[int] = []

    def slow_peaks(source, buckets):
        calls.append(1)
        time.sleep(0.3)  # the others arrive while it decodes
        return peaks(source, buckets)

    monkeypatch.setattr(peaks_route, "peaks", slow_peaks)
    results: list[dict] = []
    threads = [
        threading.Thread(target=lambda: results.append(peaks_route.recording_peaks(rec, 100)))
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4 and all(r == results[0] for r in results)
    assert len(calls) == 2  # cleaned and raw, once each
