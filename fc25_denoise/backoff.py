"""The wait before trying again after failures in a row: doubling from a first wait up to
a longest one. A spool write (streams/webrtc/spool.py) and a recovery's save
(recordings/recovery.py) both back off so."""

from __future__ import annotations


def backoff_s(first_s: float, failures: int, max_s: float) -> float:
    """The wait after ``failures`` failures in a row (1 or more): ``first_s``, doubled for
    each failure after the first, at most ``max_s``."""
    return min(first_s * 2 ** min(max(failures - 1, 0), 30), max_s)
