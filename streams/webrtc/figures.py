"""A live recording's figures kept beside its spool while the stream runs.

The gaps and the noise removed per second live in the live process's memory until the
stream ends and its recording is saved with them. A process killed mid-stream would
lose them: its recording is saved from the spool when it (or another) restarts, with
what :class:`FiguresKeeper` last kept there, every few seconds (``FC25_LIVE_FIGURES_EVERY``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Executor

from denoise.constants import SAMPLE_RATE
from fc25_denoise.periodic import Periodic

from .logs import Log
from .spool import SpoolWriter
from .stream import KeepFigures
from .telemetry import StreamMeter


class FiguresKeeper:
    """Hands the stream's figures so far to ``keep`` on ``executor`` (a worker thread:
    the loop never touches the disk) every ``every_s`` while new audio was recorded.

    Owns its timer (:class:`~fc25_denoise.periodic.Periodic`, which logs a failing round and
    goes on) and its write in flight: :meth:`stop` ends both, so nothing is kept
    after the recording's save has removed the spool. A disk that refuses the figures is
    logged once (through ``log``, the stream's), and once more when it takes them again.
    """

    def __init__(
        self,
        keep: KeepFigures,
        spool: SpoolWriter,
        meter: StreamMeter,
        atten_lim_db: Callable[[], float],
        executor: Executor,
        log: Log,
        *,
        every_s: float,
    ) -> None:
        self._keep = keep
        self._spool = spool
        self._meter = meter
        self._atten_lim_db = atten_lim_db
        self._executor = executor
        self._log = log
        self._refused = False
        self._kept_at = 0  # samples recorded when the figures were last kept
        self._timer = Periodic("live-figures", self._keep_once, every_s)
        self._writing: asyncio.Future[bool] | None = None
        self._stopped = False

    def start(self) -> None:
        """Begin keeping (on the loop); idempotent, and nothing after :meth:`stop`."""
        if not self._stopped:
            self._timer.start()

    async def stop(self) -> None:
        """Keep nothing more; returns once a write in flight has finished."""
        self._stopped = True
        await self._timer.stop()
        if self._writing is not None:
            await asyncio.wait([self._writing])  # the thread's write, not the timer's wait

    async def _keep_once(self) -> None:
        """One round of the timer: keep the figures if audio came since the last keeping."""
        recorded = self._spool.received_samples
        if recorded == self._kept_at:
            return  # nothing new (no audio yet, or a stalled source)
        self._kept_at = recorded
        gap_seconds = self._spool.lost_samples / SAMPLE_RATE
        figures = (gap_seconds, list(self._meter.removed_per_second), self._atten_lim_db())
        loop = asyncio.get_running_loop()
        self._writing = loop.run_in_executor(self._executor, self._keep, *figures)
        kept = await asyncio.shield(self._writing)
        if kept == self._refused:  # a change: refused for the first time, or kept again
            self._refused = not kept
            if kept:
                self._log.info("the recording's figures are kept beside its spool again")
            else:
                self._log.warning(
                    "the recording's figures (gaps, noise removed) cannot be kept beside "
                    "its spool; a crash would lose them"
                )
