"""Process figures for benchmarks (Linux /proc)."""

from __future__ import annotations

import numpy as np

EVICT_BYTES = 64 * 1024 * 1024
"""More than the machine's caches hold (32 MB of L3 on the EPYC)."""


class CacheEvictor:
    """Called before a timed run, writes ``EVICT_BYTES`` (when ``cold``), so the run finds the
    model's weights out of the caches, as a live server's batch does: the event loop, the
    codecs and the other streams run between two batches."""

    def __init__(self, cold: bool) -> None:
        self._junk = np.ones(EVICT_BYTES // 8) if cold else None

    def __call__(self) -> None:
        if self._junk is not None:
            self._junk += 1.0


def rss_mb() -> float:
    """Resident set size of this process in MB (nan if /proc is unavailable)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")
