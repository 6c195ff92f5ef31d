"""Where recording files live: the local spool while live, Django's storage after.

Live tracks are written to ``SPOOL_DIR/<user id>/<session>.{cleaned,raw}.wav``
(incremental writes need a local file); finished files are stored as FLAC
through ``default_storage`` (local media folder or S3, see settings).
"""

from __future__ import annotations

import logging
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SpoolPaths:
    """The two WAV files one live session writes."""

    cleaned: Path
    raw: Path

    def remove(self) -> None:
        self.cleaned.unlink(missing_ok=True)
        self.raw.unlink(missing_ok=True)


def spool_paths(user_id: int, session_id: uuid.UUID) -> SpoolPaths:
    base = Path(settings.SPOOL_DIR) / str(user_id)
    return SpoolPaths(base / f"{session_id}.cleaned.wav", base / f"{session_id}.raw.wav")


def spool_tmp_dir() -> Path:
    """A local scratch folder on the spool's disk (jobs and uploads convert here)."""
    path = Path(settings.SPOOL_DIR) / "tmp"
    path.mkdir(parents=True, exist_ok=True)
    return path


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

    def run() -> None:
        for name in targets:
            try:
                default_storage.delete(name)
            except Exception:  # a storage hiccup leaves an orphan, never a broken request
                logger.exception("could not delete stored file %s", name)

    if targets:
        transaction.on_commit(run)
