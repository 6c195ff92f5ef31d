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

from fc25_denoise.backoff import backoff_s
from users.models import User

from .audio import AudioError, duration_of
from .livesave import (
    LiveDetails,
    do_save_live_recording,
    kept_details,
    remove_spool,
    saved_recording,
)
from .storage import spool_paths, sweep_scratch

logger = logging.getLogger(__name__)


class RetryBackoff:
    """When a recovery pass may next try to store a recording, after a save failed.

    A save fails mostly because storage (S3) or the database is down, for every file
    alike: each pass that tried them all would encode every stuck spool again (minutes of
    CPU for long streams) and hold up the dead-stream sweep that shares its loop. So a
    pass stops at its first failed save, and the next one that tries waits
    :data:`RETRY_FIRST_S`, doubling up to :data:`RETRY_MAX_S`; a save that succeeds ends
    the wait. Files whose save failed are tried after the others, so one that always
    fails holds none of them back. The owner of a recurring pass (a process's sweep)
    keeps one across its passes.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._retry_at = 0.0
        self._failures = 0  # saves failed in a row
        self._failed_at: dict[Path, float] = {}

    def ready(self) -> bool:
        """Whether a save may be tried now."""
        return self._clock() >= self._retry_at

    def order(self, found: list[Path]) -> list[Path]:
        """``found`` with the files never failed first, then the longest failed (files no
        longer found are forgotten)."""
        listed = set(found)
        self._failed_at = {p: at for p, at in self._failed_at.items() if p in listed}
        return sorted(
            found, key=lambda path: (path in self._failed_at, self._failed_at.get(path, 0.0))
        )

    def failed(self, path: Path) -> None:
        now = self._clock()
        self._failures += 1
        self._retry_at = now + backoff_s(RETRY_FIRST_S, self._failures, RETRY_MAX_S)
        self._failed_at[path] = now

    def succeeded(self, path: Path) -> None:
        """``path`` was stored: storage works, so the wait ends."""
        self._failures, self._retry_at = 0, 0.0
        self._failed_at.pop(path, None)

    def done_without_storing(self, path: Path) -> None:
        """``path`` needed no storing (saved before, empty, its owner gone): it says
        nothing about storage, so the wait stays as it is."""
        self._failed_at.pop(path, None)


RETRY_FIRST_S = 15.0
"""The wait after a recovery's save failed, before the next try (doubled per failure)."""
RETRY_MAX_S = 600.0
"""The longest wait between two tries while saves keep failing."""


def recover_spool(
    active_sessions: Callable[[], set[uuid.UUID]],
    idle_s: float = 0.0,
    backoff: RetryBackoff | None = None,
) -> int:
    """Save spool files left by a crash (or a storage outage) as recordings.

    ``active_sessions`` is asked *after* the folder is listed: a stream's live row
    exists before its spool file, so a file listed here whose session is not
    active then is an orphan. Files written to within ``idle_s`` seconds are
    skipped too (a live spool is written every 100 ms). Each file is claimed with
    an exclusive lock, so processes sharing the folder never save one twice. The pass
    stops at the first save that fails; with ``backoff`` (see :class:`RetryBackoff`) it
    tries none while that says wait. Returns the number of recordings saved.
    """
    sweep_scratch()  # the temporary files a killed import or job left behind
    root = Path(settings.SPOOL_DIR)
    _remove_leftovers(root, idle_s, active_sessions)
    backoff = backoff or RetryBackoff()
    found = sorted(root.glob("*/*.cleaned.wav"))
    if not found or not backoff.ready():
        return 0
    active = active_sessions()
    saved = 0
    for cleaned in backoff.order(found):
        try:
            user_id = int(cleaned.parent.name)
            session_id = uuid.UUID(cleaned.name.split(".")[0])
        except ValueError:
            continue
        if session_id in active:
            continue
        try:
            with _claimed(cleaned, idle_s) as last_write:
                if last_write is None:
                    continue
                outcome = _recover_one(user_id, session_id, last_write)
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
            continue
        if outcome is None:
            backoff.failed(cleaned)
            break  # storage is likely down for the rest too: the next pass tries again
        if outcome:
            backoff.succeeded(cleaned)
        else:
            backoff.done_without_storing(cleaned)
        saved += outcome
    return saved


_REPORTED: set[Path] = set()
"""Spool files this process could not open, already logged (a pass runs every few
heartbeats)."""


def _remove_leftovers(
    root: Path, idle_s: float, active_sessions: Callable[[], set[uuid.UUID]]
) -> None:
    """Remove the spool files left without their cleaned WAV: a raw file, the details
    (:mod:`.livesave`), a details write a kill cut short. Recovery starts from the cleaned
    file, so nothing else would ever remove them: a process killed between the removals
    of a session's spool files, after its save or after a save that found nothing
    recorded, leaves them. Kept while their session is live (``active_sessions``, asked
    after the folder is listed, as :func:`recover_spool` does) or written to within
    ``idle_s`` seconds."""
    lefts = [p for p in root.glob("*/*.*") if not p.name.endswith(".cleaned.wav")]
    if not lefts:
        return
    active = active_sessions()
    for left in lefts:
        cleaned = left.with_name(left.name.split(".")[0] + ".cleaned.wav")
        try:
            session_id = uuid.UUID(left.name.split(".")[0])
            if session_id in active or cleaned.exists():
                continue
            if time.time() - left.stat().st_mtime < idle_s:
                continue
        except (ValueError, OSError):
            continue
        try:
            left.unlink(missing_ok=True)
        except OSError as exc:
            logger.warning("[stream %s] spool file %s not removed: %s", session_id, left, exc)
            continue
        logger.info("[stream %s] spool file %s left alone, removed", session_id, left.name)


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


def _recover_one(user_id: int, session_id: uuid.UUID, last_write: float) -> int | None:
    """Save one orphaned session's spool files as a recording: 1 if saved, 0 if there was
    nothing to save, None if the save failed (logged; the files stay).

    It is saved with the details kept beside it (:func:`~.livesave.kept_details`: by its
    failed save, or every few seconds while it ran): the stream's start, model,
    attenuation, gaps and noise removed. Without them it is titled with its start,
    the file's last write less the audio it holds (a stalled disk's gaps are written as
    silence, so the length is wall time). Not the file's ``st_ctime``: on Linux that is the
    inode's last change, which every header sync moves.
    """
    user = User.objects.filter(pk=user_id).first()
    paths = spool_paths(user_id, session_id)
    if user is None:
        paths.remove()
        return 0
    saved = saved_recording(session_id)
    if saved is not None:  # saved before; the spool outlived it (a kill, a failed removal)
        if remove_spool(paths, session_id, user.username):
            logger.info(
                "[stream %s user=%s] spool of recording %s removed",
                session_id,
                user.username,
                saved.pk,
            )
        return 0
    details = kept_details(paths)
    if details is None:
        try:
            length = duration_of(paths.cleaned)
        except AudioError:
            length = 0.0  # unreadable: do_save_live_recording says so and drops it
        started = datetime.fromtimestamp(last_write - length, tz=timezone.get_current_timezone())
        details = LiveDetails(started, "", settings.DENOISE_ATTEN_LIM_DB)
    try:
        rec = do_save_live_recording(user, session_id, details)
    except Exception:
        logger.exception(
            "[stream %s user=%s] could not recover the spooled recording",
            session_id,
            user.username,
        )
        return None
    if rec is None:
        return 0
    logger.info(
        "[stream %s user=%s] recording %s recovered from the spool",
        session_id,
        user.username,
        rec.pk,
    )
    return 1
