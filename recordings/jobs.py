"""Background jobs: clean an import, or re-clean a recording's raw track.

A job is a ``RecordingJob`` row; the row is the queue, so any server process
can run it and a job survives a restart. Each process has one
:class:`JobRunner` (built by the composition root, :mod:`fc25_denoise.runtime`)
whose threads claim rows atomically (``queued`` -> ``running``), so a job runs
once even with several processes. A running row's ``updated_at`` is its
heartbeat, stamped when claimed and then on a timer of its own
(:func:`_heartbeat`); a row silent for :data:`STALE_AFTER` belonged to a dead
process, and any process's poll queues it again. Jobs run at a lower CPU
priority than live streams. Code that queues a job is given the runner's
``submit`` (a :data:`SubmitJob`); nothing here looks the runner up.

The previous cleaned version stays in place (and is served) until the new one
is stored; then the row is switched in one transaction and the old file is
deleted after commit. Progress goes to the owner's presence sockets as
``{"type": "recording_job", "recording_id", "job"}``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.db import close_old_connections, transaction
from django.utils import timezone

from denoise.base import DenoiseError
from denoise.filedenoise import denoise_file
from fc25_denoise.threads import refreshed_while
from users.events import publish

from .audio import AudioError
from .models import RecordingJob, StreamRecording
from .storage import delete_files, fetch_file, spool_tmp_dir, storage_name, store_file

logger = logging.getLogger(__name__)

PROGRESS_EVERY = 0.5
"""Seconds between progress events (status changes are always sent)."""
STALE_AFTER = timedelta(minutes=2)
"""A running job without a heartbeat for this long belonged to a dead process."""
HEARTBEAT_EVERY = 30.0
"""Seconds between a running job's heartbeats (well within :data:`STALE_AFTER`)."""
JOB_NICE = 10

SubmitJob = Callable[[int], None]
"""Starts the job with this id: this process's :meth:`JobRunner.submit`."""


def job_json(job: RecordingJob) -> dict[str, Any]:
    """The API object for a job (see docs/recordings.md)."""
    return {
        "id": job.pk,
        "kind": job.kind,
        "status": job.status,
        "progress": round(job.progress, 3),
        "model": job.model,
        "atten_lim_db": job.atten_lim_db,
        "error": job.error,
    }


def notify(job: RecordingJob, owner_id: int) -> None:
    event = {"type": "recording_job", "recording_id": job.recording_id, "job": job_json(job)}
    publish([owner_id], event)


def enqueue(
    recording: StreamRecording, kind: str, model: str, atten_lim_db: float, submit: SubmitJob
) -> RecordingJob:
    """Create a queued job; ``submit(job id)`` starts it when the transaction commits.

    Call inside ``transaction.atomic()`` with the recording locked or fresh.
    """
    job = RecordingJob.objects.create(
        recording=recording, kind=kind, model=model, atten_lim_db=atten_lim_db
    )
    transaction.on_commit(lambda: submit(job.pk))
    return job


def _lower_priority() -> None:
    # On Linux a thread has its own nice value: only job threads yield to live streams.
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), JOB_NICE)


POLL_EVERY = 30.0
"""Seconds between scans for queued jobs nobody started (e.g. after a restart)."""


class JobRunner:
    """This process's job threads. ``submit`` is safe from any thread."""

    def __init__(self, workers: int) -> None:
        self._pool = ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="recjob", initializer=_lower_priority
        )
        self._poller: threading.Thread | None = None
        self._inflight: dict[Future[None], int] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def start_polling(self) -> None:
        """Resume left-over jobs now and every ``POLL_EVERY`` s (server processes only)."""
        if self._poller is not None:
            return

        def loop() -> None:
            while not self._stop.wait(1.0 if self._poller is None else POLL_EVERY):
                try:
                    self.resume()
                except Exception:
                    logger.exception("could not scan for queued recording jobs")
                finally:
                    close_old_connections()

        self._poller = threading.Thread(target=loop, name="recjob-poll", daemon=True)
        self._poller.start()

    def submit(self, job_id: int) -> None:
        """Run job ``job_id`` on a job thread, unless it already waits or runs in this one."""
        with self._lock:
            if job_id in self._inflight.values():
                return  # each poll finds it queued again while it waits for a thread
            future = self._pool.submit(run_job, job_id)
            self._inflight[future] = job_id
        future.add_done_callback(self._forget)

    def _forget(self, future: Future[None]) -> None:
        with self._lock:
            self._inflight.pop(future, None)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every submitted job has finished (tests, shutdown); True if idle."""
        with self._lock:
            pending = list(self._inflight)
        return not wait(pending, timeout=timeout).not_done

    def resume(self) -> int:
        """Queue jobs left queued, or running without a heartbeat (their process died)."""
        cutoff = timezone.now() - STALE_AFTER
        RecordingJob.objects.filter(
            status=RecordingJob.Status.RUNNING, updated_at__lt=cutoff
        ).update(status=RecordingJob.Status.QUEUED)
        ids = list(
            RecordingJob.objects.filter(status=RecordingJob.Status.QUEUED).values_list(
                "pk", flat=True
            )
        )
        for job_id in ids:
            self.submit(job_id)
        return len(ids)

    def shutdown(self) -> None:
        self._stop.set()
        self._pool.shutdown(wait=False, cancel_futures=True)


def run_job(job_id: int) -> None:
    """Claim and run one job; every outcome is stored on the row and announced."""
    close_old_connections()
    try:
        # update() leaves auto_now alone: without updated_at, a job that waited in the
        # queue longer than STALE_AFTER would look dead the moment it is claimed.
        claimed = RecordingJob.objects.filter(pk=job_id, status=RecordingJob.Status.QUEUED).update(
            status=RecordingJob.Status.RUNNING, progress=0.0, updated_at=timezone.now()
        )
        if not claimed:
            return  # another thread or process has it, or it was deleted
        job = RecordingJob.objects.select_related("recording").get(pk=job_id)
        owner_id = job.recording.owner_id
        notify(job, owner_id)
        with _heartbeat(job_id):
            _run(job, owner_id)
    except Exception:
        logger.exception("recording job %s crashed", job_id)
        _fail(job_id, "Internal error while processing; please try again.")
    finally:
        close_old_connections()


@contextlib.contextmanager
def _heartbeat(job_id: int) -> Iterator[None]:
    """Keep running job ``job_id``'s ``updated_at`` fresh every :data:`HEARTBEAT_EVERY`
    seconds until the block ends.

    Progress callbacks only come while audio is cleaned: fetching the raw track, loading
    the model or storing the result can each outlast :data:`STALE_AFTER`, and another
    process's :meth:`JobRunner.resume` would then queue the job again and run it twice.
    Only a RUNNING row is touched, so a finished (or re-queued) job is never revived.

    The beating thread is this block's: stopped and joined when it ends.
    """

    def beat() -> None:
        RecordingJob.objects.filter(pk=job_id, status=RecordingJob.Status.RUNNING).update(
            updated_at=timezone.now()
        )

    with refreshed_while(beat, HEARTBEAT_EVERY, f"recjob-beat-{job_id}"):
        yield


def _run(job: RecordingJob, owner_id: int) -> None:
    rec = job.recording
    log_prefix = f"[recording {rec.pk} user={owner_id} job={job.pk}]"
    logger.info("%s %s with %s at %g dB", log_prefix, job.kind, job.model, job.atten_lim_db)
    last = [0.0]

    def progress(done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] < PROGRESS_EVERY:
            return
        last[0] = now
        job.progress = min(done / total, 0.99) if total else 0.0
        # The update is also a heartbeat (updated_at) that resume() looks at.
        RecordingJob.objects.filter(pk=job.pk).update(
            progress=job.progress, updated_at=timezone.now()
        )
        notify(job, owner_id)

    stored = ""
    try:
        with tempfile.TemporaryDirectory(dir=spool_tmp_dir()) as tmp:
            raw = fetch_file(rec.raw_file.name or "", Path(tmp) / "raw.flac")
            out = Path(tmp) / "cleaned.flac"
            denoise_file(raw, out, job.model, job.atten_lim_db, progress)
            stored, size = store_file(out, storage_name(owner_id, uuid.uuid4().hex, "cleaned"))
            raw_size = raw.stat().st_size
    except (DenoiseError, AudioError, ValueError) as exc:
        logger.warning("%s failed: %s", log_prefix, exc)
        _fail(job.pk, f"Could not clean the audio: {exc}")
        return
    except BaseException:
        if stored:
            with transaction.atomic():
                delete_files(stored)
        raise
    with transaction.atomic():
        current = StreamRecording.objects.select_for_update().filter(pk=rec.pk).first()
        if current is None:  # deleted while we worked
            delete_files(stored)
            return
        old = current.file.name
        current.file.name = stored
        current.model, current.atten_lim_db = job.model, job.atten_lim_db
        current.size_bytes = raw_size + size
        current.status, current.error = StreamRecording.Status.READY, ""
        current.save()
        job.status, job.progress, job.error = RecordingJob.Status.DONE, 1.0, ""
        job.save(update_fields=["status", "progress", "error", "updated_at"])
        delete_files(old)
        notify(job, owner_id)
    logger.info("%s done: %s (%d bytes)", log_prefix, stored, size)


def _fail(job_id: int, message: str) -> None:
    recording_id = (
        RecordingJob.objects.filter(pk=job_id).values_list("recording_id", flat=True).first()
    )
    if recording_id is None:
        return  # deleted meanwhile
    with transaction.atomic():
        # The recording's row before its job's, the order a finishing job and a deletion
        # lock them in (the other order can deadlock with a deletion).
        rec = StreamRecording.objects.select_for_update().filter(pk=recording_id).first()
        job = RecordingJob.objects.filter(pk=job_id).first()
        if rec is None or job is None:
            return  # deleted meanwhile
        job.status, job.error = RecordingJob.Status.FAILED, message[:500]
        job.save(update_fields=["status", "error", "updated_at"])
        if not rec.file:  # an import (or its re-clean) that never produced a cleaned version
            rec.status, rec.error = StreamRecording.Status.FAILED, message[:500]
            rec.save(update_fields=["status", "error"])
        notify(job, rec.owner_id)
