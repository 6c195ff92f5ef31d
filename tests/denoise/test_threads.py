"""Streams on different threads run their native calls at the same time.

ctypes drops the GIL around foreign calls; if it did not, the intervals in
which the two threads are inside ``df_process_frame`` would never overlap.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from denoise import create_denoiser

pytestmark = pytest.mark.model
HOPS = 300


def _intervals(
    backend_call, hops: np.ndarray, out: list[tuple[float, float]], go: threading.Barrier
) -> None:
    go.wait()
    for hop in hops:
        t0 = time.perf_counter()
        backend_call(hop)
        out.append((t0, time.perf_counter()))


def _overlap(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> float:
    """Total time during which an interval of ``a`` and one of ``b`` both run."""
    total, j = 0.0, 0
    for s, e in a:
        while j < len(b) and b[j][1] <= s:
            j += 1
        k = j
        while k < len(b) and b[k][0] < e:
            total += max(0.0, min(e, b[k][1]) - max(s, b[k][0]))
            k += 1
    return total


def test_two_streams_overlap_in_native_code() -> None:
    rng = np.random.default_rng(0)
    hops = (0.05 * rng.standard_normal((HOPS, 480))).astype(np.float32)
    backends = [create_denoiser("dfn3")._backend for _ in range(2)]
    logs: list[list[tuple[float, float]]] = [[], []]
    go = threading.Barrier(2)
    threads = [
        threading.Thread(target=_intervals, args=(b.process_hop, hops, log, go))
        for b, log in zip(backends, logs, strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    busy = min(sum(e - s for s, e in log) for log in logs)
    shared = _overlap(*logs)
    # With the GIL held during the call the overlap would be ~0.
    assert shared > 0.3 * busy, f"overlap {shared * 1e3:.1f} ms of {busy * 1e3:.1f} ms busy"
