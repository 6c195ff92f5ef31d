"""Cross-stream batching: many streams' hops in one model run.

A DeepFilterNet hop is a handful of tiny matrix products; one run over N
streams costs far less than N runs (weights are read once, per-node overhead
is paid once). :class:`BatchScheduler` gathers the hops that streams submit
from their worker threads and runs them together, while each caller keeps the
plain blocking ``Denoiser.process`` interface:

* the first thread to submit becomes the *leader*: it waits until every
  registered stream has a hop pending, ``max_wait_ms`` has passed, or
  ``max_batch`` hops are pending, and until fewer than ``max_parallel``
  batches are running; then it takes the pending hops and runs them on its own
  thread (grouped by runner, i.e. by model);
* every other thread waits on its own event for its result. Hops that arrive
  while a batch runs form the next batch, so batches grow with the load.

A stream has at most one hop in flight (its thread blocks), so per-stream order
is kept. Batching only helps if several streams can be blocked in ``process``
at once: the pool that calls the denoisers needs about one thread per live
stream (they sleep while waiting); CPU parallelism is ``max_parallel``.

The scheduler knows nothing about models: a runner is any object with
``run_batch(items) -> results`` (one result per item, same order).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


class BatchRunner(Protocol):
    """Processes a batch of items in one go; results in item order."""

    def run_batch(self, items: Sequence[Any]) -> list[Any]:
        """One result per item."""
        ...


@dataclass(eq=False)
class _Request:
    runner: BatchRunner
    item: Any
    event: threading.Event = field(default_factory=threading.Event)
    result: Any = None
    error: BaseException | None = None
    done: bool = False
    promoted: bool = False


@dataclass
class BatchStats:
    """Counters since creation (read without locking; for benches and tests)."""

    batches: int = 0
    items: int = 0
    largest: int = 0


class BatchScheduler:
    """Runs hops submitted by many threads in shared batches. Thread-safe.

    Args:
        max_wait_ms: longest a leader waits for more streams' hops.
        max_batch: most items in one batch.
        max_parallel: batches allowed to run at once (default: CPU count).
    """

    def __init__(
        self, max_wait_ms: float = 2.0, max_batch: int = 64, max_parallel: int | None = None
    ) -> None:
        if max_wait_ms < 0 or max_batch < 1:
            raise ValueError("max_wait_ms must be >= 0 and max_batch >= 1")
        self.max_wait_s = max_wait_ms / 1000.0
        self.max_batch = max_batch
        self.max_parallel = max(1, max_parallel or os.cpu_count() or 1)
        self.stats = BatchStats()
        self._cond = threading.Condition(threading.Lock())
        self._pending: list[_Request] = []
        self._collecting = False
        self._running = 0
        self._active = 0

    @property
    def active_streams(self) -> int:
        """Registered streams (what a leader waits for)."""
        return self._active

    def register(self) -> None:
        """Count one more stream that will submit hops."""
        with self._cond:
            self._active += 1

    def unregister(self) -> None:
        """A stream stopped submitting (closed or idle); a waiting leader may go."""
        with self._cond:
            self._active = max(0, self._active - 1)
            self._cond.notify_all()

    def submit(self, runner: BatchRunner, item: Any) -> Any:
        """Process ``item`` with ``runner`` in some batch; blocks until done.

        Raises:
            Exception: whatever ``runner.run_batch`` raised for this item's group.
        """
        req = _Request(runner, item)
        with self._cond:
            self._pending.append(req)
            lead = not self._collecting
            if lead:
                self._collecting = True
            else:
                self._cond.notify_all()  # the collecting leader may now have enough
        while not lead:
            req.event.wait()
            if req.done:
                return self._result(req)
            req.event.clear()  # promoted: the previous leader left us in charge
            lead = True
        batch = self._collect()
        try:
            self._run(batch)
        finally:
            with self._cond:
                self._running -= 1
                self._cond.notify_all()
            for r in batch:
                r.done = True
                if r is not req:
                    r.event.set()
        return self._result(req)

    def _collect(self) -> list[_Request]:
        """As the leader: wait for a full batch (or the deadline) and a free slot."""
        with self._cond:
            deadline = time.monotonic() + self.max_wait_s
            while True:
                n = len(self._pending)
                full = n >= self.max_batch or n >= self._active
                slot = self._running < self.max_parallel
                now = time.monotonic()
                if slot and (full or now >= deadline):
                    break
                self._cond.wait(deadline - now if slot else None)
            batch = self._pending[: self.max_batch]
            del self._pending[: self.max_batch]
            self._running += 1
            self._collecting = bool(self._pending)
            if self._pending:  # too many for one batch: hand over to the next in line
                nxt = self._pending[0]
                nxt.promoted = True
                nxt.event.set()
            self.stats.batches += 1
            self.stats.items += len(batch)
            self.stats.largest = max(self.stats.largest, len(batch))
        return batch

    @staticmethod
    def _run(batch: list[_Request]) -> None:
        groups: dict[int, list[_Request]] = {}
        for r in batch:
            groups.setdefault(id(r.runner), []).append(r)
        for reqs in groups.values():
            try:
                results = reqs[0].runner.run_batch([r.item for r in reqs])
                if len(results) != len(reqs):
                    raise RuntimeError("batch runner returned the wrong number of results")
            except BaseException as exc:  # delivered to every caller of the group
                for r in reqs:
                    r.error = exc
                continue
            for r, res in zip(reqs, results, strict=True):
                r.result = res

    @staticmethod
    def _result(req: _Request) -> Any:
        if req.error is not None:
            raise req.error
        return req.result
