"""Cross-stream batching: many streams' hops in one model run.

A DeepFilterNet hop is a handful of tiny matrix products; one run over N
streams costs far less than N runs. Weights and code are read once per batch,
and, on a live server where each stream's hop arrives every 10-20 ms, the run
finds caches warm only if the hops are run together: measured on the dev
machine, one ``dfn3-onnx`` packet run alone after a 20 ms pause costs 3x the
same packet run back to back (``bench/engine_speed.py --cold``).

:class:`BatchScheduler` owns up to ``max_parallel`` worker threads. Callers
submit items and either block (:meth:`BatchScheduler.submit`, any thread) or
await (:meth:`BatchScheduler.submit_async`, from an asyncio loop, without a
thread per stream). One worker at a time *collects*: it waits until

* every registered stream has an item pending, or
* ``max_batch`` items are pending, or
* the oldest pending item has waited ``max_wait_ms``

then takes the pending items, hands the collector role to an idle worker and
runs the batch (grouped by runner, i.e. by model). Items that arrive while a
batch runs form the next one, so batches grow with the load while a lone
stream never waits. Results reach a blocked caller through its event, and an
asyncio caller through one ``call_soon_threadsafe`` per loop per batch (not
per item: each cross-thread wake-up costs the loop a syscall).

A stream has at most one item in flight (its caller waits), so per-stream
order is kept. Workers exit after ``IDLE_EXIT_S`` without work and are started
again on demand, so an unused scheduler holds no threads; :meth:`close` stops
them at once.

With ``realtime_priority`` the workers ask Linux for real-time round-robin
scheduling (``SCHED_RR``) at that priority, as audio servers do for their data
threads: a batch then takes a core as soon as it is ready instead of waiting
behind the event loops, codecs and disk writers of every process on the
machine, which on a loaded machine is what makes hops miss their budget
(docs/benchmarks.md, "Real-time inference threads"). The work stays bounded: a
stream has one hop in flight, so the workers never take more than the streams
give them, and Linux keeps 5 % of every second for other threads
(``sched_rt_runtime_us``). Without the privilege (``CAP_SYS_NICE`` or an
``rtprio`` limit) the workers run at normal priority and one warning is logged.

The scheduler knows nothing about models: a runner is any object with
``run_batch(items) -> results`` (one result per item, same order).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

logger = logging.getLogger(__name__)


class BatchRunner(Protocol):
    """Processes a batch of items in one go; results in item order."""

    def run_batch(self, items: Sequence[Any]) -> list[Any]:
        """One result per item."""
        ...


@dataclass(eq=False)
class _Request:
    runner: BatchRunner
    item: Any
    arrived: float
    event: threading.Event | None = None
    future: asyncio.Future[Any] | None = None
    result: Any = None
    error: BaseException | None = field(default=None, repr=False)


@dataclass
class BatchStats:
    """Counters since creation (read without locking; for benches and tests)."""

    batches: int = 0
    items: int = 0
    largest: int = 0


BatchObserver = Callable[[str, int, float, float], None]
"""Told of every batch a scheduler ran: (scheduler name, items, seconds, CPU seconds of the
worker thread), on its worker thread. CPU seconds well below seconds: the worker was ready to
run but waited for a core (or for the GIL) most of the batch."""

_observers: list[BatchObserver] = []


_failed_observers: set[int] = set()
"""``id``s of observers whose failure was logged (each is logged once, not per batch)."""
_failed_lock = threading.Lock()


def observe_batches(observer: BatchObserver) -> None:
    """Call ``observer`` after every batch of every scheduler (metrics). It must be quick and
    should not raise; it runs on the worker thread, before the batch's results are delivered.
    An exception it raises is logged (once per observer) and otherwise ignored: the batch is
    delivered and the other observers are told."""
    _observers.append(observer)


def _tell_observers(label: str, items: int, seconds: float, cpu: float) -> None:
    for observe in _observers:
        try:
            observe(label, items, seconds, cpu)
        except Exception:
            # A metrics bug must not keep a batch's results from its callers, nor flood
            # the log once per batch (hundreds a second).
            with _failed_lock:
                first = id(observe) not in _failed_observers
                _failed_observers.add(id(observe))
            if first:
                logger.exception("batch observer %r failed (further failures not logged)", observe)


class SchedulerClosed(RuntimeError):
    """The scheduler was closed; no more items are accepted."""


class BatchScheduler:
    """Runs items submitted by many threads or tasks in shared batches. Thread-safe.

    Args:
        max_wait_ms: longest the oldest pending item waits for more streams' items.
        max_batch: most items in one batch.
        max_parallel: batches allowed to run at once = worker threads (default:
            CPU count).
        name: worker thread name prefix (the scheduler's id is appended).
        realtime_priority: 1-99: workers run under ``SCHED_RR`` at this priority
            if the process may (see the module docstring); 0: normal scheduling.

    Raises:
        ValueError: a negative wait, an empty batch or a priority outside 0-99.
    """

    IDLE_EXIT_S = 5.0
    SPLIT_MIN = 8
    """A collector that finds at least twice this many items pending while another
    worker is free takes half (the rest become the next batch, on the free worker)."""

    def __init__(
        self,
        max_wait_ms: float = 2.0,
        max_batch: int = 64,
        max_parallel: int | None = None,
        name: str = "denoise-batch",
        realtime_priority: int = 0,
    ) -> None:
        if max_wait_ms < 0 or max_batch < 1:
            raise ValueError("max_wait_ms must be >= 0 and max_batch >= 1")
        if not 0 <= realtime_priority <= 99:
            raise ValueError("realtime_priority must be within 0-99")
        self.realtime_priority = realtime_priority
        self.realtime: bool | None = None
        """Whether the last worker started got real-time scheduling (None: not asked)."""
        self.max_wait_s = max_wait_ms / 1000.0
        self.max_batch = max_batch
        self.max_parallel = max(1, max_parallel or os.cpu_count() or 1)
        self.label = name
        """The name without the scheduler's id (what batch observers are told)."""
        self.name = f"{name}-{id(self):x}"
        self.stats = BatchStats()
        lock = threading.Lock()
        self._arrival = threading.Condition(lock)  # the collector waits here
        self._idle = threading.Condition(lock)  # workers without a role wait here
        self._pending: list[_Request] = []
        self._collecting = False
        # Worker threads, each counted from just before its start (_hand_over) until it
        # leaves _worker: _collect returning None, or _abandon. A thread running _collect
        # or a batch is therefore always counted.
        self._workers = 0
        self._idle_workers = 0
        self._active = 0
        self._closed = False
        self._start_failing = False  # a worker start failed and was logged; none started since

    @property
    def active_streams(self) -> int:
        """Registered streams (what a collector waits for)."""
        return self._active

    def register(self) -> None:
        """Count one more stream that will submit items."""
        with self._arrival:
            self._active += 1

    def unregister(self) -> None:
        """A stream stopped submitting (closed or idle); a waiting collector may go."""
        with self._arrival:
            self._active = max(0, self._active - 1)
            self._arrival.notify()

    def submit(self, runner: BatchRunner, item: Any) -> Any:
        """Process ``item`` with ``runner`` in some batch; blocks until done.

        Raises:
            SchedulerClosed: after :meth:`close`.
            RuntimeError: no worker thread could be started for it (e.g. "can't start new
                thread" under a process limit) and none was running; a later item may run.
            Exception: whatever ``runner.run_batch`` raised for this item's group.
        """
        req = _Request(runner, item, time.monotonic(), event=threading.Event())
        self._enqueue(req)
        assert req.event is not None
        req.event.wait()
        if req.error is not None:
            raise req.error
        return req.result

    def submit_async(self, runner: BatchRunner, item: Any) -> asyncio.Future[Any]:
        """Like :meth:`submit`, but returns a future of the running loop at once.

        Must be called from a coroutine or callback on a running loop; the
        future is resolved on that loop. Cancelling it does not withdraw the
        item (its batch may already run); the result is then discarded. The future
        fails as :meth:`submit` raises (a worker thread that could not be started included).

        Raises:
            SchedulerClosed: after :meth:`close`.
            RuntimeError: no running event loop.
        """
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._enqueue(_Request(runner, item, time.monotonic(), future=future))
        return future

    def close(self) -> None:
        """Refuse new items, finish pending ones, and let the workers exit. Idempotent."""
        with self._arrival:
            self._closed = True
            self._arrival.notify_all()
            self._idle.notify_all()

    # --- internals

    def _enqueue(self, req: _Request) -> None:
        with self._arrival:
            if self._closed:
                raise SchedulerClosed("the batch scheduler is closed")
            self._pending.append(req)
            if self._collecting:
                self._arrival.notify()  # the collector may now have enough
                return
            stranded = self._hand_over()
        self._deliver(stranded)  # ``req`` itself if no worker could take it

    def _hand_over(self) -> list[_Request]:
        """(Lock held, no collector, items pending.) Get a worker to collect them.

        Returns the items nobody will collect, taken off the queue with the error set
        (usually none): a new worker was needed, its thread could not be started
        (RuntimeError "can't start new thread", e.g. under a container's pids limit) and
        no other worker is left to take them. The caller delivers them after releasing
        the lock, so their callers get the error instead of waiting forever. Always empty
        when the caller is itself a counted worker (from :meth:`_collect`): it, if no
        other worker does first, collects the pending items after its batch.
        """
        if self._workers < self.max_parallel:
            self._workers += 1
            self._collecting = True
            try:
                threading.Thread(target=self._worker, name=self.name, daemon=True).start()
            except Exception as exc:
                # Undo, or the flag would claim a collector that does not exist and every
                # later item would wait for it.
                self._workers -= 1
                self._collecting = False
                if not self._start_failing:  # once per spell: it may fail for every item
                    logger.error("%s: cannot start a worker thread: %s", self.label, exc)
                self._start_failing = True
                if not self._workers:
                    stranded, self._pending = self._pending, []
                    for r in stranded:
                        r.error = exc
                    return stranded
                # A running worker becomes the collector when its batch is done.
            else:
                self._start_failing = False
                return []
        self._idle.notify()  # an idle worker takes over, or else the first to finish its batch
        return []

    def _enter_realtime(self) -> None:
        """(On a new worker.) Ask for ``SCHED_RR``; on refusal warn once, run normally."""
        try:
            os.sched_setscheduler(0, os.SCHED_RR, os.sched_param(self.realtime_priority))
        except (OSError, AttributeError) as exc:  # AttributeError: not Linux
            if self.realtime is not False:
                logger.warning(
                    "%s: real-time priority %d refused (%s); its workers run at normal "
                    "priority (real-time needs root, CAP_SYS_NICE or an rtprio limit)",
                    self.label,
                    self.realtime_priority,
                    exc,
                )
            self.realtime = False
        else:
            self.realtime = True

    def _worker(self) -> None:
        """A worker thread: collect a batch, run it, deliver it; until idle or closed.

        A batch taken is always delivered, with its results or an error: a runner's
        exception goes to its group's callers (:meth:`_run`), an observer's is logged.
        Anything else that fails while a batch is handled (a bug, a runner's unreadable
        results) fails the whole batch for its callers and ends this worker, which first
        leaves the count and hands the pending items on.
        """
        if self.realtime_priority:
            self._enter_realtime()
        collecting = True  # a new worker starts as the collector (set in _hand_over)
        while True:
            batch = self._collect(collecting)
            if batch is None:
                return
            try:
                started, cpu = time.perf_counter(), time.thread_time()
                self._run(batch)
                _tell_observers(
                    self.label,
                    len(batch),
                    time.perf_counter() - started,
                    time.thread_time() - cpu,
                )
                self._deliver(batch)
            except BaseException as exc:
                logger.exception(
                    "%s: a batch of %d failed; its worker exits", self.label, len(batch)
                )
                self._abandon(batch, exc)
                return
            collecting = False

    def _abandon(self, batch: list[_Request], exc: BaseException) -> None:
        """(A worker about to exit after ``exc``.) Fail ``batch`` with ``exc``, leave the
        worker count and get the pending items another worker, or their errors."""
        for r in batch:
            if r.error is None:
                r.error = exc
        with self._arrival:
            self._workers -= 1
            stranded = self._hand_over() if self._pending and not self._collecting else []
        # Suppressed: if delivering is what failed, these callers cannot be reached anyway.
        with contextlib.suppress(Exception):
            self._deliver(batch)
        self._deliver(stranded)

    def _collect(self, collecting: bool) -> list[_Request] | None:
        """Become the collector, wait for a batch, take it; None: exit the thread."""
        with self._arrival:
            if not collecting:
                idle_until = time.monotonic() + self.IDLE_EXIT_S
                # Someone else collects, or there is nothing to do: wait for a turn.
                # Leaving is safe here: pending items always have a collector or a
                # worker that is about to become one (see _hand_over).
                while self._collecting or not self._pending:
                    left = idle_until - time.monotonic()
                    if self._closed or left <= 0:
                        self._workers -= 1
                        return None
                    self._idle_workers += 1
                    self._idle.wait(left)
                    self._idle_workers -= 1
                self._collecting = True
            # The collector role is only given while items are pending, and only the
            # collector takes them: there is always at least one here.
            while True:
                n = len(self._pending)
                if n >= self.max_batch or n >= self._active or self._closed:
                    break
                left = self._pending[0].arrived + self.max_wait_s - time.monotonic()
                if left <= 0:
                    break
                self._arrival.wait(left)
            take = min(n, self.max_batch)
            if n >= 2 * self.SPLIT_MIN and (
                self._idle_workers or self._workers < self.max_parallel
            ):
                # A backlog (every stream waiting): use the other cores too rather
                # than one batch that may outlast a packet.
                take = min(take, (n + 1) // 2)
            batch = self._pending[:take]
            del self._pending[:take]
            self._collecting = False
            if self._pending:
                # More than one batch's worth: another worker collects the rest, or, if
                # none can be started, this one after its batch. The result is always
                # empty here: _hand_over strands items only when no worker is counted,
                # and this one still is (see _workers).
                self._hand_over()
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
    def _deliver(batch: list[_Request]) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[_Request]] = {}
        for r in batch:
            if r.event is not None:
                r.event.set()
            elif r.future is not None:
                by_loop.setdefault(r.future.get_loop(), []).append(r)
        for loop, reqs in by_loop.items():
            # A closed loop raises RuntimeError: nobody is waiting any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_resolve, reqs)


def _resolve(reqs: list[_Request]) -> None:
    """On the caller's loop: complete the futures of one batch."""
    for r in reqs:
        fut = r.future
        if fut is None or fut.done():  # cancelled by its caller
            continue
        if r.error is not None:
            fut.set_exception(r.error)
        else:
            fut.set_result(r.result)
