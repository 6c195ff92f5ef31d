"""Reproducible test audio at 48 kHz, generated on the fly (no files from shared/).

``noisy_speech`` is shared by the engine tests and the live-stream tests.
Speech comes from Debian's ``espeak-ng`` when installed (22.05 kHz, resampled
to 48 kHz); otherwise a vowel-like harmonic signal with a syllable rhythm
stands in. Noise is pink + brown noise plus 50 Hz mains hum with harmonics.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

SR = 48_000
SENTENCES = (
    "The birch canoe slid on the smooth planks.",
    "Glue the sheet to the dark blue background.",
    "It is easy to tell the depth of a well.",
    "These days a chicken leg is a rare dish.",
    "Rice is often served in round bowls.",
    "The juice of lemons makes fine punch.",
)
GAP_S = 0.6  # noise-only pause between sentences


@functools.cache
def _espeak(text: str) -> np.ndarray | None:
    exe = shutil.which("espeak-ng")
    if exe is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "s.wav"
        subprocess.run([exe, "-w", str(wav), text], check=True, capture_output=True)
        x, sr = sf.read(str(wav), dtype="float32")
    return np.asarray(soxr.resample(x, sr, SR), dtype=np.float32)


def _harmonic_speech(seconds: float, rng: np.random.Generator) -> np.ndarray:
    """Fallback 'speech': gliding harmonic voice at ~4 syllables/s."""
    t = np.arange(int(seconds * SR)) / SR
    f0 = 140 + 30 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / SR
    voice = sum(np.sin(k * phase) / k for k in range(1, 25))
    syll = np.clip(np.sin(2 * np.pi * 2 * t), 0, None) ** 2
    return (voice * syll).astype(np.float32)


def _speech(seconds: float, seed: int) -> np.ndarray:
    n = int(seconds * SR)
    rng = np.random.default_rng(seed)
    out = np.zeros(n, np.float32)
    pos = int(GAP_S * SR)
    order = rng.permutation(len(SENTENCES))
    i = 0
    while pos < n:
        utt = _espeak(SENTENCES[order[i % len(order)]])
        seg = _harmonic_speech(min(2.0, (n - pos) / SR), rng) if utt is None else utt
        seg = seg[: n - pos]
        out[pos : pos + len(seg)] = seg
        pos += len(seg) + int(GAP_S * SR)
        i += 1
    peak = np.abs(out).max()
    return out / peak * 0.5 if peak > 0 else out


def _colored(n: int, rng: np.random.Generator, exponent: float) -> np.ndarray:
    """Noise with power spectrum ~ 1/f**exponent (1 = pink, 2 = brown) above 80 Hz.

    Below 80 Hz the spectrum is rolled off like a microphone's low cut (and
    browsers' capture filters); sub-audio rumble is not what users hear.
    """
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / SR)
    f[0] = f[1]
    low_cut = 1 / (1 + (80 / f) ** 4)  # 2nd-order high-pass magnitude squared
    x = np.fft.irfft(spec * np.sqrt(low_cut) / f ** (exponent / 2), n)
    return x / np.sqrt(np.mean(x**2))


def make_noise(n: int, seed: int) -> np.ndarray:
    """Unit-RMS pink + brown noise + 50 Hz hum (with harmonics)."""
    rng = np.random.default_rng(seed + 1000)
    t = np.arange(n) / SR
    hum = sum(np.sin(2 * np.pi * 50 * k * t + k) / k for k in (1, 2, 3, 5))
    x = _colored(n, rng, 1.0) + 0.5 * _colored(n, rng, 2.0) + 0.3 * hum
    return (x / np.sqrt(np.mean(x**2))).astype(np.float32)


def speech_mask(clean: np.ndarray, frame: int = 480, floor_db: float = -40.0) -> np.ndarray:
    """Per-sample bool: inside a 10 ms frame whose energy is within ``floor_db`` of the loudest."""
    n = len(clean) // frame * frame
    e = np.mean(clean[:n].reshape(-1, frame) ** 2, axis=1) + 1e-12
    active = 10 * np.log10(e / e.max()) > floor_db
    mask = np.repeat(active, frame)
    return np.concatenate((mask, np.zeros(len(clean) - n, bool)))


def noisy_speech(
    seconds: float = 6.0, snr_db: float = 5.0, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(clean, noise, noisy, speech_mask)``, float32 mono at 48 kHz.

    ``snr_db`` is active-speech power over noise power; ``noisy = clean + noise``
    and peaks stay below 1.0. The first 0.6 s and the gaps are noise only.
    """
    clean = _speech(seconds, seed)
    mask = speech_mask(clean)
    p_speech = float(np.mean(clean[mask] ** 2))
    noise = make_noise(len(clean), seed) * np.float32(np.sqrt(p_speech / 10 ** (snr_db / 10)))
    noisy = clean + noise
    peak = float(np.abs(noisy).max())
    if peak > 0.95:
        g = np.float32(0.95 / peak)
        clean, noise, noisy = clean * g, noise * g, noisy * g
    return clean.astype(np.float32), noise.astype(np.float32), noisy.astype(np.float32), mask
