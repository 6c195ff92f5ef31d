"""This process's job threads (:class:`JobRunner`), and the order they take queued jobs in.

The composition root (:mod:`fc25_denoise.runtime`) builds one runner per server process;
code that queues a job is given its ``submit``. A free thread runs the fairest job
waiting (:func:`fair_order`): the jobs of owners with none running and the longest
without one come first, so one account keeping its four re-cleans queued delays another
account's job by at most the job running now, not by all of its queue.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Collection
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import datetime

from django.db import DatabaseError, close_old_connections, connection
from django.db.models import Count, Max, Q
from django.utils import timezone

from . import jobs
from .models import RecordingJob

logger = logging.getLogger(__name__)


def fair_order(job_ids: Collection[int]) -> list[int]:
    """Of ``job_ids``, those still queued, fairest first: owners with the fewest jobs
    running come first, then those whose last job ended longest ago (or who never had
    one), then the oldest job. Two queries."""
    queued = list(
        RecordingJob.objects.filter(pk__in=job_ids, status=RecordingJob.Status.QUEUED).values_list(
            "pk", "recording__owner_id", "created_at"
        )
    )
    owners = {owner for _, owner, _ in queued}
    served = {
        row["recording__owner_id"]: (row["running"], row["last"])
        for row in RecordingJob.objects.filter(recording__owner_id__in=owners)
        .exclude(status=RecordingJob.Status.QUEUED)
        .values("recording__owner_id")
        .annotate(
            running=Count("pk", filter=Q(status=RecordingJob.Status.RUNNING)),
            last=Max("updated_at"),
        )
    }
    never = datetime.min.replace(tzinfo=timezone.get_current_timezone())

    def key(row: tuple[int, int, datetime]) -> tuple[int, datetime, datetime, int]:
        job_id, owner, created = row
        running, last = served.get(owner, (0, None))
        return running, last or never, created, job_id

    return [job_id for job_id, _, _ in sorted(queued, key=key)]


def _lower_priority() -> None:
    # On Linux a thread has its own nice value: only job threads yield to live streams.
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), jobs.JOB_NICE)


POLL_EVERY = 30.0
"""Seconds between scans for queued jobs nobody started (e.g. after a restart)."""
FIRST_POLL_AFTER = 1.0
"""Seconds from :meth:`JobRunner.start_polling` to the first scan: jobs a stopped server
left queued run almost at once, after the server has finished starting."""


class JobRunner:
    """This process's job threads. ``submit`` is safe from any thread.

    The runner owns its threads (job threads and the poller): :meth:`shutdown` stops
    them all, a running job included (it is queued again for the next start).
    """

    def __init__(self, workers: int) -> None:
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(
            max_workers=workers,
            thread_name_prefix="recjob",
            initializer=_lower_priority,
        )
        self._poller: threading.Thread | None = None
        self._inflight: set[Future[None]] = set()
        self._running: set[int] = set()
        """Jobs a thread of this runner has taken, until its call returns: a poll that
        finds one still queued (not yet claimed) must not hand it over again."""
        self._pending: set[int] = set()
        """Jobs submitted here and not yet taken by a thread: each free thread runs the
        fairest of them (:func:`fair_order`), not the oldest submitted."""
        self._lock = threading.Lock()

    def start_polling(self) -> None:
        """Resume left-over jobs after :data:`FIRST_POLL_AFTER` s, then every
        :data:`POLL_EVERY` s (server processes only), until :meth:`shutdown`."""
        if self._poller is not None:
            return

        def loop() -> None:
            every = FIRST_POLL_AFTER
            try:
                while not self._stop.wait(every):
                    every = POLL_EVERY
                    try:
                        self.resume()
                    except Exception:
                        logger.exception("could not scan for queued recording jobs")
                    finally:
                        close_old_connections()
            finally:
                connection.close()  # the thread's own; nobody else would close it

        self._poller = threading.Thread(target=loop, name="recjob-poll", daemon=True)
        self._poller.start()

    def submit(self, job_id: int) -> None:
        """Run job ``job_id`` on a job thread, unless it already waits or runs in this one.

        A free thread does not take the oldest job submitted but the fairest one waiting
        (:func:`fair_order`): one account's queue of re-cleans cannot hold the others'
        jobs back. After :meth:`shutdown` it does nothing: the row stays queued and the
        next server start runs it (a request may still queue a job while the server stops).
        """
        with self._lock:
            if self._stop.is_set() or job_id in self._pending or job_id in self._running:
                return  # each poll finds a waiting job queued again
            self._pending.add(job_id)
            future = self._pool.submit(self._run_fairest)
            self._inflight.add(future)
        future.add_done_callback(self._forget)

    def _run_fairest(self) -> None:
        """(Job thread.) Run the fairest waiting job; if another thread or process claimed
        it meanwhile, the next fairest, until one runs or none waits. Jobs no longer
        queued leave the waiting set; a job another thread put back or submitted while
        this one looked is seen on the next look, so none is left without a thread."""
        while not self._stop.is_set():
            with self._lock:
                waiting = list(self._pending)
            if not waiting:
                return
            try:
                order = fair_order(waiting)
            except DatabaseError:
                logger.exception("could not order the waiting recording jobs")
                order = sorted(waiting)
            finally:
                close_old_connections()
            with self._lock:  # done elsewhere, or deleted
                self._pending.difference_update(set(waiting) - set(order))
            for job_id in order:
                if self._stop.is_set():
                    return
                with self._lock:
                    if job_id not in self._pending:
                        continue  # another thread took it
                    self._pending.discard(job_id)
                    self._running.add(job_id)
                try:
                    claimed = jobs.run_job(job_id, self._stop)
                finally:
                    with self._lock:
                        self._running.discard(job_id)
                if claimed:
                    return

    def _forget(self, future: Future[None]) -> None:
        with self._lock:
            self._inflight.discard(future)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every submitted job has finished (tests, shutdown); True if idle."""
        with self._lock:
            running = list(self._inflight)
        return not wait(running, timeout=timeout).not_done

    def resume(self) -> int:
        """Queue jobs left queued, or running without a heartbeat (their process died:
        each is put back to queued from scratch and its owner told, as a job stopped by
        its own server's shutdown is, :func:`~recordings.jobs.requeue`); returns how many
        were submitted."""
        cutoff = timezone.now() - jobs.STALE_AFTER
        dead = RecordingJob.objects.filter(
            status=RecordingJob.Status.RUNNING, updated_at__lt=cutoff
        ).values_list("pk", "recording_id", "recording__owner__username")
        for job_id, recording_id, owner in list(dead):
            if jobs.requeue(job_id, stale_before=cutoff):
                logger.info(
                    "[recording %s user=%s] job %s: its server process stopped beating; "
                    "queued again",
                    recording_id,
                    owner,
                    job_id,
                )
        ids = list(
            RecordingJob.objects.filter(status=RecordingJob.Status.QUEUED).values_list(
                "pk", flat=True
            )
        )
        for job_id in ids:
            self.submit(job_id)
        return len(ids)

    def shutdown(self) -> None:
        """Stop this runner's threads; later :meth:`submit` calls do nothing.

        Jobs waiting for a thread are dropped (their rows stay queued). A running job
        stops at its next block of audio, deletes its partial output and puts its row
        back to queued (:class:`ServerStopping`), so the next server start resumes it at
        once instead of a dead process's job after :data:`STALE_AFTER`. One still
        fetching or storing a file stops once that call returns. Nothing is waited for:
        this runs on the event loop at shutdown, the poller (a daemon) ends at its next
        wake-up and closes its own connection, and a job thread's last step may publish
        on that loop (the interpreter joins the job threads at exit; :meth:`wait_idle`
        waits here).
        """
        with self._lock:  # a submit in progress finishes first; later ones see the flag
            self._stop.set()
        # Outside the lock: cancelling a waiting job runs its done callback (_forget, which
        # takes the lock) on this thread at once.
        self._pool.shutdown(wait=False, cancel_futures=True)
