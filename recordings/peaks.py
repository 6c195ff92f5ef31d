"""The peaks route's body: a waveform outline of each version of a recording, cut from
an envelope decoded once per stored file and cached."""

from __future__ import annotations

from typing import Any

from django.core.cache import cache

from fc25_denoise.api import NotFound

from .audio import ENVELOPE_POINTS, AudioError, peaks, reduce_peaks
from .models import StreamRecording

PEAKS_CACHE_SECONDS = 24 * 3600


def recording_peaks(rec: StreamRecording, buckets: int) -> dict[str, Any]:
    """The peaks route's body: ``buckets`` [min, max] pairs of each version that exists.

    Each stored file is decoded once, into an :data:`~.audio.ENVELOPE_POINTS`
    envelope cached under its storage name (names never change content: a
    re-clean stores a new name); any bucket count is then cut from that.

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
        if not field:
            continue
        key = f"peaks-envelope:{field.name}"
        envelope = cache.get(key)
        if envelope is None:
            try:
                with field.storage.open(field.name or "", "rb") as fh:
                    envelope = peaks(fh, ENVELOPE_POINTS)[1]
            except (AudioError, FileNotFoundError) as exc:
                raise NotFound(f"The {version} audio cannot be read: {exc}.") from None
            cache.set(key, envelope, PEAKS_CACHE_SECONDS)
        body[version] = reduce_peaks(envelope, buckets)
    return body
