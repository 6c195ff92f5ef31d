"""The live path's shared machinery in one server process: :class:`LiveRuntime`.

Every live session of a process runs on the same few threads and schedulers,
which this object creates and shuts down (the hub owns one; the composition
root, :mod:`fc25_denoise.runtime`, builds it from the settings):

* ``inference``: the :class:`~denoise.batching.BatchScheduler` that runs the
  hops of every batched (ONNX) stream in shared batches on ``workers`` threads.
  Unbatched models (native ``dfn3``) compute on their backend's own thread.
* ``setup``: two threads for stream setup and teardown (model load, closing a
  denoiser), so neither ever queues behind inference.
* ``codec``: one thread that decodes the broadcasters' Opus packets
  (:mod:`.decode`) and encodes the listeners' (:mod:`.fanout`) for all
  streams, in batches of whatever arrived meanwhile (no waiting).
* ``spool``: threads that write the recordings (:class:`~.spool.SpoolWriter`);
  a stalled disk stalls only these.

See ``docs/architecture.md`` for what each thread may touch.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from denoise.base import Denoiser
from denoise.batching import BatchScheduler
from denoise.registry import create_denoiser

from .logs import Log
from .spool import SinkFactory, SpoolWriter, WavPairSink

SPOOL_THREADS = 2
"""Disk writers shared by the sessions (each session has at most one write in flight)."""


@dataclass(frozen=True)
class LiveConfig:
    """Per-process live settings (from ``fc25_denoise.settings``)."""

    stun_urls: list[str]
    jitter_prefetch: int
    """Packets aiortc's receive jitter buffer holds before releasing audio."""
    budget: float
    """Seconds a frame's inference may take before the frame is passed through."""
    media_timeout: float
    """Seconds without audio before a broadcaster is considered gone."""
    connect_timeout: float
    """Seconds a new stream may take to connect."""
    max_backlog: float
    """Seconds a stream may fall behind real time before frames are dropped."""
    spool_buffer: float = 5.0
    """Seconds of recording that may wait for a slow disk before audio is lost (a gap)."""
    figures_every: float = 5.0
    """Seconds between two keepings of a live recording's figures beside its spool."""
    workers: int = 2
    """Inference threads (one per core)."""
    batching: bool = True
    """Batch ONNX streams' hops across streams."""
    batch_wait_ms: float = 4.0
    """Longest a hop waits for other streams' hops."""
    opus_frame_ms: int = 20
    """Opus packet duration (10 or 20 ms) asked of broadcasters and sent to listeners."""
    realtime_priority: int = 0
    """SCHED_RR priority of the inference threads (0: normal scheduling). Only those: the
    codec thread at real-time priority starves the event loop (docs/benchmarks.md)."""


class LiveRuntime:
    """Creates, hands out and shuts down the live path's threads and schedulers.

    Build it on any thread; its methods that return awaitables run on the
    server's event loop. :meth:`shutdown` is idempotent and stops every thread
    (pending inference and codec items finish first).
    """

    def __init__(self, config: LiveConfig, *, sink_factory: SinkFactory = WavPairSink) -> None:
        self.config = config
        self.inference = (
            BatchScheduler(
                max_wait_ms=config.batch_wait_ms,
                max_parallel=config.workers,
                realtime_priority=config.realtime_priority,
            )
            if config.batching
            else None
        )
        self.setup = ThreadPoolExecutor(max_workers=2, thread_name_prefix="denoise-setup")
        self.codec = BatchScheduler(max_wait_ms=0, max_parallel=1, name="opus")
        self.spool = ThreadPoolExecutor(max_workers=SPOOL_THREADS, thread_name_prefix="spool")
        # The figures beside each spool (streams/webrtc/figures.py) on their own thread: on
        # a slow disk they hold it, not one of the threads the recordings' audio waits for.
        self.figures = ThreadPoolExecutor(max_workers=1, thread_name_prefix="spool-figures")
        self._sink_factory = sink_factory
        self._closed = False

    async def create_denoiser(self, model: str, atten_lim_db: float) -> Denoiser:
        """Load ``model`` for a new stream (on the setup threads); the caller owns it.

        Cancelling the caller (Django cancels a view whose client disconnects) does not
        stop the load, which runs on a setup thread: the denoiser it returns, held by
        nobody, is closed when it arrives. Left open, a batched one would stay counted by
        the scheduler, and every batch would wait ``batch_wait_ms`` for its hops.

        Raises:
            DenoiseError: unknown model, or it cannot be loaded.
            CancelledError: the caller was cancelled.
        """
        loop = asyncio.get_running_loop()
        building = loop.run_in_executor(
            self.setup, create_denoiser, model, atten_lim_db, self.inference
        )
        try:
            return await asyncio.shield(building)
        except asyncio.CancelledError:
            building.add_done_callback(self._close_unclaimed)
            raise

    def _close_unclaimed(self, building: asyncio.Future[Denoiser]) -> None:
        """(Done callback, on the loop.) Close the denoiser of a cancelled
        :meth:`create_denoiser` on the setup threads, as :meth:`close_denoiser` does."""
        if building.cancelled() or building.exception() is not None:
            return  # nothing was built (an error nobody awaits any more is dropped here)
        denoiser = building.result()
        try:
            self.setup.submit(denoiser.close)
        except RuntimeError:  # the runtime shut down meanwhile: a thread of its own
            threading.Thread(target=denoiser.close, name="denoise-close", daemon=True).start()

    async def close_denoiser(self, denoiser: Denoiser) -> None:
        """Release a stream's denoiser (on the setup threads: closing may join a thread)."""
        await asyncio.get_running_loop().run_in_executor(self.setup, denoiser.close)

    def spool_writer(self, cleaned: Path, raw: Path | None, log: Log) -> SpoolWriter:
        """A session's recording writer on the shared spool threads (call on the loop)."""
        pending = max(1, round(self.config.spool_buffer * 10))  # 100 ms batches
        return SpoolWriter(
            cleaned,
            raw,
            self.spool,
            max_pending=pending,
            log=log,
            sink_factory=self._sink_factory,
        )

    def shutdown(self) -> None:
        """Stop the threads; call after every session has stopped. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self.setup.shutdown(wait=False, cancel_futures=True)
        self.spool.shutdown(wait=False)  # a write in flight finishes: files stay valid
        self.figures.shutdown(wait=False)  # each stream's keeper awaited its own write
        self.codec.close()
        if self.inference is not None:
            self.inference.close()
