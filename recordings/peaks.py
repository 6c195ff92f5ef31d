"""The peaks route's body: a waveform outline of each version of a recording, cut from
an envelope decoded once per stored file and cached.

An envelope is :data:`~.audio.ENVELOPE_POINTS` float32 ``[min, max]`` pairs kept as bytes
(64 KB) in the ``peaks`` cache, apart from the default cache's login records: without
Redis it holds at most ``settings.PEAKS_CACHE_ENTRIES`` envelopes, so files asked for
their peaks cannot grow the process without bound. Requests for one file that arrive
while it is being decoded wait for that decode (one per process) instead of decoding it
again.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from django.core.cache import caches
from django.db.models.fields.files import FieldFile
from numpy.typing import NDArray

from fc25_denoise.api import NotFound

from .audio import ENVELOPE_POINTS, AudioError, peaks, reduce_peaks
from .models import StreamRecording

PEAKS_CACHE = "peaks"
"""The cache alias the envelopes are kept in (settings.CACHES)."""
PEAKS_CACHE_SECONDS = 24 * 3600

_decoding: dict[str, threading.Lock] = {}
_decoding_lock = threading.Lock()


def envelope_key(name: str) -> str:
    """The cache key of stored file ``name``'s envelope (names never change content: a
    re-clean stores a new name)."""
    return f"peaks-f32:{name}"


def recording_peaks(rec: StreamRecording, buckets: int, with_raw: bool = True) -> dict[str, Any]:
    """The peaks route's body: ``buckets`` [min, max] pairs of each version that exists
    (the raw one only ``with_raw``: the viewer may hear it).

    Raises:
        NotFound: a file is missing or unreadable.
    """
    body: dict[str, Any] = {
        "duration": rec.duration,
        "buckets": buckets,
        "cleaned": None,
        "raw": None,
    }
    for version, field in (("cleaned", rec.file), ("raw", rec.raw_file)):
        if field and (version == "cleaned" or with_raw):
            body[version] = reduce_peaks(_envelope(field, version), buckets)
    return body


def _envelope(field: FieldFile, version: str) -> NDArray[np.float32]:
    cache = caches[PEAKS_CACHE]
    name = field.name or ""
    key = envelope_key(name)
    packed = cache.get(key)
    if packed is None:
        with _one_decode(key):
            packed = cache.get(key)  # decoded by the request this one waited for
            if packed is None:
                try:
                    with field.storage.open(name, "rb") as fh:
                        envelope = peaks(fh, ENVELOPE_POINTS)[1]
                except (AudioError, FileNotFoundError) as exc:
                    raise NotFound(f"The {version} audio cannot be read: {exc}.") from None
                packed = np.asarray(envelope, dtype=np.float32).tobytes()
                cache.set(key, packed, PEAKS_CACHE_SECONDS)
    return np.frombuffer(packed, dtype=np.float32).reshape(-1, 2)


@contextmanager
def _one_decode(key: str) -> Iterator[None]:
    """Hold ``key``'s decode lock. The lock is dropped from the table when its holder is
    done: a request that then makes a new one finds the envelope in the cache, as do
    the requests still waiting for the old one."""
    with _decoding_lock:
        lock = _decoding.setdefault(key, threading.Lock())
    try:
        with lock:
            yield
    finally:
        with _decoding_lock:
            if _decoding.get(key) is lock:
                del _decoding[key]
