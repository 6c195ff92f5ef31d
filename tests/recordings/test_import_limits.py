"""Imports are capped by setting: duration, channels (more than 2 stored as the mono
mix) and sample rate; a refused file leaves nothing behind."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf

from recordings.models import StreamRecording

from .conftest import body, encoded, post_file, signal
from .test_recordings_import import stored_files

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _identity(settings):
    settings.DENOISE_MODEL = "identity"


def silent_flac(seconds: float, rate: int = 8_000) -> bytes:
    """A small file that holds a lot of audio (silence compresses to almost nothing)."""
    out = io.BytesIO()
    sf.write(out, np.zeros(int(seconds * rate), np.int16), rate, format="FLAC")
    return out.getvalue()


def test_audio_longer_than_the_cap_is_413_and_nothing_is_kept(alice, as_alice, settings):
    settings.IMPORT_MAX_SECONDS = 60
    data = silent_flac(10 * 60)
    assert len(data) < 200_000  # ten minutes in a few kilobytes
    resp = post_file(as_alice, data, "long.flac")
    assert resp.status_code == 413, resp.content
    assert "10.0 minutes" in resp.json()["error"] and "at most 1" in resp.json()["error"]
    assert not StreamRecording.objects.exists()
    assert stored_files() == []


def test_audio_within_the_cap_is_imported(alice, as_alice, settings):
    settings.IMPORT_MAX_SECONDS = 60
    resp = post_file(as_alice, silent_flac(30), "ok.flac")
    assert resp.status_code == 202, resp.content
    rec = StreamRecording.objects.get()
    assert rec.pk == resp.json()["recording"]["id"]
    assert rec.duration == pytest.approx(30.0, abs=0.01) and rec.raw_file.name


def test_more_channels_than_the_cap_is_413(alice, as_alice, settings):
    settings.IMPORT_MAX_CHANNELS = 2
    audio = np.stack([signal(1.0)] * 3, axis=1)
    resp = post_file(as_alice, encoded(audio, "WAV"), "three.wav")
    assert resp.status_code == 413, resp.content
    assert "3 channels" in resp.json()["error"]
    assert not StreamRecording.objects.exists()
    assert stored_files() == []


@pytest.mark.parametrize(("rate", "status"), [(384_000, 413), (192_000, 202)])
def test_a_sample_rate_over_the_cap_is_413(alice, as_alice, settings, rate, status):
    settings.IMPORT_MAX_RATE = 192_000
    resp = post_file(as_alice, silent_flac(1.0, rate), "fast.flac")
    assert resp.status_code == status, resp.content
    if status == 413:
        assert "384000 Hz" in resp.json()["error"]
        assert not StreamRecording.objects.exists()
        assert stored_files() == []


def test_more_than_two_channels_are_stored_as_the_mono_mix(alice, as_alice, settings):
    settings.IMPORT_MAX_CHANNELS = 8
    base = signal(1.0)
    audio = np.stack([base, 0.5 * base, 0 * base, -0.5 * base], axis=1)  # mix = base / 4
    resp = post_file(as_alice, encoded(audio, "WAV"), "four.wav")
    assert resp.status_code == 202, resp.content
    rec = StreamRecording.objects.get()
    got, _ = sf.read(
        io.BytesIO(body(as_alice.get(f"/api/recordings/{rec.pk}/audio/?version=raw"))),
        always_2d=True,
    )
    assert got.shape[1] == 1
    assert np.allclose(got[:, 0], base / 4, atol=2e-4)
