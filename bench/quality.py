"""Speech quality of the engine vs. the noisy input and RNNoise, one table from one run.

Usage: python bench/quality.py [--models dfn3[,dfn2,...]] [--snrs 0,5,10] [--pairs N]

Mixes every speech file in shared/audio/speech with one noise file from
shared/audio/noise (cycled; random excerpt, seeded) at each SNR, processes the
mixture at 48 kHz and scores against the clean speech at 16 kHz: PESQ (P.862.2
wide band), STOI, SI-SDR (dB) and DNSMOS P.835 (OVRL/SIG/BAK, non-intrusive).
Columns are systems: "noisy", every registry model named in --models, and
"rnnoise" (pyrnnoise) as the baseline. Every output is delay-aligned to the
clean reference by cross-correlation before scoring; the lags found are printed.
"""

from __future__ import annotations

import argparse
import ctypes
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from denoise import create_denoiser  # noqa: E402
from denoise.audiofile import read_audio  # noqa: E402
from denoise.frames import resample  # noqa: E402

SHARED = ROOT.parent / "shared" / "audio"
SR, METRIC_SR = 48_000, 16_000
System = Callable[[np.ndarray], np.ndarray]


def engine(model: str) -> System:
    """A registry model; output is delay-compensated by the reported latency."""

    def run(x: np.ndarray) -> np.ndarray:
        d = create_denoiser(model)
        y = np.concatenate((d.process(x), d.flush()))
        d.close()
        return y[d.latency_samples : d.latency_samples + len(x)]

    return run


def rnnoise() -> System:
    """RNNoise (pyrnnoise's bundled librnnoise), 480-sample frames at 48 kHz, s16 scale."""
    from pyrnnoise import rnnoise as rn

    def run(x: np.ndarray) -> np.ndarray:
        st = rn.create()
        n = len(x) // 480 * 480
        y = np.zeros(len(x), np.float32)
        buf = np.empty(480, np.float32)
        for i in range(0, n, 480):
            buf[:] = x[i : i + 480] * 32768.0
            ptr = buf.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
            rn.lib.rnnoise_process_frame(st, ptr, ptr)  # in place
            y[i : i + 480] = buf / 32768.0
        rn.destroy(st)
        return y

    return run


def align(ref: np.ndarray, y: np.ndarray, max_lag: int = 4000) -> tuple[np.ndarray, int]:
    """Shift ``y`` by the lag (0..max_lag samples late) that best matches ``ref``."""
    n = len(ref)
    spec = np.fft.rfft(y, 2 * n) * np.conj(np.fft.rfft(ref, 2 * n))
    xc = np.fft.irfft(spec, 2 * n)[: max_lag + 1]
    lag = int(np.argmax(xc))
    return np.concatenate((y[lag:], np.zeros(lag, np.float32))), lag


def si_sdr(ref: np.ndarray, est: np.ndarray) -> float:
    ref = ref - ref.mean()
    est = est - est.mean()
    target = np.dot(est, ref) / np.dot(ref, ref) * ref
    return float(10 * np.log10(np.sum(target**2) / (np.sum((est - target) ** 2) + 1e-12)))


def scores(clean16: np.ndarray, y16: np.ndarray) -> dict[str, float]:
    from pesq import pesq
    from pystoi import stoi
    from speechmos import dnsmos

    peak = max(1.0, float(np.abs(y16).max()))
    mos = dnsmos.run(y16 / peak, METRIC_SR)
    return {
        "PESQ": float(pesq(METRIC_SR, clean16, y16, "wb")),
        "STOI": float(stoi(clean16, y16, METRIC_SR, extended=False)),
        "SI-SDR": si_sdr(clean16, y16),
        "OVRL": float(mos["ovrl_mos"]),
        "SIG": float(mos["sig_mos"]),
        "BAK": float(mos["bak_mos"]),
    }


def load48(path: Path) -> np.ndarray:
    data, rate = read_audio(path)
    return resample(data.mean(axis=1), rate, SR)


def mixtures(snrs: list[float], pairs: int | None, seed: int = 0):
    speech = sorted((SHARED / "speech").glob("*.wav"))[:pairs]
    noises = [load48(p) for p in sorted((SHARED / "noise").glob("*.wav"))]
    rng = np.random.default_rng(seed)
    for i, sp in enumerate(speech):
        clean = load48(sp)
        noise_all = noises[i % len(noises)]
        if len(noise_all) < len(clean):
            noise_all = np.tile(noise_all, len(clean) // len(noise_all) + 1)
        off = int(rng.integers(0, len(noise_all) - len(clean) + 1))
        noise = noise_all[off : off + len(clean)]
        for snr in snrs:
            g = np.sqrt(np.mean(clean**2) / (np.mean(noise**2) * 10 ** (snr / 10)))
            noisy = clean + g * noise
            scale = min(1.0, 0.9 / float(np.abs(noisy).max()))
            yield (
                sp.stem,
                snr,
                (clean * scale).astype(np.float32),
                (noisy * scale).astype(np.float32),
            )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--models",
        default="dfn3,dfn2,dfn2-ll,dfn3-onnx",  # native + ONNX backend (issue 4) columns
        help="comma-separated registry names",
    )
    ap.add_argument("--snrs", default="0,5,10")
    ap.add_argument("--pairs", type=int, default=None, help="use only the first N speech files")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    snrs = [float(s) for s in args.snrs.split(",")]
    systems: dict[str, System] = {"noisy": lambda x: x}
    systems |= {m: engine(m) for m in args.models.split(",") if m}
    systems["rnnoise"] = rnnoise()
    results: dict[tuple[str, float], list[dict[str, float]]] = {}
    lags: dict[str, set[int]] = {name: set() for name in systems}
    proc_s: dict[str, float] = dict.fromkeys(systems, 0.0)
    audio_s = 0.0
    t_start = time.perf_counter()
    for _name, snr, clean, noisy in mixtures(snrs, args.pairs):
        clean16 = resample(clean, SR, METRIC_SR)
        audio_s += len(clean) / SR
        for sys_name, fn in systems.items():
            t0 = time.perf_counter()
            y = fn(noisy)
            proc_s[sys_name] += time.perf_counter() - t0
            y, lag = align(clean, y)
            lags[sys_name].add(lag)
            results.setdefault((sys_name, snr), []).append(
                scores(clean16, resample(y, SR, METRIC_SR))
            )
    n_items = len(results[("noisy", snrs[0])])
    print(
        f"{n_items} speech files x {len(snrs)} SNRs, {audio_s:.0f} s of audio, "
        f"{time.perf_counter() - t_start:.0f} s wall"
    )
    for sys_name in systems:
        print(
            f"  {sys_name}: alignment lags found {sorted(lags[sys_name])}, "
            f"processing RTF {proc_s[sys_name] / audio_s:.3f}"
        )
    metrics = ["PESQ", "STOI", "SI-SDR", "OVRL", "SIG", "BAK"]
    print()
    print("| system | SNR in | " + " | ".join(metrics) + " |")
    print("|---|---|" + "---|" * len(metrics))
    for sys_name in systems:
        rows = [(f"{snr:g} dB", results[(sys_name, snr)]) for snr in snrs]
        rows.append(("all", [r for snr in snrs for r in results[(sys_name, snr)]]))
        for label, rs in rows:
            cells = [f"{np.mean([r[m] for r in rs]):.2f}" for m in metrics]
            print(f"| {sys_name} | {label} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
