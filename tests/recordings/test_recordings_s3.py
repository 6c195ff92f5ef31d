"""The same recordings code on an S3-compatible store (moto's S3 server on loopback)."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import numpy as np
import pytest
import soundfile as sf
from botocore.exceptions import EndpointConnectionError
from django.core.files.storage import default_storage
from django.utils import timezone

from recordings.models import StreamRecording
from recordings.s3range import S3RangeFile
from recordings.services import LiveDetails, do_save_live_recording
from recordings.storage import spool_paths
from tests.servers import free_port

from .conftest import body, encoded, post_file, signal, wait_job

pytestmark = pytest.mark.django_db(transaction=True)
BUCKET = "fc25-recordings"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3(settings: Any, s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Recordings stored in a fresh bucket; returns a boto3 client to inspect it."""
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    bucket = f"{BUCKET}-{uuid.uuid4().hex[:8]}"
    client.create_bucket(Bucket=bucket)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": bucket,
                "endpoint_url": s3_endpoint,
                "file_overwrite": False,
            },
        },
    }
    settings.DENOISE_MODEL = "identity"
    client.bucket = bucket
    return client


def keys(s3: Any) -> list[str]:
    listing = s3.list_objects_v2(Bucket=s3.bucket)
    return sorted(o["Key"] for o in listing.get("Contents", []))


def test_import_play_reclean_delete_on_s3(s3, alice, as_alice):
    assert default_storage.__class__.__name__ == "S3Storage"
    resp = post_file(as_alice, encoded(signal(2.0), "FLAC"), "s3 take.flac")
    assert resp.status_code == 202, resp.content
    rec = resp.json()["recording"]
    assert wait_job(rec["job"]["id"]).status == "done"
    stored = keys(s3)
    assert len(stored) == 2 and all(k.startswith(f"recordings/{alice.pk}/") for k in stored)
    assert {k.rsplit("-", 1)[1] for k in stored} == {"cleaned.flac", "raw.flac"}

    full = body(as_alice.get(rec["audio_url"]))
    audio, rate = sf.read(io.BytesIO(full), dtype="float32")
    assert rate == 48_000 and audio.size == 96_000
    part = as_alice.get(rec["audio_url"], HTTP_RANGE="bytes=1000-1999")
    assert part.status_code == 206 and body(part) == full[1000:2000]
    flac = body(as_alice.get(rec["audio_url"] + "?format=flac"))
    cleaned_key = next(k for k in stored if k.endswith("cleaned.flac"))
    assert flac == s3.get_object(Bucket=s3.bucket, Key=cleaned_key)["Body"].read()
    ranged = S3RangeFile(default_storage, cleaned_key)
    whole = s3.get_object(Bucket=s3.bucket, Key=cleaned_key)["Body"].read()
    assert ranged.size == len(whole)
    ranged.seek(len(whole) - 100)
    assert ranged.read(1000) == whole[-100:]  # clipped at the end
    ranged.seek(5)
    assert ranged.read(10) == whole[5:15] and ranged.tell() == 15
    with pytest.raises(FileNotFoundError):
        S3RangeFile(default_storage, "recordings/none.flac")
    peaks = as_alice.get(f"/api/recordings/{rec['id']}/peaks/?buckets=50").json()
    assert len(peaks["cleaned"]) == len(peaks["raw"]) == 50

    job = as_alice.post(f"/api/recordings/{rec['id']}/reclean/", {"atten_lim_db": 30}).json()
    assert wait_job(job["job"]["id"]).status == "done"
    after = keys(s3)
    assert len(after) == 2 and cleaned_key not in after  # old version replaced, then deleted

    assert as_alice.delete(f"/api/recordings/{rec['id']}/").status_code == 204
    assert keys(s3) == []


def test_live_recording_is_stored_on_s3(s3, alice):
    session = uuid.uuid4()
    paths = spool_paths(alice.pk, session)
    paths.cleaned.parent.mkdir(parents=True)
    sf.write(paths.cleaned, signal(1.0), 48_000, subtype="PCM_16")
    sf.write(paths.raw, signal(1.0, seed=1), 48_000, subtype="PCM_16")
    rec = do_save_live_recording(alice, session, LiveDetails(timezone.now(), "identity", 100.0))
    assert rec is not None and rec.duration == pytest.approx(1.0)
    assert keys(s3) == sorted([rec.file.name, rec.raw_file.name])
    assert not paths.cleaned.exists() and not paths.raw.exists()
    with default_storage.open(rec.raw_file.name) as fh:
        raw, _ = sf.read(fh, dtype="float32")
    np.testing.assert_allclose(raw, signal(1.0, seed=1), atol=1 / 32768 + 1e-6)


def test_storage_outage_keeps_the_spool_for_recovery(s3, settings, alice):
    """S3 unreachable when a stream ends: nothing is lost; the next start saves it."""
    from streams.services import clear_stale_streams

    good = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    }
    settings.STORAGES = {
        **good,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {"bucket_name": "x", "endpoint_url": f"http://127.0.0.1:{free_port()}"},
        },
    }
    session = uuid.uuid4()
    paths = spool_paths(alice.pk, session)
    paths.cleaned.parent.mkdir(parents=True)
    sf.write(paths.cleaned, signal(1.0), 48_000, subtype="PCM_16")
    with pytest.raises(EndpointConnectionError):
        do_save_live_recording(alice, session, LiveDetails(timezone.now(), "identity", 100.0))
    assert paths.cleaned.exists() and not StreamRecording.objects.exists()
    settings.STORAGES = good  # storage is back (the local media folder here)
    assert clear_stale_streams() == (0, 1)
    rec = StreamRecording.objects.get()
    assert rec.session_id == session and not paths.cleaned.exists()
