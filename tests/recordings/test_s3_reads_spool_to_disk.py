"""On S3, a stored file opened whole (the peaks route's first read, a job fetching its
input) is held in memory only up to a bound, then spooled to a local temporary file.

django-storages' S3File buffers the whole object in a SpooledTemporaryFile whose memory
limit defaults to 0, meaning "never roll to disk": a long recording sat in RAM once per
such read.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, ClassVar

import pytest
import storages.backends.s3 as s3_backend
from django.core.files.storage import default_storage

from fc25_denoise import s3config
from recordings import peaks
from recordings.storage import fetch_file

from .conftest import make_recording
from .test_recordings_s3 import s3, s3_endpoint  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db(transaction=True)

SMALL_LIMIT = 64 * 1024


class WatchedSpool(tempfile.SpooledTemporaryFile):  # type: ignore[type-arg]
    """Records, on close, whether the buffer went to disk and how much stayed in memory."""

    closed_spools: ClassVar[list[tuple[bool, int]]] = []

    def close(self) -> None:
        rolled = bool(self._rolled)  # type: ignore[attr-defined]
        in_memory = 0 if rolled else len(self._file.getvalue())  # type: ignore[attr-defined]
        self.closed_spools.append((rolled, in_memory))
        super().close()


@pytest.fixture
def project_s3_options(s3: Any, settings: Any, monkeypatch: pytest.MonkeyPatch) -> Any:  # noqa: F811
    """The bucket of the ``s3`` fixture, with the options the settings build for S3."""
    monkeypatch.setattr(s3config, "S3_MEMORY_BYTES", SMALL_LIMIT)
    endpoint = settings.STORAGES["default"]["OPTIONS"]["endpoint_url"]
    settings.STORAGES = {
        **settings.STORAGES,
        "default": s3config.s3_storage(s3.bucket, endpoint, "us-east-1", ""),
    }
    return s3


def test_whole_file_reads_on_s3_spool_to_disk_past_the_limit(
    project_s3_options: Any, friends: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rec = make_recording(friends[0], tmp_path, seconds=20.0)
    sizes = [default_storage.size(rec.file.name), default_storage.size(rec.raw_file.name)]
    assert min(sizes) > SMALL_LIMIT, "the test files must be larger than the limit"
    monkeypatch.setattr(s3_backend.tempfile, "SpooledTemporaryFile", WatchedSpool)
    WatchedSpool.closed_spools.clear()

    body = peaks.recording_peaks(rec, 100)
    copy = fetch_file(rec.raw_file.name, tmp_path / "copy.flac")

    assert body["cleaned"] and body["raw"]
    assert copy.stat().st_size == sizes[1]
    assert len(WatchedSpool.closed_spools) == 3, WatchedSpool.closed_spools
    assert all(rolled for rolled, _ in WatchedSpool.closed_spools), WatchedSpool.closed_spools


def test_the_settings_bound_memory_on_s3() -> None:
    options = s3config.s3_storage("bucket", None, None, "")["OPTIONS"]
    assert 0 < options["max_memory_size"] <= 64 * 1024 * 1024
