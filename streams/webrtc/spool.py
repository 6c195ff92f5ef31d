"""A live stream's recording, written off the pump: cleaned and raw WAVs on the spool.

The pump hands every frame to :meth:`SpoolWriter.write`, which never blocks or
awaits: frames are gathered into 100 ms batches, and each batch (cleaned and raw
together) goes into a bounded queue. One drain task per session empties the
queue with one worker-thread call per batch (both files in that call), so a
slow or stalled spool disk delays nothing but the recording: listeners and the
next frame never wait for it.

If the disk stalls for longer than the queue holds (``max_pending`` batches),
new batches are not kept: their length is added to a *gap*, which the drain
writes as silence once the disk answers again. So the cleaned and raw files
stay aligned and as long as the stream, the loss is counted (``lost_samples``,
``gaps``), logged, and the recording says it has a gap
(:attr:`SpoolResult.gap_seconds`). Memory stays bounded: a gap is a number.

A write that fails (a full or failing disk) is retried: the audio it held becomes a gap
too, later batches queue (and past the queue, become gap) while the drain tries again
after :data:`RETRY_FIRST_S`, doubling up to :data:`RETRY_MAX_S`; once the disk takes
writes again the gap is written as silence and the recording goes on, aligned and as
long as the stream. Only at close does the writer stop trying, after
:data:`CLOSE_RETRIES` more failures: what was still queued is counted as lost.

A writer can be given a size limit (:meth:`SpoolWriter.limit_bytes`, the
owner's quota left): audio past it is not kept (:attr:`SpoolWriter.capped`), so
a recording never passes the quota, however late the quota watch ends the
stream.

The WAV header is rewritten every second (``sf_write_sync``), so the files are
valid up to their last sync even if the process dies; at the next start
:func:`streams.services.clear_stale_streams` turns them into a recording.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import soundfile as sf

from denoise.base import Audio
from denoise.constants import SAMPLE_RATE
from fc25_denoise.backoff import backoff_s

from .logs import Log

BATCH_SAMPLES = SAMPLE_RATE // 10
"""Hand a batch to the drain every 100 ms of audio (5 packets)."""
SYNC_EVERY_SAMPLES = SAMPLE_RATE
"""Rewrite the headers every second: bounds what a crash loses."""
SILENCE_CHUNK = SAMPLE_RATE
"""A gap is written as silence in chunks of this many samples (bounded memory)."""
RETRY_FIRST_S = 0.5
"""After a failed write the drain waits this long before trying again; each failure in a
row doubles the wait, up to :data:`RETRY_MAX_S`."""
RETRY_MAX_S = 8.0
CLOSE_RETRIES = 3
"""Failed writes in a row after which a closing writer gives up on what is queued."""

logger = logging.getLogger(__name__)


class SpoolSink(Protocol):
    """Where a session's audio goes; called from one worker thread at a time."""

    def write(self, cleaned: Audio, raw: Audio | None) -> None:
        """Append equally long cleaned and (if recorded) raw samples."""
        ...

    def close(self) -> None:
        """Finalize the files. Idempotent."""
        ...


SinkFactory = Callable[[Path, Path | None], SpoolSink]
"""``(cleaned_path, raw_path or None) -> sink``; the sink opens its files on first write."""


class WavPairSink:
    """16-bit mono 48 kHz WAVs: the cleaned stream and, optionally, the raw one."""

    def __init__(self, cleaned: Path, raw: Path | None) -> None:
        self._paths = (cleaned, raw)
        self._files: tuple[sf.SoundFile, sf.SoundFile | None] | None = None
        self._since_sync = 0
        self._frames = 0
        """Frames both files hold (a failed write may have left more in one of them)."""
        self._torn = False
        """A write failed part-way: the files must go back to :attr:`_frames`."""

    def write(self, cleaned: Audio, raw: Audio | None) -> None:
        """Append to both files; a write that raises leaves them to be realigned at the
        next write (or close), which goes back to the last frame both hold."""
        if self._files is None:
            self._files = (self._open(self._paths[0]), _maybe(self._open, self._paths[1]))
        out, out_raw = self._files
        if self._torn:
            self._realign()
        self._torn = True
        out.write(cleaned)
        if out_raw is not None and raw is not None:
            out_raw.write(raw)
        self._torn = False
        self._frames += cleaned.size
        self._since_sync += cleaned.size
        if self._since_sync >= SYNC_EVERY_SAMPLES:
            # The samples are written: a header sync that fails must not fail this write
            # (the writer would record them again as a gap). The next batch tries again,
            # and close() finalizes the header or raises.
            with contextlib.suppress(RuntimeError, OSError):
                out.flush()
                if out_raw is not None:
                    out_raw.flush()
                self._since_sync = 0

    def close(self) -> None:
        if self._files is not None and self._torn:
            self._realign()
        files, self._files = self._files, None
        for f in files or ():
            if f is not None:
                f.close()

    def _realign(self) -> None:
        """Cut both files back to the frames both hold (the torn write's tail goes)."""
        for f in self._files or ():
            if f is not None:
                f.truncate(self._frames)
        self._torn = False

    @staticmethod
    def _open(path: Path) -> sf.SoundFile:
        path.parent.mkdir(parents=True, exist_ok=True)
        return sf.SoundFile(
            path, "w", samplerate=SAMPLE_RATE, channels=1, format="WAV", subtype="PCM_16"
        )


def _maybe(fn: Callable[[Path], sf.SoundFile], path: Path | None) -> sf.SoundFile | None:
    return None if path is None else fn(path)


@dataclass(frozen=True)
class SpoolResult:
    """What a closed writer recorded."""

    duration: float
    """Seconds of audio in the files, gaps (silence) included."""
    gap_seconds: float
    """Seconds that could not be written in time and were replaced by silence."""
    gaps: int
    """Separate stretches of lost audio."""


@dataclass(slots=True)
class _Batch:
    cleaned: Audio
    raw: Audio | None


@dataclass(slots=True)
class _Gap:
    samples: int


class SpoolWriter:
    """One session's recording queue. ``write`` from the loop, one task at a time.

    Args:
        cleaned, raw: the spool files (``raw`` None: the raw input is not kept).
        executor: the worker threads that touch the disk (shared by sessions;
            a session has at most one call in flight, so its order is kept).
        max_pending: batches (100 ms each) the queue holds before audio is lost.
        log: the session's logger (says which stream and user).
        sink_factory: what writes the files (tests substitute a slow disk).
        retry_s: the first wait after a failed write (:data:`RETRY_FIRST_S`).
    """

    def __init__(
        self,
        cleaned: Path,
        raw: Path | None,
        executor: Executor,
        *,
        max_pending: int,
        log: Log = logger,
        sink_factory: SinkFactory = WavPairSink,
        retry_s: float = RETRY_FIRST_S,
    ) -> None:
        if max_pending < 1:
            raise ValueError("max_pending must be at least 1")
        self.path = cleaned
        self._keep_raw = raw is not None
        self._sink = sink_factory(cleaned, raw)
        self._executor = executor
        self._max_pending = max_pending
        self._log = log
        self._queue: deque[_Batch | _Gap] = deque()
        self._batch: list[tuple[Audio, Audio]] = []
        self._batched = 0
        self._wake = asyncio.Event()
        self._drain: asyncio.Task[None] | None = None
        self._closing = False
        self._losing = False
        self._writing: _Batch | _Gap | None = None
        """The item a worker thread is writing (a gap being written is not extended)."""
        self._result: SpoolResult | None = None
        self.received_samples = 0
        """Samples handed to :meth:`write` (what the files will hold once written)."""
        self.written_samples = 0
        """Samples in the files so far (silence for gaps included)."""
        self.lost_samples = 0
        """Samples that were replaced by silence because the queue was full."""
        self.gaps = 0
        self._bytes_per_sample = 2 * (2 if self._keep_raw else 1)  # 16-bit PCM, one or two files
        self._max_samples: int | None = None
        self._retry_s = retry_s
        self._failures = 0
        self._close_failures = 0
        """Failed writes since :meth:`close` was called."""
        self._close_called = asyncio.Event()
        """Set by :meth:`close`: a retry's wait ends then, so a close waits for no backoff."""
        """Writes that failed in a row."""

    @property
    def capped(self) -> bool:
        """The size limit is reached: audio handed to :meth:`write` is no longer kept."""
        return self._max_samples is not None and self.received_samples >= self._max_samples

    def limit_bytes(self, max_bytes: int) -> None:
        """Keep at most ``max_bytes`` of spool files (counted as :attr:`spooled_bytes`).

        Audio past the limit is dropped at :meth:`write` and :attr:`capped` is set;
        what was received before stays. Raises ValueError for a negative limit.
        """
        if max_bytes < 0:
            raise ValueError("max_bytes must not be negative")
        self._max_samples = max_bytes // self._bytes_per_sample

    @property
    def spooled_bytes(self) -> int:
        """Bytes the spool files take once everything received is written (16-bit PCM)."""
        return self.received_samples * self._bytes_per_sample

    @property
    def pending(self) -> int:
        """Batches waiting for the disk (gaps count as one)."""
        return len(self._queue)

    def write(self, cleaned: Audio, raw: Audio) -> None:
        """Record one frame (``raw`` lines up with ``cleaned``). Never blocks.

        Ignored after :meth:`close` has started; cut at the size limit (:meth:`limit_bytes`).
        """
        if self._closing or self.capped:
            return
        if self._max_samples is not None:
            room = self._max_samples - self.received_samples
            if cleaned.size >= room:
                self._log.info("recording reached its size limit; later audio is not kept")
                cleaned, raw = cleaned[:room], raw[:room]
        self.received_samples += cleaned.size
        self._batch.append((cleaned, raw))
        self._batched += cleaned.size
        if self._batched >= BATCH_SAMPLES:
            self._enqueue()

    async def close(self) -> SpoolResult:
        """Write everything still queued, close the files, and say what was recorded.

        Waits for the disk however long it takes (the recording is worth it);
        idempotent.

        Raises:
            OSError: the files could not be finalized (the error is also logged).
        """
        if self._result is None:
            if not self._closing:
                self._closing = True
                self._close_called.set()
                self._enqueue()
                self._wake.set()
            if self._drain is not None:
                await asyncio.shield(self._drain)
            await asyncio.get_running_loop().run_in_executor(self._executor, self._sink.close)
            self._result = SpoolResult(
                duration=self.written_samples / SAMPLE_RATE,
                gap_seconds=self.lost_samples / SAMPLE_RATE,
                gaps=self.gaps,
            )
        return self._result

    # --- internals

    def _enqueue(self) -> None:
        if not self._batch:
            return
        frames, self._batch, self._batched = self._batch, [], 0
        if len(self._queue) >= self._max_pending:
            self._lose(sum(c.size for c, _ in frames))
        else:
            cleaned = np.concatenate([c for c, _ in frames])
            raw = np.concatenate([r for _, r in frames]) if self._keep_raw else None
            self._queue.append(_Batch(cleaned, raw))
            self._losing = False
        if self._drain is None:
            self._drain = asyncio.create_task(self._run_drain())
        self._wake.set()

    def _lose(self, samples: int) -> None:
        if not self._losing:
            self._losing = True
            self.gaps += 1
            self._log.warning(
                "spool disk too slow: %d batches waiting; recording a gap (gap %d)",
                len(self._queue),
                self.gaps,
            )
        last = self._queue[-1] if self._queue else None
        if isinstance(last, _Gap) and last is not self._writing:
            last.samples += samples  # one ongoing stall: one queue entry, whatever its length
        else:
            self._queue.append(_Gap(samples))
        self.lost_samples += samples

    async def _run_drain(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            while self._queue:
                item = self._writing = self._queue[0]
                try:
                    await loop.run_in_executor(self._executor, self._write_item, item)
                except Exception as exc:
                    if not self._failed(item, exc):
                        return
                    await self._wait_to_retry()
                    continue
                finally:
                    self._writing = None
                if self._failures:
                    self._log.warning(
                        "spool disk writes again after %d failed tries", self._failures
                    )
                    self._failures = 0
                self._queue.popleft()
            if self._closing:
                return
            self._wake.clear()
            await self._wake.wait()

    async def _wait_to_retry(self) -> None:
        """Wait before writing again: the backoff while the stream runs, ended early by a
        :meth:`close` (which then waits for no backoff); the first wait between a closing
        writer's tries."""
        if self._closing:
            await asyncio.sleep(self._retry_s)
            return
        backoff = backoff_s(self._retry_s, self._failures, RETRY_MAX_S)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._close_called.wait(), backoff)

    def _failed(self, item: _Batch | _Gap, exc: Exception) -> bool:
        """A write of ``item`` (the queue's head) failed: its audio becomes a gap to write
        again later. Returns whether to try again; False once a closing writer has
        failed :data:`CLOSE_RETRIES` times in a row (what is queued is then lost)."""
        self._failures += 1
        if self._closing:
            self._close_failures += 1
        if self._failures == 1:
            self._log.error(
                "could not write the recording (%s); recording a gap until the disk answers",
                exc,
                exc_info=exc,
            )
        if isinstance(item, _Batch):
            if self._failures == 1 and not self._losing:
                self.gaps += 1
            self._queue[0] = _Gap(item.cleaned.size)
            self.lost_samples += item.cleaned.size
        if self._closing and self._close_failures > CLOSE_RETRIES:
            queued = sum(i.cleaned.size for i in self._queue if isinstance(i, _Batch))
            unwritten = queued + sum(i.samples for i in self._queue if isinstance(i, _Gap))
            self.lost_samples += queued
            self._queue.clear()
            self._log.error(
                "recording closed with the disk still failing; %.1f s not written",
                unwritten / SAMPLE_RATE,
            )
            return False
        return True

    def _write_item(self, item: _Batch | _Gap) -> None:
        """(Worker thread.) Write one batch, or a gap as silence."""
        if isinstance(item, _Batch):
            self._sink.write(item.cleaned, item.raw)
            self.written_samples += item.cleaned.size
            return
        while item.samples > 0:  # what is left of the gap, if a write fails part-way
            n = min(item.samples, SILENCE_CHUNK)
            zeros = np.zeros(n, dtype=np.float32)
            self._sink.write(zeros, zeros if self._keep_raw else None)
            self.written_samples += n
            item.samples -= n
