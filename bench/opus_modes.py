"""The listeners' Opus encoder: CPU per packet, algorithmic delay and quality, per mode.

Usage::

    .venv/bin/python bench/opus_modes.py [--speech ../shared/audio/speech] [--files 8]

Encodes real speech (48 kHz mono, the engine's output format) the way
:class:`streams.webrtc.fanout.OpusPacketizer` does (64 kbit/s mono), once per
``application`` (``voip``: SILK/hybrid for speech; ``lowdelay``: CELT only, the
smallest look-ahead; ``audio``) and packet size, decodes it as a browser would, and
prints for each: encoder CPU per 20 ms of audio (thread CPU time), the delay the
codec adds (cross-correlation lag of decoded against input), and wide-band PESQ of
the decoded speech against the input (both at 16 kHz, delay-aligned).
"""

from __future__ import annotations

import argparse
import fractions
import sys
import time
from pathlib import Path

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from denoise.audiofile import read_audio
from denoise.frames import resample

RATE = 48_000
TB = fractions.Fraction(1, RATE)


def roundtrip(
    x: np.ndarray, application: str, frame_ms: int, complexity: int = 10
) -> tuple[np.ndarray, float]:
    """(decoded audio, encoder CPU seconds) for float mono ``x``."""
    enc = av.CodecContext.create("libopus", "w")
    assert isinstance(enc, av.AudioCodecContext)
    enc.bit_rate, enc.format, enc.layout, enc.sample_rate = 64_000, "s16", "mono", RATE
    enc.time_base = TB
    enc.options = {
        "application": application,
        "frame_duration": str(frame_ms),
        "compression_level": str(complexity),  # libopus' complexity, 0-10 (default 10)
    }
    dec = av.CodecContext.create("libopus", "r")
    assert isinstance(dec, av.AudioCodecContext)
    dec.options = {"request_sample_fmt": "flt"}
    dec.layout, dec.sample_rate = "mono", RATE
    n = RATE * frame_ms // 1000
    s16 = np.clip(x * 32768, -32768, 32767).astype(np.int16)
    cpu = 0.0
    out: list[np.ndarray] = []
    for pos in range(0, s16.size - n + 1, n):
        frame = av.AudioFrame.from_ndarray(s16[None, pos : pos + n], format="s16", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = RATE, pos, TB
        t0 = time.thread_time()
        packets = list(enc.encode(frame))
        cpu += time.thread_time() - t0
        for p in packets:
            out += [f.to_ndarray()[0] for f in dec.decode(av.Packet(bytes(p)))]
    return np.concatenate(out), cpu


def lag_of(ref: np.ndarray, y: np.ndarray, max_lag: int = 960) -> int:
    m = min(ref.size, y.size) - max_lag
    scores = [float(np.dot(ref[:m], y[k : k + m])) for k in range(max_lag)]
    return int(np.argmax(scores))


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--speech", type=Path, default=Path("../shared/audio/speech"))
    ap.add_argument("--files", type=int, default=8)
    ap.add_argument("--complexities", default="8,5,3,0",
                    help="lowdelay encoder complexities to compare with the default 10")  # fmt: skip
    args = ap.parse_args()
    args.complexities = [int(c) for c in args.complexities.split(",") if c]
    from pesq import pesq  # requirements-bench.txt

    files = sorted(args.speech.glob("*.wav"))[: args.files]
    clips = []
    for f in files:
        data, rate = read_audio(f)
        clips.append(resample(data.mean(axis=1), rate, RATE).astype(np.float32))
    print(f"{len(clips)} speech files, {sum(c.size for c in clips) / RATE:.1f} s")
    print("| application | complexity | packet ms | encode CPU per 20 ms | codec delay ms "
          "| PESQ (WB) |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    modes = [(a, 10) for a in ("voip", "audio", "lowdelay")]
    modes += [("lowdelay", c) for c in args.complexities]
    for application, complexity in modes:
        for frame_ms in (20, 10):
            cpu = audio_s = 0.0
            lags, scores = [], []
            for x in clips:
                x = (0.5 * x / max(1e-6, float(np.abs(x).max()))).astype(np.float32)
                y, c = roundtrip(x, application, frame_ms, complexity)
                cpu += c
                audio_s += y.size / RATE
                lag = lag_of(x, y)
                lags.append(lag)
                m = min(x.size, y.size - lag)
                ref16 = resample(x[:m], RATE, 16_000)
                y16 = resample(y[lag : lag + m], RATE, 16_000)
                scores.append(pesq(16_000, ref16, y16, "wb"))
            per20 = 1e6 * cpu / (audio_s / 0.02)
            print(f"| {application} | {complexity} | {frame_ms} | {per20:.0f} us | "
                  f"{1000 * np.median(lags) / RATE:.1f} | {np.mean(scores):.2f} |")  # fmt: skip


if __name__ == "__main__":
    main()
