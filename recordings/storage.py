"""Where recording files live: the local spool while live, Django's storage after.

Live tracks are written to ``SPOOL_DIR/<user id>/<session>.{cleaned,raw}.wav``
(incremental writes need a local file; a session whose save failed keeps its details in
``<session>.details.json`` beside them); finished files are stored as FLAC
through ``default_storage`` (local media folder or S3, see settings).
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SpoolPaths:
    """The two WAV files one live session writes, and the details of a session whose save
    failed (:mod:`.livesave`), kept beside them for the recovery."""

    cleaned: Path
    raw: Path
    details: Path

    @property
    def details_part(self) -> Path:
        """Where the details are written before they are renamed into place."""
        return self.details.with_name(self.details.name + ".part")

    def remove(self) -> None:
        """Remove them all, the cleaned file first: recovery starts from it, and it
        removes the others it finds left alone."""
        self.cleaned.unlink(missing_ok=True)
        self.raw.unlink(missing_ok=True)
        self.details.unlink(missing_ok=True)
        self.details_part.unlink(missing_ok=True)


SPOOL_SUFFIXES = (".cleaned.wav", ".raw.wav", ".details.json")
"""The names of a session's spool files after its session id (:class:`SpoolPaths`)."""


def spool_paths(user_id: int, session_id: uuid.UUID) -> SpoolPaths:
    base = Path(settings.SPOOL_DIR) / str(user_id)
    cleaned, raw, details = (base / f"{session_id}{suffix}" for suffix in SPOOL_SUFFIXES)
    return SpoolPaths(cleaned, raw, details)


OWNER_LOCK = ".owner"
"""File in a scratch folder that its process holds locked (flock) while it lives."""
LEGACY_SCRATCH_AGE_S = 24 * 3600.0
"""Scratch entries without an owner lock (older code, or a creation that died half-way)
are swept once this old."""
NEW_PREFIX = ".new-"
"""A scratch folder's name until its owner lock is held (sweeps go by age only)."""

_scratch: dict[Path, tuple[Path, IO[bytes], int]] = {}
_scratch_lock = threading.Lock()


def spool_tmp_dir() -> Path:
    """This process's scratch folder on the spool's disk (jobs and uploads convert here).

    ``SPOOL_DIR/tmp/<pid>-<random>``, its :data:`OWNER_LOCK` held for the process's
    life: :func:`sweep_scratch` removes the folders of processes that died (a kill
    mid-import leaves its temporary files) and never a living one's.
    """
    root = Path(settings.SPOOL_DIR) / "tmp"
    with _scratch_lock:
        held = _scratch.get(root)
        if held is not None and held[2] == os.getpid() and held[0].is_dir():
            return held[0]
        root.mkdir(parents=True, exist_ok=True)
        # Locked under a name sweeps leave alone, then renamed: never swept unlocked.
        pending = root / f"{NEW_PREFIX}{uuid.uuid4().hex}"
        pending.mkdir()
        owner = (pending / OWNER_LOCK).open("wb")
        fcntl.flock(owner, fcntl.LOCK_EX)
        path = root / f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        pending.rename(path)
        if held is not None:
            held[1].close()
        _scratch[root] = (path, owner, os.getpid())
        return path


def sweep_scratch() -> int:
    """Remove the scratch folders of processes that are gone; returns how many.

    A folder whose :data:`OWNER_LOCK` can be locked has no living owner. Entries
    without one (left by older code) and folders still being created go once
    :data:`LEGACY_SCRATCH_AGE_S` old.
    """
    root = Path(settings.SPOOL_DIR) / "tmp"
    if not root.is_dir():
        return 0
    removed = 0
    for entry in root.iterdir():
        try:
            if _owner_gone(entry):
                if entry.is_dir():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)
                removed += 1
        except OSError:
            continue  # removed meanwhile by another process's sweep
    if removed:
        logger.info("removed %d scratch folders of processes that are gone", removed)
    return removed


def _owner_gone(entry: Path) -> bool:
    lock = entry / OWNER_LOCK
    if entry.name.startswith(NEW_PREFIX) or not lock.exists():
        # Being created (its lock may not be taken yet), or left by older code.
        return time.time() - entry.stat().st_mtime > LEGACY_SCRATCH_AGE_S
    with lock.open("rb") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # its process lives (this one included: a second open conflicts)
        return True


def storage_name(owner_id: int, stem: str, version: str) -> str:
    """Storage name for one version of a recording, e.g. ``recordings/3/<stem>-raw.flac``."""
    return f"recordings/{owner_id}/{stem}-{version}.flac"


def store_file(local: Path, name: str) -> tuple[str, int]:
    """Save ``local`` under ``name`` (the storage may pick a free variant); (name, bytes)."""
    size = local.stat().st_size
    with local.open("rb") as fh:
        stored = default_storage.save(name, File(fh, name=Path(name).name))
    return stored, size


def fetch_file(name: str, dest: Path) -> Path:
    """Copy a stored file to the local path ``dest`` (jobs read local files)."""
    with default_storage.open(name, "rb") as src, dest.open("wb") as out:
        shutil.copyfileobj(src, out, 1024 * 1024)
    return dest


def delete_files(*names: str | None) -> None:
    """Delete stored files once the current transaction commits (missing ones are fine)."""
    targets = [n for n in names if n]  # empty FileFields have no name
    if targets:
        transaction.on_commit(lambda: _delete_now(targets))


def discard_files(*names: str | None) -> None:
    """Delete stored files that no row names, now: files stored for a row that was never
    written (its transaction failed, the database is away). Not at a commit, which a
    database that is away never reaches. Never raises (a failure is logged)."""
    _delete_now([n for n in names if n])


def _delete_now(names: list[str]) -> None:
    for name in names:
        try:
            default_storage.delete(name)
        except Exception:  # a storage hiccup leaves an orphan, never a broken request
            logger.exception("could not delete stored file %s", name)
