"""Business rules of the recordings library: who sees what, quota, save, rename, delete.

Readers are the owner and the owner's friends; outsiders get 404 (the
recording's existence is not revealed), friends get 403 for owner-only
actions. Stored bytes of both versions count against the owner's quota
(:mod:`.quota`).
"""

from __future__ import annotations

import logging
import tempfile
import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import F, OuterRef, Prefetch, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from fc25_denoise.api import ApiError, BadRequest, Conflict, Forbidden, NotFound, TooMany
from users.models import User
from users.services import friend_ids, session_is_valid

from .audio import AudioError, AudioWriteError, OverLimit, OverSize, encode_flac
from .jobs import SubmitJob, enqueue, job_json
from .livesave import LiveDetails as LiveDetails  # re-exported
from .livesave import do_save_live_recording as do_save_live_recording  # re-exported
from .livesave import keep_live_figures as keep_live_figures  # re-exported
from .livesave import kept_details as kept_details  # re-exported
from .models import RecordingJob, StreamRecording
from .quota import check_quota, lock_owner, quota_full
from .quota import quota_usage as quota_usage  # re-exported: streams.host asks here
from .quota import storage_used as storage_used  # re-exported: the list view asks here
from .storage import discard_files, spool_tmp_dir, storage_name, store_file
from .titles import TITLE_MAX as TITLE_MAX  # re-exported: the views ask here
from .titles import check_title, default_title

logger = logging.getLogger(__name__)

STORE_FAILED = "The server could not store that file now; try again later."
"""An import's answer (507) when its converted file cannot be written (a full disk)."""


JOB_ORDER = ("-created_at", "-id")
"""Newest first; ``id`` breaks ties between jobs created in the same instant."""

NEWEST_JOB_ATTR = "newest_jobs"
"""Where :func:`visible_recordings` puts a recording's newest job: a list of at most one,
empty when it never had a job or is not the viewer's own."""


def _newest_own_job(user: User) -> Prefetch[Any]:
    """Prefetch into :data:`NEWEST_JOB_ATTR` only the newest job of each of ``user``'s own
    recordings.

    Job rows are kept forever (one per import and re-clean). Each of the user's recordings
    names its newest job through a ``LIMIT 1`` subquery that the
    ``job_newest_per_recording`` index answers with one seek, so neither the rows loaded
    nor the rows the database reads grow with the history (a window over all of a
    recording's jobs still read and sorted every one). Skipping friends' recordings (whose
    jobs are never shown, see :func:`recording_json`) means one user's history cannot slow
    their friends' lists at all.
    """
    newest_of = (
        RecordingJob.objects.filter(recording_id=OuterRef("pk")).order_by(*JOB_ORDER).values("pk")
    )
    newest_ids = StreamRecording.objects.filter(owner_id=user.pk).values(
        newest=Subquery(newest_of[:1])
    )
    return Prefetch(
        "jobs", queryset=RecordingJob.objects.filter(pk__in=newest_ids), to_attr=NEWEST_JOB_ATTR
    )


RAW_SHARED_ATTR = "raw_shared"
"""Where :func:`visible_recordings` puts whether the owner shares raw audio (their
``share_raw``, the broadcast setting that lets friends hear a live stream unprocessed)."""


def visible_recordings(user: User) -> QuerySet[StreamRecording]:
    """Recordings ``user`` may list: all of their own, their friends' ready ones.

    Newest first (the model's ordering) and unsliced: the list route takes it a page at a
    time (:mod:`.listing`). Each carries :data:`NEWEST_JOB_ATTR`, read by :func:`latest_job`,
    and :data:`RAW_SHARED_ATTR`, read by :func:`raw_readable`. The owner's setting is read
    through the user's reverse relation by name, so this app needs no import of the one
    that owns it (``streams`` uses this app, never the reverse).
    """
    shared = Coalesce(F("owner__broadcast_settings__share_raw"), Value(False))
    return (
        StreamRecording.objects.filter(
            Q(owner=user) | Q(owner_id__in=friend_ids(user), status=StreamRecording.Status.READY)
        )
        .select_related("owner")
        .annotate(**{RAW_SHARED_ATTR: shared})
        .prefetch_related(_newest_own_job(user))
    )


def raw_readable(rec: StreamRecording, viewer_id: int) -> bool:
    """Whether ``viewer_id`` may hear ``rec``'s raw (unprocessed) version: its owner, or a
    friend while the owner shares raw audio, as for a live stream. The owner's choice now,
    not when it was recorded: turning sharing off hides the raw versions already made.
    ``rec`` must come from :func:`visible_recordings`."""
    return rec.owner_id == viewer_id or bool(getattr(rec, RAW_SHARED_ATTR, False))


def check_raw_readable(rec: StreamRecording, viewer_id: int) -> None:
    """Raises Forbidden unless :func:`raw_readable`."""
    if not raw_readable(rec, viewer_id):
        raise Forbidden(f"{rec.owner.username} does not share unprocessed audio.")


def check_readable(user: User, recording_id: int) -> StreamRecording:
    """The recording if ``user`` may read it.

    Raises:
        NotFound: unknown, or neither the owner's nor a friend's.
    """
    rec = visible_recordings(user).filter(pk=recording_id).first()
    if rec is None:
        raise NotFound("No such recording.")
    return rec


def may_still_read(
    user: User, session_key: str | None, recording_id: int, raw: bool = False
) -> bool:
    """Whether an open download of ``recording_id`` may go on: ``session_key`` still logs
    ``user`` in and the recording is still theirs or a friend's (asked while it streams);
    for its ``raw`` version, also still :func:`raw_readable` (sharing turned off ends it).

    The key, not the login: a new password set from the same browser renews its key and
    cuts the download (resumable with a ``Range``), since a copy of the old cookie, taken
    by someone else, would otherwise keep its download going past the change.
    """
    if not session_is_valid(session_key, user.pk):
        return False
    readable = visible_recordings(user).filter(pk=recording_id)
    if raw:
        readable = readable.filter(Q(owner=user) | Q(**{RAW_SHARED_ATTR: True}))
    return readable.exists()


def check_owned(user: User, recording_id: int) -> StreamRecording:
    """The recording if ``user`` owns it.

    Raises:
        NotFound: not readable by ``user``. Forbidden: a friend's recording.
    """
    rec = check_readable(user, recording_id)
    if rec.owner_id != user.pk:
        raise Forbidden(f"Only {rec.owner.username} can change this recording.")
    return rec


def latest_job(rec: StreamRecording) -> RecordingJob | None:
    """``rec``'s newest job, or None if it never had one.

    Read from the prefetch of :func:`visible_recordings` (no query), which holds jobs of
    the viewer's own recordings only: None for a friend's. A recording loaded some other
    way costs one query.
    """
    prefetched: list[RecordingJob] | None = getattr(rec, NEWEST_JOB_ATTR, None)
    if prefetched is not None:
        return prefetched[0] if prefetched else None
    return rec.jobs.order_by(*JOB_ORDER).first()


def recording_json(rec: StreamRecording, viewer_id: int) -> dict[str, Any]:
    """The API object for ``rec`` (see docs/recordings.md)."""
    base = f"/api/recordings/{rec.pk}"
    job = latest_job(rec)
    return {
        "id": rec.pk,
        "owner": rec.owner.username,
        "title": rec.title,
        "duration": rec.duration,
        "created_at": rec.created_at.isoformat(),
        "audio_url": f"{base}/audio/",
        "raw_audio_url": (
            f"{base}/audio/?version=raw" if rec.raw_file and raw_readable(rec, viewer_id) else None
        ),
        "peaks_url": f"{base}/peaks/",
        "status": rec.status,
        "error": rec.error,
        "source": rec.source,
        "model": rec.model,
        "atten_lim_db": rec.atten_lim_db,
        "size_bytes": rec.size_bytes,
        "gap_seconds": rec.gap_seconds,
        "db_removed": rec.db_removed,
        "is_owner": rec.owner_id == viewer_id,
        "job": job_json(job) if job is not None and rec.owner_id == viewer_id else None,
    }


def do_rename(rec: StreamRecording, title: str) -> StreamRecording:
    """Rename ``rec`` (checked by :func:`check_title`); returns it with the new title.

    One ``UPDATE`` of the title alone: a job finishing meanwhile (which saves the row it
    locked and read afresh) keeps it, and a row deleted since the caller loaded it is a
    404, not the ``DatabaseError`` (500) that ``save(update_fields=...)`` raises then.

    Raises:
        BadRequest: see :func:`check_title`. NotFound: deleted meanwhile.
    """
    title = check_title(title)
    if not StreamRecording.objects.filter(pk=rec.pk).update(title=title):
        raise NotFound("No such recording.")
    rec.title = title
    logger.info("[recording %s user=%s] renamed", rec.pk, rec.owner.username)
    return rec


def do_delete(rec: StreamRecording) -> None:
    """Delete the row and, once that commits, the stored files it names then.

    ``rec`` may be stale (a job can switch it to a new cleaned file after the caller
    loaded it), so the row is locked and read again; the files go with the fresh row
    (:mod:`.signals`). Deleting a row already deleted does nothing.
    """
    with transaction.atomic():
        lock_owner(rec.owner_id)  # the lock order of a finishing job (.signals)
        current = StreamRecording.objects.select_for_update().filter(pk=rec.pk).first()
        if current is None:
            return
        owner = rec.owner.username  # for the log: loaded with the row by check_owned
        current.delete()
    logger.info("[recording %s user=%s] deleted", rec.pk, owner)


CANCELLED = "Processing was cancelled by an administrator; re-clean it to try again."


def do_delete_jobs(job_ids: list[int]) -> int:
    """Delete these job rows (the admin's delete), leaving their recordings consistent;
    returns how many rows went.

    A running job stops at its next block of audio, or drops its result at the end
    (:func:`.jobs.run_job`). A recording whose open job goes while it waits for its first
    cleaned version (an import) is FAILED with :data:`CANCELLED` instead of PROCESSING for
    good: a PROCESSING recording reserves a second copy of its size in the quota, is
    hidden from friends, and its audio answers 409 "still being cleaned" forever. Its
    owner may re-clean it.
    """
    open_statuses = (RecordingJob.Status.QUEUED, RecordingJob.Status.RUNNING)
    with transaction.atomic():
        chosen = RecordingJob.objects.filter(pk__in=job_ids)
        affected = set(chosen.filter(status__in=open_statuses).values_list("recording", flat=True))
        # Recordings before jobs: the lock order of a finishing job and of a deletion.
        locked = StreamRecording.objects.select_for_update().filter(pk__in=affected)
        list(locked.values_list("pk", flat=True))
        deleted, _ = chosen.delete()
        stranded = StreamRecording.objects.filter(
            pk__in=affected, status=StreamRecording.Status.PROCESSING, file=""
        )
        failed = stranded.update(status=StreamRecording.Status.FAILED, error=CANCELLED)
    logger.info("%d recording jobs deleted (%d recordings left without a version)", deleted, failed)
    return deleted


def check_no_open_job(rec: StreamRecording) -> None:
    """Raises Conflict if a job for ``rec`` is queued or running."""
    open_statuses = (RecordingJob.Status.QUEUED, RecordingJob.Status.RUNNING)
    if rec.jobs.filter(status__in=open_statuses).exists():
        raise Conflict("This recording is already being processed; wait for it to finish.")


def check_open_jobs(user_id: int) -> None:
    """Raises TooMany if ``user_id`` already has ``MAX_OPEN_JOBS`` imports or re-cleans
    queued or running (call under the owner's row lock to count concurrent requests)."""
    limit = settings.MAX_OPEN_JOBS
    open_statuses = (RecordingJob.Status.QUEUED, RecordingJob.Status.RUNNING)
    count = RecordingJob.objects.filter(
        recording__owner_id=user_id, status__in=open_statuses
    ).count()
    if count >= limit:
        raise TooMany(
            f"You have {count} recordings being processed (at most {limit} at once); "
            "wait for one to finish."
        )


def do_request_reclean(
    user: User, recording_id: int, model: str, atten_lim_db: float, submit: SubmitJob
) -> RecordingJob:
    """Queue a re-clean of an owned recording's raw track; ``submit`` starts the job.

    A recording without a cleaned version (an import whose cleaning failed) gains one:
    it must fit in the quota, and it is PROCESSING until its job ends, so that
    :func:`~.quota.storage_used` reserves the coming version as it does for an import (the job
    sets it ready, or failed again).

    Raises:
        NotFound, Forbidden: see :func:`check_owned`. Conflict: no raw track,
        or a job is already open. ApiError 409: the owner is over quota. TooMany:
        ``MAX_OPEN_JOBS`` already open.
    """
    try:
        with transaction.atomic():
            lock_owner(user.pk)
            rec = check_owned(user, recording_id)
            # Lock the recording too: a deletion (which locks it first, recordings.signals)
            # either committed before this (no row: 404) or waits until the job row exists
            # and takes it along; the job row never meets a missing recording at commit.
            if not StreamRecording.objects.select_for_update().filter(pk=rec.pk).exists():
                raise NotFound("No such recording.")
            if not rec.raw_file:
                raise Conflict(
                    "This recording has no raw track to re-clean (raw recording was off)."
                )
            check_no_open_job(rec)
            check_open_jobs(user.pk)
            if rec.file:
                # The new version replaces one of about its size.
                check_quota(user.pk, 0, status=409)
            else:
                # Its size counts the raw version only; the cleaned one is about as large.
                check_quota(user.pk, rec.size_bytes, status=409)
                processing = StreamRecording.Status.PROCESSING
                if not StreamRecording.objects.filter(pk=rec.pk).update(
                    status=processing, error=""
                ):
                    raise NotFound("No such recording.")  # deleted since check_owned read it
            return enqueue(rec, RecordingJob.Kind.RECLEAN, model, atten_lim_db, submit)
    except IntegrityError:  # a concurrent request queued one first
        raise Conflict(
            "This recording is already being processed; wait for it to finish."
        ) from None


def _import_room(user_id: int) -> int | None:
    """The most bytes an import's raw version may take: half the room left in the quota
    (its cleaned version will be about as large); None without a quota."""
    quota, used = quota_usage(user_id)
    return None if not quota else max(0, (quota - used) // 2)


def do_import(
    user: User,
    upload: UploadedFile,
    title: str,
    model: str,
    atten_lim_db: float,
    submit: SubmitJob,
) -> StreamRecording:
    """Validate and store an uploaded audio file as a recording's raw version, queue its cleaning.

    ``submit`` starts the cleaning job once it is committed.

    The whole file is decoded here, so a corrupt file fails the request and
    leaves nothing behind.

    Raises:
        ApiError 413: larger than ``UPLOAD_MAX_BYTES``, longer than ``IMPORT_MAX_SECONDS``,
            more channels than ``IMPORT_MAX_CHANNELS``, a sample rate over
            ``IMPORT_MAX_RATE``, or over the quota.
        ApiError 507: the converted file could not be written here (a full disk).
        TooMany: ``MAX_OPEN_JOBS`` imports and re-cleans already open.
        BadRequest: not audio, corrupt, empty; a ``title`` :func:`check_title` refuses
            (an empty one means :func:`default_title`).
    """
    title = check_title(title) if title.strip() else default_title(upload.name or "")
    limit = settings.UPLOAD_MAX_BYTES
    if upload.size is not None and upload.size > limit:
        raise ApiError(413, f"The file is larger than the {limit // (1024 * 1024)} MB limit.")
    check_open_jobs(user.pk)  # before decoding; again under the lock below
    with tempfile.TemporaryDirectory(dir=spool_tmp_dir()) as tmp:
        raw = Path(tmp) / "raw.flac"
        path = getattr(upload, "temporary_file_path", None)
        source: Any = path() if path else upload.file
        try:
            rate, _, frames = encode_flac(
                source,
                raw,
                max_channels=settings.IMPORT_MAX_CHANNELS,
                max_seconds=settings.IMPORT_MAX_SECONDS,
                max_rate=settings.IMPORT_MAX_RATE,
                max_bytes=_import_room(user.pk),
            )
        except OverSize:
            quota, used = quota_usage(user.pk)
            raise quota_full(used, quota) from None
        except OverLimit as exc:
            raise ApiError(413, f"That file is too large to import: {exc}.") from None
        except AudioError as exc:
            raise BadRequest(
                f"That is not a usable audio file (WAV, FLAC, OGG or MP3): {exc}.",
                {"file": [str(exc)]},
            ) from None
        except AudioWriteError as exc:
            # The server's fault, not the file's: say so, and keep the detail in the log.
            logger.error("[import user=%s] could not be written: %s", user.username, exc)
            raise ApiError(507, STORE_FAILED) from None
        raw_size = raw.stat().st_size
        check_quota(user.pk, 2 * raw_size)  # the cleaned version is about as large
        name, _ = store_file(raw, storage_name(user.pk, uuid.uuid4().hex, "raw"))
    try:
        with transaction.atomic():
            # Again, under the owner's row lock: imports stored meanwhile count (the check
            # above only spares storing a file that cannot fit).
            lock_owner(user.pk)
            check_open_jobs(user.pk)
            check_quota(user.pk, 2 * raw_size)
            rec = StreamRecording.objects.create(
                owner=user,
                title=title,
                raw_file=name,
                duration=round(frames / rate, 3),
                source=StreamRecording.Source.IMPORT,
                status=StreamRecording.Status.PROCESSING,
                model=model,
                atten_lim_db=atten_lim_db,
                size_bytes=raw_size,
            )
            enqueue(rec, RecordingJob.Kind.IMPORT, model, atten_lim_db, submit)
    except BaseException:
        discard_files(name)  # no row names it
        raise
    logger.info("[recording %s user=%s] imported (%.1f s)", rec.pk, user.username, rec.duration)
    return rec
