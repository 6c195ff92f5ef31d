"""A batch's 20 ms packets in one network run (spans) against one run per hop.

Usage: python bench/span_speed.py [--model dfn3-onnx] [--streams 1,2,4,8] [--packets 150]
                                  [--rounds 2]

Runs N streams' packets (two 10 ms hops each) through the engine core
(``onnx.core.StreamCore.run_batch``, what one ``BatchScheduler`` batch
executes), on this thread, two ways in the same process: ``hop`` advances the
batch hop by hop (``use_spans = False``: two runs of each network per packet),
``span`` advances each stream by both hops in one run. Prints the median
thread CPU time per stream per hop, with warm caches (packets back to back) and
cold ones (64 MB written between packets, as on a live server where the event
loop, the codecs and the other streams run between two batches). A batch of one
takes the lone-stream lane either way.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.proc import CacheEvictor
from denoise import check_model
from denoise.backends.onnx.core import StreamCore, core_for
from denoise.constants import HOP_SAMPLES
from tests.audio_fixtures import noisy_speech

PACKET_HOPS = 2


def per_hop_us(
    core: StreamCore, packets: np.ndarray, n: int, count: int, spans: bool, cold: bool
) -> float:
    """Median thread CPU microseconds per stream per hop over ``count`` batches of ``n``."""
    evict = CacheEvictor(cold)
    states = [core.new_state() for _ in range(n)]
    times = []
    core.use_spans = spans
    try:
        for k in range(count + 10):
            evict()
            items = [(s, packets[(k + 37 * i) % len(packets)], False) for i, s in enumerate(states)]
            t0 = time.thread_time()
            core.run_batch(items)
            if k >= 10:  # the first batches warm up ONNX Runtime's allocations
                times.append(time.thread_time() - t0)
    finally:
        core.use_spans = True
    return float(np.median(times)) * 1e6 / (n * PACKET_HOPS)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="dfn3-onnx")
    ap.add_argument("--streams", default="1,2,4,8")
    ap.add_argument("--packets", type=int, default=150)
    ap.add_argument("--rounds", type=int, default=2, help="best of this many runs per figure")
    args = ap.parse_args()
    core = core_for(check_model(args.model).model)  # type: ignore[attr-defined]
    core.prepare_batch()
    audio = noisy_speech(seconds=8.0, snr_db=5.0, seed=0)[2]
    usable = audio.size // (HOP_SAMPLES * PACKET_HOPS) * HOP_SAMPLES * PACKET_HOPS
    packets = audio[:usable].reshape(-1, PACKET_HOPS, HOP_SAMPLES).astype(np.float32)
    print(f"model={args.model} packets={args.packets} rounds={args.rounds}")
    print("| caches | streams | hop by hop (us/stream/hop) | span | span / hop |")
    print("|---|---|---|---|---|")
    for cold in (True, False):
        for n in (int(s) for s in args.streams.split(",")):
            best: dict[bool, float] = {}
            for _ in range(args.rounds):  # interleaved, so drift weighs on both alike
                for spans in (False, True):
                    us = per_hop_us(core, packets, n, args.packets, spans, cold)
                    best[spans] = min(best.get(spans, us), us)
            print(
                f"| {'cold' if cold else 'warm'} | {n} | {best[False]:.0f} | {best[True]:.0f} "
                f"| {best[True] / best[False]:.2f} |"
            )


if __name__ == "__main__":
    main()
