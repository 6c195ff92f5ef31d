"""End to end over WebRTC: the listener hears the broadcaster's voice with the noise removed."""

import numpy as np
import pytest
import soundfile as sf
from django.conf import settings as django_settings
from scipy.ndimage import binary_dilation

from recordings.models import StreamRecording
from tests.audio_fixtures import noisy_speech
from tests.live.conftest import ArrayTrack, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.model]

FRAME = 480


def _env(x: np.ndarray) -> np.ndarray:
    n = len(x) // FRAME * FRAME
    return np.sqrt(np.mean(x[:n].reshape(-1, FRAME).astype(np.float64) ** 2, axis=1) + 1e-12)


def _lag(ref_env: np.ndarray, got_env: np.ndarray, candidates) -> int:
    best, lag = -np.inf, 0
    for k in candidates:
        seg = got_env[k : k + len(ref_env)]
        if k < 0 or len(seg) < len(ref_env) // 2:
            continue
        c = np.corrcoef(seg, ref_env[: len(seg)])[0, 1]
        if c > best:
            best, lag = c, k
    return lag


def _align(reference: np.ndarray, received: np.ndarray, block_s: float = 1.0) -> np.ndarray:
    """``received`` lined up with ``reference``, one block at a time (10 ms envelopes).

    A WebRTC receiver may drop or conceal a packet under load, which shifts the
    rest of the stream by 20 ms; so after a global lag, each ``block_s`` block
    is re-aligned within +-150 ms of it.
    """
    ref, got = np.log(_env(reference)), np.log(_env(received))
    lag = _lag(ref, got, range(0, max(1, len(got) - len(ref) // 2)))
    per_block = int(block_s * 1000 / 10)
    out = np.zeros_like(reference)
    for start in range(0, len(ref), per_block):
        block = ref[start : start + per_block]
        base = lag + start
        k = _lag(block, got, range(base - 15, base + 16))
        n = min(len(block) * FRAME, len(received) - k * FRAME, len(reference) - start * FRAME)
        if n > 0:
            out[start * FRAME : start * FRAME + n] = received[k * FRAME : k * FRAME + n]
    return out


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
