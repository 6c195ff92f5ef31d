"""A live stream records the cleaned and the raw track, time-aligned; raw is optional."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
import soundfile as sf
from django.core.files.storage import default_storage

from recordings.models import StreamRecording
from streams.models import BroadcastSettings
from tests.audio_fixtures import noisy_speech
from tests.live.conftest import ArrayTrack

pytestmark = pytest.mark.django_db(transaction=True)


def read(name: str) -> np.ndarray:
    with default_storage.open(name) as fh:
        audio, rate = sf.read(fh, dtype="float32")
    assert rate == 48_000
    return audio


def best_lag(a: np.ndarray, b: np.ndarray, max_lag: int = 2400) -> int:
    """Lag (samples) at which ``b`` best matches ``a`` (positive: b is later)."""
    n = min(a.size, b.size) - 2 * max_lag
    ref = a[max_lag : max_lag + n]
    scores = [
        float(np.dot(ref, b[max_lag + k : max_lag + k + n])) for k in range(-max_lag, max_lag)
    ]
    return int(np.argmax(scores)) - max_lag


async def _stream(alice, seconds: float, source: np.ndarray) -> StreamRecording:
    resp, _ = await alice.go_live(ArrayTrack(source))
    assert resp.status_code == 200, resp.content
    await asyncio.sleep(seconds)
    resp = await alice.call("post", "/api/streams/stop/")
    assert resp.status_code == 200
    return await StreamRecording.objects.aget(pk=resp.json()["recording_id"])


@pytest.mark.model
async def test_both_tracks_are_recorded_and_aligned(clients, settings):
    settings.DENOISE_MODEL = "dfn3"
    alice = clients[0]
    _, _, noisy, _ = noisy_speech(seconds=5.0, snr_db=10.0, seed=5)
    rec = await _stream(alice, 4.5, noisy)
    assert rec.file.name.endswith(".flac") and rec.raw_file.name.endswith(".flac")
    assert rec.size_bytes == default_storage.size(rec.file.name) + default_storage.size(
        rec.raw_file.name
    )
    cleaned, raw = read(rec.file.name), read(rec.raw_file.name)
    assert cleaned.size == raw.size
    assert abs(rec.duration - cleaned.size / 48_000) < 0.01
    # Raw is the noisier one, and both line up sample for sample (speech peaks match).
    assert np.std(raw) > np.std(cleaned)
    assert best_lag(np.abs(raw), np.abs(cleaned)) in (-1, 0, 1)
    assert (rec.model, rec.source) == ("dfn3", "live")


async def test_raw_recording_can_be_turned_off(clients, settings):
    settings.DENOISE_MODEL = "identity"
    alice = clients[0]
    resp = await alice.call("patch", "/api/streams/settings/", {"record_raw": False})
    assert resp.status_code == 200 and resp.json()["record_raw"] is False
    assert not (await BroadcastSettings.objects.aget(user__username="alice")).record_raw
    tone = 0.3 * np.sin(2 * np.pi * 300 * np.arange(48_000 * 10) / 48_000)
    rec = await _stream(alice, 1.5, tone.astype(np.float32))
    assert rec.file and not rec.raw_file
    assert list(default_storage.listdir(f"recordings/{rec.owner_id}")[1]) == [
        rec.file.name.rsplit("/", 1)[1]
    ]
    bad = await alice.call("patch", "/api/streams/settings/", {"record_raw": "no"})
    assert bad.status_code == 400


async def test_full_quota_blocks_going_live(clients, settings):
    settings.DENOISE_MODEL = "identity"
    settings.RECORDINGS_QUOTA_BYTES = 1000
    alice = clients[0]
    await StreamRecording.objects.acreate(
        owner_id=alice.user.pk,
        title="big",
        file="recordings/x-cleaned.flac",
        size_bytes=1000,
    )
    tone = 0.3 * np.sin(2 * np.pi * 300 * np.arange(48_000 * 5) / 48_000)
    resp, _ = await alice.go_live(ArrayTrack(tone.astype(np.float32)))
    assert resp.status_code == 409 and "quota" in resp.json()["error"]
    me = (await alice.call("get", "/api/auth/me/")).json()
    assert me["is_streaming"] is False
