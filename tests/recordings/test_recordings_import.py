"""POST /api/recordings/import/: every format, bad files, size limit, quota; nothing left behind."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from django.conf import settings as django_settings

from recordings.models import RecordingJob, StreamRecording
from recordings.storage import OWNER_LOCK

from .conftest import body, encoded, post_file, signal, wait_job

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _identity(settings):
    settings.DENOISE_MODEL = "identity"


def stored_files() -> list[Path]:
    """Every file in storage and in the spool (uploads must leave no debris); the lock
    file of this process's scratch folder is not debris."""
    roots = [Path(django_settings.MEDIA_ROOT), Path(django_settings.SPOOL_DIR)]
    files = (p for root in roots if root.exists() for p in root.rglob("*") if p.is_file())
    return [p for p in files if p.name != OWNER_LOCK]


def fetch(client, url: str) -> tuple[np.ndarray, int]:
    resp = client.get(url)
    assert resp.status_code == 200, resp.content
    audio, rate = sf.read(io.BytesIO(body(resp)), dtype="float32", always_2d=True)
    return audio, rate


@pytest.mark.parametrize(
    ("fmt", "ext", "rate", "channels"),
    [
        ("WAV", "wav", 48_000, 1),
        ("FLAC", "flac", 44_100, 2),
        ("OGG", "ogg", 48_000, 1),
        ("MP3", "mp3", 44_100, 1),
    ],
)
def test_import_each_format(alice, as_alice, fmt, ext, rate, channels):
    audio = signal(2.0, rate=rate)
    if channels == 2:
        audio = np.stack((audio, 0.5 * audio), axis=1)
    resp = post_file(as_alice, encoded(audio, fmt, rate), f"Field take.{ext}")
    assert resp.status_code == 202, resp.content
    rec = resp.json()["recording"]
    assert rec["title"] == "Field take" and rec["source"] == "import"
    assert rec["status"] == "processing" and rec["job"]["kind"] == "import"
    # Not playable until cleaned; the raw version already is.
    assert as_alice.get(rec["audio_url"]).status_code in (200, 409)
    job = wait_job(rec["job"]["id"])
    assert job.status == RecordingJob.Status.DONE, job.error
    done = as_alice.get(f"/api/recordings/{rec['id']}/").json()
    assert done["status"] == "ready" and done["job"]["progress"] == 1.0
    assert done["duration"] == pytest.approx(2.0, abs=0.06)  # MP3 pads a frame
    cleaned, cleaned_rate = fetch(as_alice, rec["audio_url"])
    raw, raw_rate = fetch(as_alice, rec["raw_audio_url"])
    assert cleaned_rate == raw_rate == rate
    assert cleaned.shape == raw.shape and cleaned.shape[1] == channels
    # The identity model: the cleaned version is the raw one, sample-aligned (other
    # rates go through the engine's 48 kHz resampling, which band-limits the noise).
    if rate == 48_000:
        np.testing.assert_allclose(cleaned, raw, atol=3 / 32768)
    else:
        snr = 10 * np.log10(np.sum(raw**2) / np.sum((cleaned - raw) ** 2))
        assert snr > 20, f"cleaned differs from raw: SNR {snr:.1f} dB"


def test_title_and_model_fields(alice, as_alice):
    resp = post_file(
        as_alice, encoded(signal(1.0), "WAV"), "x.wav", title="Podcast", atten_lim_db="12"
    )
    rec = resp.json()["recording"]
    assert rec["title"] == "Podcast" and rec["atten_lim_db"] == 12.0
    assert rec["model"] == "identity"
    bad = post_file(as_alice, encoded(signal(1.0), "WAV"), "x.wav", model="nope")
    assert bad.status_code == 400 and "model" in bad.json()["error"]
    bad = post_file(as_alice, encoded(signal(1.0), "WAV"), "x.wav", atten_lim_db="3")
    assert bad.status_code == 400
    wait_job(rec["job"]["id"])


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"this is not audio at all" * 100, "notes.wav"),
        (b"", "empty.mp3"),
        (b"RIFF\x00\x00\x00\x00WAVEfmt garbage", "broken.wav"),
    ],
)
def test_non_audio_is_rejected_without_debris(alice, as_alice, data, name):
    resp = post_file(as_alice, data, name)
    assert resp.status_code == 400, resp.content
    assert "audio" in resp.json()["error"]
    assert not StreamRecording.objects.exists()
    assert stored_files() == []


def test_truncated_flac_is_rejected(alice, as_alice):
    whole = encoded(signal(3.0), "FLAC")
    resp = post_file(as_alice, whole[: len(whole) // 2] + b"\xff" * 4000, "cut.flac")
    # libsndfile either reports the corruption or decodes what is there; never a 500.
    assert resp.status_code in (202, 400), resp.content
    if resp.status_code == 400:
        assert stored_files() == []
    else:
        wait_job(resp.json()["recording"]["job"]["id"])


def test_too_large_is_413(alice, as_alice, settings):
    settings.UPLOAD_MAX_BYTES = 50_000
    resp = post_file(as_alice, encoded(signal(2.0), "WAV"), "big.wav")
    assert resp.status_code == 413 and "limit" in resp.json()["error"]
    assert stored_files() == [] and not StreamRecording.objects.exists()


def test_quota_is_413(alice, as_alice, settings):
    settings.RECORDINGS_QUOTA_BYTES = 300_000
    first = post_file(as_alice, encoded(signal(1.0), "WAV"), "a.wav")
    assert first.status_code == 202
    wait_job(first.json()["recording"]["job"]["id"])
    resp = post_file(as_alice, encoded(signal(2.0), "WAV"), "b.wav")
    assert resp.status_code == 413 and "quota" in resp.json()["error"]
    assert StreamRecording.objects.count() == 1
    storage = as_alice.get("/api/recordings/").json()["storage"]
    assert 0 < storage["used_bytes"] <= storage["quota_bytes"] == 300_000


def test_missing_file_field_anonymous_and_csrf(alice, as_alice, anon):
    resp = as_alice.client.post(
        "/api/recordings/import/", {"title": "x"}, HTTP_X_CSRFTOKEN=as_alice.csrf
    )
    assert resp.status_code == 400 and "file" in resp.json()["error"]
    assert post_file(anon, encoded(signal(0.5), "WAV"), "a.wav").status_code == 401
    no_csrf = as_alice.client.post("/api/recordings/import/", {"title": "x"})
    assert no_csrf.status_code == 403
