"""Saving a finished live session's spool files as its recording: at most one recording per
session, however often the save runs.

A save can run twice for one session: a process killed after the recording's row
committed but before its spool files went is saved again when it restarts (its live row
is still there), and a spool that could not be removed is found again by every recovery
pass (:mod:`.recovery`). Each later save finds the session's recording and removes the
spool; two saves that race are settled by the database (one recording per session id).

A save that fails (storage or the database down) keeps the spool files, and the session's
details beside them (:class:`LiveDetails`): the live row that held its model, attenuation
and start is gone by the time the recovery saves it, and its gaps and noise-removed
figures were only ever in the ending process's memory. While a stream runs, its process
keeps the same details there every few seconds (:func:`keep_live_figures`), so a process
killed mid-stream loses at most those last seconds of the figures.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from django.db import IntegrityError, transaction
from django.utils import timezone

from users.models import User

from .audio import AudioError, duration_of, encode_flac
from .models import StreamRecording
from .storage import SpoolPaths, discard_files, spool_paths, spool_tmp_dir, storage_name, store_file

logger = logging.getLogger(__name__)


def do_save_live_recording(
    user: User, session_id: uuid.UUID, details: LiveDetails
) -> StreamRecording | None:
    """Store a finished live session's spool files as FLAC and create the recording with
    ``details`` (its start, model, attenuation; ``gap_seconds``: audio the live process
    could not write in time, silence in the files, which players say; ``db_removed``: dB
    of noise removed per second, drawn under the waveform).

    Returns the recording; the session's recording saved before, if there is one (its
    spool files are removed, nothing is stored again); None (and the spool files are
    removed) when nothing was recorded. A spool file that cannot be removed after the save
    is logged and left for the next recovery pass. On a storage or database error
    nothing stays stored, the spool files are kept with ``details`` beside them for
    :func:`~recordings.recovery.recover_spool` and the error propagates.
    """
    paths = spool_paths(user.pk, session_id)
    saved = saved_recording(session_id)
    if saved is not None:
        remove_spool(paths, session_id, user.username)
        return saved
    try:
        duration = duration_of(paths.cleaned) if paths.cleaned.exists() else 0.0
    except AudioError:
        logger.warning("[stream %s user=%s] unreadable recording", session_id, user.username)
        duration = 0.0
    if duration <= 0:
        remove_spool(paths, session_id, user.username)
        return None
    stored: list[str] = []
    try:
        with tempfile.TemporaryDirectory(dir=spool_tmp_dir()) as tmp:
            size = 0
            for version, local in (("cleaned", paths.cleaned), ("raw", paths.raw)):
                if not local.exists():
                    continue
                flac = Path(tmp) / f"{version}.flac"
                try:
                    encode_flac(local, flac)
                except AudioError:
                    if version == "cleaned":
                        raise
                    logger.warning(
                        "[stream %s user=%s] raw track unreadable; not kept",
                        session_id,
                        user.username,
                    )
                    continue
                name, nbytes = store_file(flac, storage_name(user.pk, str(session_id), version))
                stored.append(name)
                size += nbytes
        with transaction.atomic():
            rec = StreamRecording.objects.create(
                owner=user,
                title=f"Live {timezone.localtime(details.started_at):%Y-%m-%d %H:%M}",
                file=stored[0],
                raw_file=stored[1] if len(stored) > 1 else "",
                duration=round(duration, 3),
                session_id=session_id,
                source=StreamRecording.Source.LIVE,
                model=details.model,
                atten_lim_db=details.atten_lim_db,
                size_bytes=size,
                gap_seconds=round(details.gap_seconds, 3),
                db_removed=list(details.db_removed),
            )
    except IntegrityError:
        # Another process saved this session meanwhile: its recording is the one.
        discard_files(*stored)
        saved = saved_recording(session_id)
        if saved is None:
            raise
        rec = saved
    except BaseException:
        discard_files(*stored)  # no row names them: they go now, not at a commit
        keep_details(paths, details, session_id, user.username)
        raise
    remove_spool(paths, session_id, user.username)
    return rec


@dataclass(frozen=True)
class LiveDetails:
    """What a live session's recording is saved with, besides its audio."""

    started_at: datetime
    model: str
    atten_lim_db: float
    gap_seconds: float = 0.0
    db_removed: list[float] = field(default_factory=list)


def keep_details(
    paths: SpoolPaths,
    details: LiveDetails,
    session_id: uuid.UUID,
    username: str,
    *,
    log_failure: bool = True,
) -> bool:
    """Write ``details`` beside a session's spool files (a live stream's so far, or one
    whose save failed), for :func:`kept_details`; whether they were written. Never
    raises: a disk that cannot take them loses the details (logged unless not
    ``log_failure``), not the audio."""
    record = {  # not dataclasses.asdict: it deep-copies the per-second list, every keeping
        "started_at": details.started_at.isoformat(),
        "model": details.model,
        "atten_lim_db": details.atten_lim_db,
        "gap_seconds": details.gap_seconds,
        "db_removed": details.db_removed,
    }
    partial = paths.details_part
    try:
        paths.details.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(json.dumps(record))
        os.replace(partial, paths.details)  # whole or not at all: a kill mid-write
    except Exception as exc:  # the caller is re-raising the save's own error: keep that one
        if log_failure:
            logger.warning(
                "[stream %s user=%s] recording details not kept beside its spool: %s",
                session_id,
                username,
                exc,
            )
        return False
    return True


def keep_live_figures(
    paths: SpoolPaths,
    session_id: uuid.UUID,
    username: str,
    started_at: datetime,
    model: str,
    gap_seconds: float,
    db_removed: list[float],
    atten_lim_db: float,
) -> bool:
    """(Worker thread, while the stream runs.) Keep a live recording's details so far
    beside its spool, for the save after a crash (:func:`kept_details`); whether they were
    written. Never raises, logs nothing: the caller says once that the disk refuses."""
    details = LiveDetails(started_at, model, atten_lim_db, gap_seconds, db_removed)
    return keep_details(paths, details, session_id, username, log_failure=False)


def kept_details(paths: SpoolPaths) -> LiveDetails | None:
    """The details :func:`keep_details` wrote for these spool files; None if there are
    none, or they cannot be read (logged)."""
    try:
        record = json.loads(paths.details.read_text())
        return LiveDetails(
            started_at=datetime.fromisoformat(record["started_at"]),
            model=str(record["model"]),
            atten_lim_db=float(record["atten_lim_db"]),
            gap_seconds=float(record["gap_seconds"]),
            db_removed=[float(db) for db in record["db_removed"]],
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        logger.warning("recording details %s unreadable, not used: %s", paths.details, exc)
        return None


def saved_recording(session_id: uuid.UUID) -> StreamRecording | None:
    """The recording already saved from live session ``session_id``, if any."""
    return StreamRecording.objects.filter(session_id=session_id).first()


def remove_spool(paths: SpoolPaths, session_id: uuid.UUID, username: str) -> bool:
    """Remove a session's spool files; True if they went. A failure (a read-only or failing
    disk) is logged and the files stay for the next recovery pass, which finds the
    recording saved and removes them then."""
    try:
        paths.remove()
        return True
    except OSError as exc:
        logger.warning(
            "[stream %s user=%s] spool files not removed (%s); the next recovery pass removes them",
            session_id,
            username,
            exc,
        )
        return False
