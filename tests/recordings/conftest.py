"""Recordings fixtures: stored recordings with both versions, uploads, job waiting."""

from __future__ import annotations

import io
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from django.core.files.uploadedfile import SimpleUploadedFile

from recordings.models import RecordingJob, StreamRecording
from recordings.storage import storage_name, store_file

RATE = 48_000


def signal(seconds: float = 3.0, *, rate: int = RATE, seed: int = 0) -> np.ndarray:
    """A 220 Hz tone with white noise: 'raw'. Deterministic."""
    t = np.arange(int(rate * seconds)) / rate
    rng = np.random.default_rng(seed)
    tone = 0.3 * np.sin(2 * np.pi * 220 * t)
    return (tone + 0.05 * rng.standard_normal(t.size)).astype(np.float32)


def encoded(audio: np.ndarray, fmt: str, rate: int = RATE) -> bytes:
    """``audio`` as a file of ``fmt`` (WAV, FLAC, OGG or MP3) in memory."""
    buf = io.BytesIO()
    subtype = {"WAV": "PCM_16", "FLAC": "PCM_16", "OGG": "VORBIS", "MP3": "MPEG_LAYER_III"}[fmt]
    sf.write(buf, audio, rate, format=fmt, subtype=subtype)
    return buf.getvalue()


def make_recording(
    owner: Any, tmp_path: Path, *, seconds: float = 3.0, raw: bool = True, title: str = "Test"
) -> StreamRecording:
    """A ready recording whose cleaned version is the tone and raw version tone + noise."""
    raw_audio = signal(seconds)
    clean_audio = (0.3 * np.sin(2 * np.pi * 220 * np.arange(raw_audio.size) / RATE)).astype(
        np.float32
    )
    size = 0
    names = {}
    for version, audio in (("cleaned", clean_audio), ("raw", raw_audio)):
        if version == "raw" and not raw:
            continue
        local = tmp_path / f"{title}-{version}.flac"
        sf.write(local, audio, RATE, subtype="PCM_16")
        names[version], n = store_file(local, storage_name(owner.pk, title, version))
        size += n
    return StreamRecording.objects.create(
        owner=owner,
        title=title,
        file=names["cleaned"],
        raw_file=names.get("raw", ""),
        duration=seconds,
        model="identity",
        size_bytes=size,
    )


@pytest.fixture
def rec(friends: Any, tmp_path: Path) -> StreamRecording:
    """Alice's recording (bob is her friend, carol is not)."""
    return make_recording(friends[0], tmp_path)


def body(resp: Any) -> bytes:
    """A streamed audio response's bytes. The view streams an async iterator (as under
    ASGI); the sync test client collects it with async_to_sync and warns that it did."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return b"".join(resp)


def upload(data: bytes, name: str = "take.wav") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def post_file(client: Any, data: bytes, name: str, **fields: str) -> Any:
    """POST /api/recordings/import/ as a browser's FormData would."""
    return client.client.post(
        "/api/recordings/import/",
        {"file": upload(data, name), **fields},
        HTTP_X_CSRFTOKEN=client.csrf,
    )


def wait_job(job_id: int, timeout: float = 60.0) -> RecordingJob:
    """Poll until the job finishes (the runner's thread commits its own transactions)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = RecordingJob.objects.get(pk=job_id)
        if job.status in (RecordingJob.Status.DONE, RecordingJob.Status.FAILED):
            # The row is final; let the job's after-commit work (old file deletion) finish.
            from fc25_denoise.runtime import job_runner

            assert job_runner().wait_idle(timeout)
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} still {job.status} after {timeout}s")


@pytest.fixture(autouse=True)
def _jobs_finish() -> Iterator[None]:
    """No recording job may outlive its test (it would touch the next test's database)."""
    yield
    from fc25_denoise.runtime import job_runner

    assert job_runner().wait_idle(60), "a recording job was still running"


@pytest.fixture
def raw_shared(friends: Any) -> None:
    """Alice shares unprocessed audio (``share_raw``): her friends may hear raw versions."""
    from streams.models import BroadcastSettings

    BroadcastSettings.objects.update_or_create(
        user=friends[0], defaults={"model": "identity", "share_raw": True}
    )
