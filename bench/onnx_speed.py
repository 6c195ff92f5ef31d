"""ONNX backend speed and memory: RTF per stream on one thread, MB per stream, load time.

Usage: python bench/onnx_speed.py [--models dfn2,dfn2-ll,dfn3-onnx] [--seconds 10]
                                  [--streams 100] [--repeats 3]

For each model: load time and RSS growth of the shared sessions; real-time
factor of one stream fed 20 ms packets on this thread (median of --repeats
runs; p50/p99 of single 10 ms hops); RSS growth per extra stream after
--streams streams have each processed one second. Everything runs on one
thread (ONNX Runtime intra/inter-op threads are 1 by design), so the RTF is
the fraction of one core a live stream needs.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.proc import rss_mb
from denoise import check_model, create_denoiser
from denoise.constants import HOP_SAMPLES, PACKET_SAMPLES, SAMPLE_RATE
from tests.audio_fixtures import noisy_speech


def stream_rtf(model: str, audio: np.ndarray) -> float:
    """Wall time / audio time for one stream fed 20 ms packets."""
    d = create_denoiser(model)
    d.process(audio[: PACKET_SAMPLES * 10])  # warm-up (first runs allocate)
    t0 = time.perf_counter()
    for i in range(0, len(audio) - PACKET_SAMPLES + 1, PACKET_SAMPLES):
        d.process(audio[i : i + PACKET_SAMPLES])
    wall = time.perf_counter() - t0
    d.close()
    return wall / (len(audio) / SAMPLE_RATE)


def hop_ms(model: str, audio: np.ndarray) -> list[float]:
    """Per-hop backend time in ms (no Denoiser buffering around it)."""
    backend = check_model(model).new_backend()
    times = []
    for i in range(0, len(audio) - HOP_SAMPLES + 1, HOP_SAMPLES):
        hop = np.ascontiguousarray(audio[i : i + HOP_SAMPLES])
        t0 = time.perf_counter()
        backend.process_hop(hop)
        times.append((time.perf_counter() - t0) * 1e3)
    return times


def per_stream_mb(model: str, audio: np.ndarray, n: int) -> tuple[float, float]:
    """(RSS growth, Python/numpy heap growth) per stream, in MB, with ``n`` live
    streams that each ran one second. RSS is coarse (the allocator reuses freed
    pages), so the traced heap, which counts numpy buffers, is printed too."""
    gc.collect()
    base = rss_mb()
    tracemalloc.start()
    heap0 = tracemalloc.get_traced_memory()[0]
    streams = [create_denoiser(model) for _ in range(n)]
    for d in streams:
        d.process(audio[:SAMPLE_RATE])
    gc.collect()
    heap = tracemalloc.get_traced_memory()[0] - heap0
    tracemalloc.stop()
    grown = rss_mb() - base
    for d in streams:
        d.close()
    return grown / n, heap / n / 2**20


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="dfn2,dfn2-ll,dfn3-onnx")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--streams", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    _, _, audio, _ = noisy_speech(seconds=args.seconds, snr_db=5.0, seed=7)
    print(f"{args.seconds:g} s noisy speech, 20 ms packets, one thread")
    print(
        "| model | load s | shared MB | RTF/stream | hop p50 ms | hop p99 ms "
        "| MB/stream (RSS) | MB/stream (heap) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for model in args.models.split(","):
        before = rss_mb()
        t0 = time.perf_counter()
        check_model(model)
        load_s = time.perf_counter() - t0
        shared = rss_mb() - before
        rtfs = [stream_rtf(model, audio) for _ in range(args.repeats)]
        hops = sorted(hop_ms(model, audio))
        p50, p99 = hops[len(hops) // 2], hops[int(len(hops) * 0.99)]
        rss, heap = per_stream_mb(model, audio, args.streams)
        print(
            f"| {model} | {load_s:.2f} | {shared:.0f} | {statistics.median(rtfs):.3f} "
            f"| {p50:.2f} | {p99:.2f} | {rss:.3f} | {heap:.3f} |"
        )


if __name__ == "__main__":
    main()
