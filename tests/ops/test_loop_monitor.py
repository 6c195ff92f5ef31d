"""The loop monitor measures how late the loop wakes a sleeping task, and folds session
counters so frames are counted up to the last interval before a stream ended."""

import asyncio
import time
import uuid
from dataclasses import dataclass, field

from fc25_denoise.monitor import FrameTotals, LoopMonitor


@dataclass
class Session:
    stats: dict[str, int]
    session_id: uuid.UUID = field(default_factory=uuid.uuid4)


async def test_blocked_loop_is_measured_as_lag() -> None:
    lags: list[float] = []
    session = Session({"denoised": 5})
    totals = FrameTotals()
    monitor = LoopMonitor(lambda: [session], totals, lags.append, interval_s=0.02)
    monitor.start()
    monitor.start()  # idempotent
    await asyncio.sleep(0.05)
    time.sleep(0.2)  # noqa: ASYNC251 - the loop is busy elsewhere: the lag to measure
    await asyncio.sleep(0.05)
    await monitor.stop()
    assert max(lags) >= 0.15
    assert totals.totals()["denoised"] == 5
    await monitor.stop()  # idempotent


def test_totals_never_go_down() -> None:
    totals = FrameTotals()
    a, b = Session({"denoised": 10, "dropped": 2}), Session({"denoised": 4})
    totals.fold([a, b])
    a.stats = {"denoised": 15, "dropped": 2}
    totals.fold([a])  # b ended
    totals.fold([a])  # nothing new
    assert totals.totals() == {"denoised": 19, "bypassed": 0, "dropped": 2, "too_fast": 0}
