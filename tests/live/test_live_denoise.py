"""End to end over WebRTC: the listener hears the broadcaster's voice with the noise removed."""

import numpy as np
import pytest
import soundfile as sf
from django.conf import settings as django_settings
from scipy.ndimage import binary_dilation

from streams.models import StreamRecording
from tests.audio_fixtures import noisy_speech
from tests.live.conftest import ArrayTrack, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.model]

FRAME = 480


def _env(x: np.ndarray) -> np.ndarray:
    n = len(x) // FRAME * FRAME
    return np.sqrt(np.mean(x[:n].reshape(-1, FRAME).astype(np.float64) ** 2, axis=1) + 1e-12)


def _align(reference: np.ndarray, received: np.ndarray) -> np.ndarray:
    """``received`` shifted so it lines up with ``reference`` (10 ms envelope correlation)."""
    ref, got = np.log(_env(reference)), np.log(_env(received))
    best, lag = -np.inf, 0
    for k in range(0, max(1, len(got) - len(ref) // 2)):
        seg = got[k : k + len(ref)]
        n = len(seg)
        if n < len(ref) // 2:
            break
        c = np.corrcoef(seg, ref[:n])[0, 1]
        if c > best:
            best, lag = c, k
    out = received[lag * FRAME :]
    return np.pad(out, (0, max(0, len(reference) - len(out))))[: len(reference)]


def _db(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(np.square(x, dtype=np.float64)) + 1e-20))


async def test_listener_hears_denoised_speech_and_recording_is_saved(clients, settings):
    settings.DENOISE_MODEL = "dfn3"
    alice, bob, _, _ = clients
    clean, _, noisy, mask = noisy_speech(seconds=6.0, snr_db=5.0, seed=3)
    # Start the listener before the speech: lead-in of noise the model also needs.
    lead = np.zeros(48_000, np.float32)
    source = ArrayTrack(np.concatenate((lead, noisy)))
    resp, _ = await alice.go_live(source)
    assert resp.status_code == 200, resp.content
    _, capture = await bob.listen("alice")
    await wait_until(lambda: len(capture.audio) > 48_000 * 7.5, timeout=20)

    got = _align(noisy, capture.audio)
    quiet = ~binary_dilation(mask, iterations=4800)  # 100 ms from any speech
    drop = _db(noisy[quiet]) - _db(got[quiet])
    assert drop >= 15.0, f"noise-only parts dropped by {drop:.1f} dB"
    frames = mask[::FRAME][: len(_env(got))]
    corr = np.corrcoef(_env(got)[frames], _env(clean)[frames])[0, 1]
    assert corr >= 0.8, f"speech envelope correlation {corr:.2f}"
    assert abs(_db(got[mask]) - _db(clean[mask])) <= 4.0

    resp = await alice.call("post", "/api/streams/stop/")
    assert resp.status_code == 200
    rec = await StreamRecording.objects.aget(pk=resp.json()["recording_id"])
    path = django_settings.MEDIA_ROOT / rec.file.name
    audio, rate = sf.read(path, dtype="float32")
    assert rate == 48_000
    assert abs(rec.duration - len(audio) / rate) < 0.01
    assert rec.duration >= 7.0
    # The recording is the cleaned signal, too.
    rec_aligned = _align(noisy, audio)
    assert _db(noisy[quiet]) - _db(rec_aligned[quiet]) >= 15.0
