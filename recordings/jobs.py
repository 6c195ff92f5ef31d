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

A job stops between two blocks of audio, leaving no output behind, when its runner
shuts down (its row goes back to ``queued``, and the next server start runs it again
at once) or when its row is gone (its recording was deleted): see :class:`JobStopped`.
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.db import DatabaseError, close_old_connections, transaction
from django.utils import timezone

from denoise.base import DenoiseError
from denoise.filedenoise import denoise_file
from fc25_denoise.api import ApiError
from fc25_denoise.threads import refreshed_while
from users.events import publish

from .audio import AudioError
from .models import RecordingJob, StreamRecording
from .quota import check_new_version, lock_owner
from .storage import (
    delete_files,
    discard_files,
    fetch_file,
    spool_tmp_dir,
    storage_name,
    store_file,
)

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
RAW_MISSING = "The recording's audio file is missing."
"""A job's error when its raw file is not in storage (retrying cannot help)."""


class JobStopped(Exception):
    """Raised between two blocks of audio to stop a running job; never leaves
    :func:`run_job`, which leaves no output behind."""


class ServerStopping(JobStopped):
    """The job's runner is shutting down: the row goes back to ``queued``."""


class JobGone(JobStopped):
    """The job's row is gone (its recording was deleted) or no longer running: there
    is nobody to store a result for, and nothing to write on the row."""


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


def run_job(job_id: int, stop: threading.Event | None = None) -> bool:
    """Claim and run one job; every outcome is stored on the row and announced. Returns
    whether this call claimed it (False: not queued any more, or the runner stopping).

    ``stop`` (its runner's; None: never stopped) stops the job between two blocks of
    audio and queues it again; a job whose row disappears while it runs stops the same
    way, leaving the row alone. Neither leaves output behind. Never raises (a crash
    fails the job).
    """
    stop = stop or threading.Event()
    if stop.is_set():
        return False  # the runner is stopping: the row stays queued for the next start
    close_old_connections()
    log_prefix = f"[job {job_id}]"  # until its row is read
    try:
        # update() leaves auto_now alone: without updated_at, a job that waited in the
        # queue longer than STALE_AFTER would look dead the moment it is claimed.
        claimed = RecordingJob.objects.filter(pk=job_id, status=RecordingJob.Status.QUEUED).update(
            status=RecordingJob.Status.RUNNING, progress=0.0, updated_at=timezone.now()
        )
        if not claimed:
            return False  # another thread or process has it, or it was deleted
        job = RecordingJob.objects.select_related("recording__owner").get(pk=job_id)
        log_prefix = _log_prefix(job)
        notify(job, job.recording.owner_id)
        with _heartbeat(job_id):
            _run(job, stop, log_prefix)
    except ServerStopping:
        logger.info("%s stopped by the server's shutdown; queued again", log_prefix)
        requeue(job_id)
    except JobGone:
        logger.info("%s stopped: its row is gone or no longer running", log_prefix)
    except Exception:
        logger.exception("%s crashed", log_prefix)
        _fail(job_id, "Internal error while processing; please try again.")
    finally:
        close_old_connections()
    return True


def _log_prefix(job: RecordingJob) -> str:
    """``[recording <id> user=<name> job=<id>]``, which prefixes a job's log lines.

    ``job`` should be read with ``select_related("recording__owner")``: otherwise the
    owner's name costs a query.
    """
    rec = job.recording
    return f"[recording {rec.pk} user={rec.owner.username} job={job.pk}]"


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


def _run(job: RecordingJob, stop: threading.Event, log_prefix: str) -> None:
    """Clean ``job``'s raw track and switch the recording to the result.

    Raises:
        ServerStopping: ``stop`` was set (checked after the fetch and at each block).
        JobGone: the row was deleted, or is no longer running, at a progress update.
        Any other error of storage or the database (:func:`run_job` fails the job).
    Engine and audio errors, and a missing raw file, fail the job here.
    """
    rec = job.recording
    owner_id = rec.owner_id
    logger.info("%s %s with %s at %g dB", log_prefix, job.kind, job.model, job.atten_lim_db)
    last = [0.0]

    def progress(done: int, total: int) -> None:
        # Raising here stops the engine between two blocks; it deletes its partial
        # output (and the temporary folder goes with the block below).
        if stop.is_set():
            raise ServerStopping
        now = time.monotonic()
        if now - last[0] < PROGRESS_EVERY:
            return
        last[0] = now
        job.progress = min(done / total, 0.99) if total else 0.0
        # The update is also a heartbeat (updated_at) that resume() looks at, and tells
        # whether the work is still wanted: deleting the recording deletes this row, so
        # no row means nobody to store a result for (no query of its own for that).
        alive = RecordingJob.objects.filter(pk=job.pk, status=RecordingJob.Status.RUNNING)
        if not alive.update(progress=job.progress, updated_at=timezone.now()):
            raise JobGone
        notify(job, owner_id)

    stored = ""
    try:
        with tempfile.TemporaryDirectory(dir=spool_tmp_dir()) as tmp:
            raw_name = rec.raw_file.name or ""
            try:
                if not raw_name:
                    raise FileNotFoundError("the recording names no raw file")
                raw = fetch_file(raw_name, Path(tmp) / "raw.flac")
            except FileNotFoundError as exc:
                # Deleted from storage behind the app's back: no retry can succeed, so
                # say what is wrong rather than "internal error, try again".
                logger.warning("%s raw file %r is missing: %s", log_prefix, raw_name, exc)
                _fail(job.pk, RAW_MISSING)
                return
            if stop.is_set():  # the fetch can be long; skip loading the model
                raise ServerStopping
            out = Path(tmp) / "cleaned.flac"
            denoise_file(raw, out, job.model, job.atten_lim_db, progress)
            stored, size = store_file(out, storage_name(owner_id, uuid.uuid4().hex, "cleaned"))
            raw_size = raw.stat().st_size
    except (DenoiseError, AudioError, ValueError) as exc:
        logger.warning("%s failed: %s", log_prefix, exc)
        _fail(job.pk, f"Could not clean the audio: {exc}")
        return
    except BaseException:
        discard_files(stored)  # no row names it
        raise
    try:
        with transaction.atomic():
            lock_owner(owner_id)  # the quota's lock, before the recording's
            current = StreamRecording.objects.select_for_update().filter(pk=rec.pk).first()
            if current is None:  # deleted while we worked
                delete_files(stored)
                return
            try:
                check_new_version(current, raw_size + size)
            except ApiError as exc:
                delete_files(stored)
                refused = _refuse(job, current, f"The new version does not fit. {exc.message}")
            else:
                refused = False
                _switch(job, current, stored, raw_size + size, log_prefix)
    except BaseException:
        discard_files(stored)  # rolled back: no row names it
        raise
    if refused:
        logger.info("%s result dropped: %d bytes do not fit in the quota", log_prefix, size)
        notify(job, owner_id)


def _refuse(job: RecordingJob, current: StreamRecording, message: str) -> bool:
    """Fail ``job`` if it is still RUNNING (one queued again by a poll meanwhile runs
    elsewhere and is left alone), see :func:`_mark_failed`. True if it was failed."""
    if not _mark_failed(job, current, message, running_only=True):
        return False
    job.status, job.error = RecordingJob.Status.FAILED, message[:500]
    return True


def _mark_failed(
    job: RecordingJob | int, rec: StreamRecording, message: str, *, running_only: bool
) -> bool:
    """Fail the job (with ``running_only``, only if it is still RUNNING), and ``rec`` with
    it if it never had a cleaned version (an import, or its re-clean); inside the
    caller's transaction holding ``rec``'s row lock. True if the job row was failed."""
    message = message[:500]
    rows = RecordingJob.objects.filter(pk=job if isinstance(job, int) else job.pk)
    if running_only:
        rows = rows.filter(status=RecordingJob.Status.RUNNING)
    if not rows.update(status=RecordingJob.Status.FAILED, error=message, updated_at=timezone.now()):
        return False
    if not rec.file:
        rec.status, rec.error = StreamRecording.Status.FAILED, message
        rec.save(update_fields=["status", "error"])
    return True


def _switch(
    job: RecordingJob, current: StreamRecording, stored: str, size: int, log_prefix: str
) -> None:
    """Make ``stored`` (``size`` bytes with the raw version) ``current``'s cleaned version
    and finish ``job``, inside the caller's transaction holding ``current``'s row lock.

    Only a job still RUNNING finishes: one whose row an administrator deleted (or a poll
    queued again) neither switches the recording nor leaves its output behind.
    """
    finished = RecordingJob.objects.filter(pk=job.pk, status=RecordingJob.Status.RUNNING)
    if not finished.update(
        status=RecordingJob.Status.DONE, progress=1.0, error="", updated_at=timezone.now()
    ):
        delete_files(stored)
        logger.info("%s result dropped: the job was cancelled meanwhile", log_prefix)
        return
    job.status, job.progress, job.error = RecordingJob.Status.DONE, 1.0, ""
    old = current.file.name
    current.file.name = stored
    current.model, current.atten_lim_db = job.model, job.atten_lim_db
    current.size_bytes = size
    current.status, current.error = StreamRecording.Status.READY, ""
    current.save()
    delete_files(old)
    notify(job, current.owner_id)
    logger.info("%s done: %s (%d bytes with the raw version)", log_prefix, stored, size)


def requeue(job_id: int, *, stale_before: datetime | None = None) -> bool:
    """Put running job ``job_id`` back to queued, from scratch, and announce it; True if
    it was.

    Only a RUNNING row changes (with ``stale_before``: only one whose heartbeat is older,
    so a job that beat again since it was found dead keeps running): one deleted or
    already finished meanwhile stays so. Never raises: if the database refuses, the row
    stays RUNNING, and once its heartbeat is :data:`STALE_AFTER` old any process's poll
    queues it again.
    """
    try:
        # updated_at is set by hand: update() leaves auto_now alone.
        running = RecordingJob.objects.filter(pk=job_id, status=RecordingJob.Status.RUNNING)
        if stale_before is not None:
            running = running.filter(updated_at__lt=stale_before)
        if not running.update(
            status=RecordingJob.Status.QUEUED, progress=0.0, updated_at=timezone.now()
        ):
            return False
        job = RecordingJob.objects.select_related("recording").filter(pk=job_id).first()
        if job is not None:
            notify(job, job.recording.owner_id)
        return True
    except DatabaseError:
        logger.exception("[job %s] could not be queued again", job_id)
        return False


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
        if rec is None or not _mark_failed(job_id, rec, message, running_only=False):
            return  # deleted meanwhile
        job = RecordingJob.objects.get(pk=job_id)
        notify(job, rec.owner_id)
