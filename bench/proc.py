"""Process figures for benchmarks (Linux /proc)."""

from __future__ import annotations


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
