"""Storage figures for recordings: WAV vs FLAC vs Opus size, encode time, Range cost.

Usage: python bench/recording_storage.py [--seconds 60] [--model dfn3]

Builds a live-like recording from shared/audio: the speech files end to end
(with the pauses between them) mixed with a noise file at 10 dB SNR, 48 kHz
mono, 16 bit. The "raw" track is that mixture, the "cleaned" track the
engine's output. Prints the stored size per minute in each format, the time
to encode a finished spool WAV to FLAC (what a stream's end costs), and the
time to serve a 256 KB WAV byte range from the FLAC (what a seek costs).
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from denoise import create_denoiser  # noqa: E402
from denoise.audiofile import read_audio  # noqa: E402
from denoise.frames import resample  # noqa: E402
from recordings.audio import WavRenderer, encode_flac, peaks  # noqa: E402

SHARED = ROOT.parent / "shared" / "audio"
SR = 48_000


def mixture(seconds: float) -> np.ndarray:
    speech = []
    for path in sorted((SHARED / "speech").glob("*.wav")):
        audio, rate = read_audio(path)
        speech += [resample(audio.mean(axis=1), rate, SR), np.zeros(SR // 2, np.float32)]
    clean = np.concatenate(speech)
    clean = np.tile(clean, int(np.ceil(seconds * SR / clean.size)))[: int(seconds * SR)]
    noise_audio, rate = read_audio(sorted((SHARED / "noise").glob("*.wav"))[0])
    noise = resample(noise_audio.mean(axis=1), rate, SR)
    noise = np.tile(noise, int(np.ceil(clean.size / noise.size)))[: clean.size]
    gain = np.sqrt(np.mean(clean**2) / np.mean(noise**2) / 10 ** (10 / 10))
    mix = clean + gain * noise
    return (mix / max(1.0, float(np.abs(mix).max()) / 0.9)).astype(np.float32)


def encoded_size(audio: np.ndarray, fmt: str, subtype: str) -> int:
    buf = io.BytesIO()
    sf.write(buf, audio, SR, format=fmt, subtype=subtype)
    return len(buf.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--model", default="dfn3")
    args = parser.parse_args()
    raw = mixture(args.seconds)
    den = create_denoiser(args.model)
    cleaned = np.concatenate((den.process(raw), den.flush()))[den.latency_samples :][: raw.size]
    den.close()
    minutes = args.seconds / 60
    print(f"{args.seconds:.0f} s of speech + noise (10 dB SNR), 48 kHz mono; model {args.model}")
    print("| track | WAV 16-bit | FLAC 16-bit | FLAC/WAV | Opus 48 kHz (libsndfile default) |")
    print("|---|---|---|---|---|")
    for name, audio in (("raw", raw), ("cleaned", cleaned)):
        wav = encoded_size(audio, "WAV", "PCM_16")
        flac = encoded_size(audio, "FLAC", "PCM_16")
        opus = encoded_size(audio, "OGG", "OPUS")
        print(
            f"| {name} | {wav / minutes / 1e6:.2f} MB/min | {flac / minutes / 1e6:.2f} MB/min "
            f"| {flac / wav:.2f} | {opus / minutes / 1e6:.2f} MB/min |"
        )
    with tempfile.TemporaryDirectory() as tmp:
        wav_path, flac_path = Path(tmp) / "spool.wav", Path(tmp) / "stored.flac"
        sf.write(wav_path, cleaned, SR, subtype="PCM_16")
        t0 = time.perf_counter()
        encode_flac(wav_path, flac_path)
        enc = time.perf_counter() - t0
        renderer = WavRenderer(flac_path)
        rng = np.random.default_rng(0)
        offsets = rng.integers(44, renderer.size - 262_144, 50)
        t0 = time.perf_counter()
        for off in offsets:
            renderer.read(int(off), 262_144)
        seek = (time.perf_counter() - t0) / len(offsets)
        renderer.close()
        t0 = time.perf_counter()
        peaks(flac_path, 1000)
        pk = time.perf_counter() - t0
    print(f"encode spool WAV -> FLAC: {enc:.2f} s ({enc / minutes:.2f} s per minute of audio)")
    print(f"serve a 256 KB WAV range from FLAC (random offset): {seek * 1000:.1f} ms")
    print(f"waveform peaks (1000 buckets, both tracks need 2x): {pk * 1000:.0f} ms")


if __name__ == "__main__":
    main()
