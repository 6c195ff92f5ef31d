"""ONNX backend speed and memory: RTF per stream on one thread, MB per stream, load time.

Usage: python bench/onnx_speed.py [--models dfn2,dfn2-ll,dfn3-onnx] [--seconds 10]
                                  [--streams 100] [--repeats 3] [--batch-sizes 1,4,16,32,64]
                                  [--ab]

For each model: load time and RSS growth of the shared sessions; real-time
factor of one stream fed 20 ms packets on this thread (median of --repeats
runs; p50/p99 of single 10 ms hops); RSS growth per extra stream after
--streams streams have each processed one second. Everything runs on one
thread (ONNX Runtime intra/inter-op threads are 1 by design), so the RTF is
the fraction of one core a live stream needs. RTFs are CPU time of this thread
(the machine is shared; wall time is printed alongside).

The second table runs the batched engine core (``onnx.core.StreamCore``, what a
``BatchScheduler`` batch executes) directly on N streams at once, one thread:
CPU time per stream per hop and the resulting RTF per stream (N = 1 is the
lone-stream fast path, ``onnx.lane``). ``--ab`` times that fast path against
the vectorised code at N = 1, interleaved in one process.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.engine_speed import rtf
from bench.proc import rss_mb
from denoise import check_model, create_denoiser
from denoise.backends.onnx.core import core_for
from denoise.constants import HOP_SAMPLES, SAMPLE_RATE
from tests.audio_fixtures import noisy_speech


def stream_rtf(model: str, audio: np.ndarray) -> tuple[float, float]:
    """(CPU time, wall time) / audio time for one stream fed 20 ms packets."""
    wall, cpu = rtf(model, audio)
    return cpu, wall


def batch_us(model: str, audio: np.ndarray, n: int, hops: int = 300) -> float:
    """CPU microseconds per stream per hop when the core runs ``n`` streams per call."""
    core = core_for(check_model(model).model)  # type: ignore[attr-defined]
    core.prepare_batch()
    states = [core.new_state() for _ in range(n)]
    frames = audio[: audio.size // HOP_SAMPLES * HOP_SAMPLES].reshape(-1, HOP_SAMPLES)
    offsets = np.arange(n) * 37
    batches = [frames[(offsets + k) % len(frames)] for k in range(20 + max(30, hops // n))]
    for b in batches[:20]:
        core.process(states, b)
    c0 = time.thread_time()
    for b in batches[20:]:
        core.process(states, b)
    return (time.thread_time() - c0) / (len(batches) - 20) / n * 1e6


def lane_ab(model: str, audio: np.ndarray, rounds: int = 6) -> tuple[float, float]:
    """CPU us per hop of one stream: (lane fast path, vectorised path at N = 1).

    Interleaved in blocks of 100 hops on the same sessions, so load from other
    processes hits both alike.
    """
    core = core_for(check_model(model).model)  # type: ignore[attr-defined]
    frames = audio[: audio.size // HOP_SAMPLES * HOP_SAMPLES].reshape(-1, HOP_SAMPLES)
    fast, ref = core.new_state(), core.new_state()
    spent = [0, 0]
    for r in range(rounds + 1):
        for i in range(0, len(frames), 100):
            block = frames[i : i + 100]
            c0 = time.thread_time_ns()
            for hop in block:
                core.process_one(fast, hop)
            c1 = time.thread_time_ns()
            for hop in block:
                core.process_batch([ref], hop[None])
            c2 = time.thread_time_ns()
            if r:  # round 0 warms up
                spent[0] += c1 - c0
                spent[1] += c2 - c1
    hops = rounds * len(frames)
    return spent[0] / hops / 1e3, spent[1] / hops / 1e3


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
    ap.add_argument("--batch-sizes", default="1,4,16,32,64")
    ap.add_argument("--ab", action="store_true", help="also A/B the lone-stream fast path")
    args = ap.parse_args()
    _, _, audio, _ = noisy_speech(seconds=args.seconds, snr_db=5.0, seed=7)
    print("load average at start: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    print(f"{args.seconds:g} s noisy speech, 20 ms packets, one thread")
    print(
        "| model | load s | shared MB | RTF/stream CPU (wall) | hop p50 ms | hop p99 ms "
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
        cpu_rtf = statistics.median(r[0] for r in rtfs)
        wall_rtf = statistics.median(r[1] for r in rtfs)
        hops = sorted(hop_ms(model, audio))
        p50, p99 = hops[len(hops) // 2], hops[int(len(hops) * 0.99)]
        rss, heap = per_stream_mb(model, audio, args.streams)
        print(
            f"| {model} | {load_s:.2f} | {shared:.0f} | {cpu_rtf:.3f} ({wall_rtf:.3f}) "
            f"| {p50:.2f} | {p99:.2f} | {rss:.3f} | {heap:.3f} |"
        )
    if args.ab:
        print("\none stream, CPU us per hop: lane fast path vs vectorised path at N=1 (A/B)")
        print("| model | lane | vectorised N=1 | ratio |")
        print("|---|---|---|---|")
        for model in args.models.split(","):
            lane, vec = lane_ab(model, audio)
            print(f"| {model} | {lane:.0f} | {vec:.0f} | {lane / vec:.2f} |")
    sizes = [int(n) for n in args.batch_sizes.split(",") if n]
    if sizes:
        print("\nbatched core, one thread: CPU us per stream per hop (RTF per stream)")
        print("| model | " + " | ".join(f"N={n}" for n in sizes) + " |")
        print("|---|" + "---|" * len(sizes))
        for model in args.models.split(","):
            cells = []
            for n in sizes:
                us = batch_us(model, audio, n)
                cells.append(f"{us:.0f} ({us / 1e4:.3f})")
            print(f"| {model} | " + " | ".join(cells) + " |")
    print("load average at end: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
