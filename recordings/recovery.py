"""Recordings left on the spool: saved once no live stream writes them any more.

A process killed mid-stream leaves its spool WAVs valid up to the last header
sync (:mod:`streams.webrtc.spool`); a storage outage at the end of a stream
leaves them too. :func:`recover_spool` saves them as recordings, whichever
process of the machine finds them first.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from users.models import User

from .audio import AudioError, duration_of
from .livesave import do_save_live_recording, remove_spool, saved_recording
from .storage import spool_paths, sweep_scratch

logger = logging.getLogger(__name__)


def recover_spool(active_sessions: Callable[[], set[uuid.UUID]], idle_s: float = 0.0) -> int:
    """Save spool files left by a crash (or a storage outage) as recordings.

    ``active_sessions`` is asked *after* the folder is listed: a stream's live row
    exists before its spool file, so a file listed here whose session is not
    active then is an orphan. Files written to within ``idle_s`` seconds are
    skipped too (a live spool is written every 100 ms). Each file is claimed with
    an exclusive lock, so processes sharing the folder never save one twice.
    Returns the number of recordings saved.
    """
    sweep_scratch()  # the temporary files a killed import or job left behind
    root = Path(settings.SPOOL_DIR)
    _remove_saved_raw_leftovers(root, idle_s)
    found = sorted(root.glob("*/*.cleaned.wav"))
    if not found:
        return 0
    active = active_sessions()
    saved = 0
    for cleaned in found:
        try:
            user_id = int(cleaned.parent.name)
            session_id = uuid.UUID(cleaned.name.split(".")[0])
        except ValueError:
            continue
        if session_id in active:
            continue
        try:
            with _claimed(cleaned, idle_s) as last_write:
                if last_write is not None and _recover_one(user_id, session_id, last_write):
                    saved += 1
        except FileNotFoundError:
            continue  # gone meanwhile: another process saved it
        except OSError as exc:  # unreadable (permissions, a failing disk): said once
            if cleaned not in _REPORTED:
                _REPORTED.add(cleaned)
                logger.error(
                    "[stream %s user=%s] spooled recording %s cannot be recovered: %s",
                    session_id,
                    user_id,
                    cleaned,
                    exc,
                )
    return saved


_REPORTED: set[Path] = set()
"""Spool files this process could not open, already logged (a pass runs every few
heartbeats)."""


def _remove_saved_raw_leftovers(root: Path, idle_s: float) -> None:
    """Remove raw spool files left alone, their session's recording saved: a process
    killed between the removal of a saved session's two spool files leaves the raw one,
    which nothing else would ever remove (recovery starts from the cleaned files)."""
    for raw in root.glob("*/*.raw.wav"):
        cleaned = raw.with_name(raw.name.replace(".raw.wav", ".cleaned.wav"))
        try:
            session_id = uuid.UUID(raw.name.split(".")[0])
            if cleaned.exists() or time.time() - raw.stat().st_mtime < idle_s:
                continue
        except (ValueError, OSError):
            continue
        if saved_recording(session_id) is None:
            continue
        try:
            raw.unlink(missing_ok=True)
        except OSError as exc:
            logger.warning("[stream %s] raw spool file %s not removed: %s", session_id, raw, exc)
            continue
        logger.info("[stream %s] raw spool file left after its save removed", session_id)


@contextlib.contextmanager
def _claimed(path: Path, idle_s: float) -> Iterator[float | None]:
    """Lock ``path`` exclusively; yields when it was last written to (its mtime), or None
    when another process holds it, it is gone, or it was written to within ``idle_s``
    seconds.

    Raises:
        OSError: the file vanished before it could be opened.
    """
    with path.open("rb") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield None
            return
        stat = os.fstat(fh.fileno())
        fresh = time.time() - stat.st_mtime < idle_s
        yield None if stat.st_nlink == 0 or fresh else stat.st_mtime


def _recover_one(user_id: int, session_id: uuid.UUID, last_write: float) -> bool:
    """Save one orphaned session's spool files as a recording titled with its start.

    The start is the file's last write less the audio it holds (a stalled disk's gaps are
    written as silence, so the length is wall time). Not the file's ``st_ctime``: on
    Linux that is the inode's last change, which every header sync moves.
    """
    user = User.objects.filter(pk=user_id).first()
    paths = spool_paths(user_id, session_id)
    if user is None:
        paths.remove()
        return False
    saved = saved_recording(session_id)
    if saved is not None:  # saved before; the spool outlived it (a kill, a failed removal)
        if remove_spool(paths, session_id, user.username):
            logger.info(
                "[stream %s user=%s] spool of recording %s removed",
                session_id,
                user.username,
                saved.pk,
            )
        return False
    try:
        length = duration_of(paths.cleaned)
    except AudioError:
        length = 0.0  # unreadable: do_save_live_recording says so and drops it
    started = datetime.fromtimestamp(last_write - length, tz=timezone.get_current_timezone())
    try:
        rec = do_save_live_recording(user, session_id, started, "", settings.DENOISE_ATTEN_LIM_DB)
    except Exception:
        logger.exception(
            "[stream %s user=%s] could not recover the spooled recording",
            session_id,
            user.username,
        )
        return False
    if rec is not None:
        logger.info(
            "[stream %s user=%s] recording %s recovered from the spool",
            session_id,
            user.username,
            rec.pk,
        )
    return rec is not None
