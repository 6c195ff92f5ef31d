"""Engine speed: real-time factor, concurrent real-time streams, memory, load time.

Usage: python bench/engine_speed.py [--model dfn3] [--seconds 4] [--workers 2]
                                    [--batch [--max-wait-ms 4]] [--cold]

Prints one line per figure. Streams are simulated like the live path: every
stream gets a 20 ms packet (two 10 ms hops) every 20 ms, staggered in phase,
and its packets are processed in order on a ThreadPoolExecutor. A packet is
late if it is finished more than 20 ms after it arrived (the next one is due).

``--batch`` (ONNX models): all streams share one ``BatchScheduler`` with
``--workers`` worker threads, and, as on the live server, one asyncio loop
awaits every stream's packets (``Denoiser.process_async``): no thread per
stream. ``--workers`` is the CPU parallelism, as without batching. The CPU time of the whole process during the
run is printed per stream as a real-time factor.
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import os
import sys
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.proc import rss_mb
from denoise import BatchScheduler, check_model, create_denoiser
from denoise.base import Denoiser
from denoise.constants import PACKET_SAMPLES, SAMPLE_RATE
from tests.audio_fixtures import noisy_speech

PACKET_S = PACKET_SAMPLES / SAMPLE_RATE


def threads() -> int:
    return len(os.listdir("/proc/self/task"))


def rtf(model: str, audio: np.ndarray) -> tuple[float, float]:
    """(wall-clock RTF, CPU-time RTF) of one stream fed 20 ms packets on this thread.

    CPU time of this thread is what the stream costs; wall time also contains
    whatever other processes on the shared machine took from us.
    """
    d = create_denoiser(model)
    d.process(audio[: PACKET_SAMPLES * 10])  # warm-up
    t0, c0 = time.perf_counter(), time.thread_time()
    for i in range(0, len(audio) - PACKET_SAMPLES + 1, PACKET_SAMPLES):
        d.process(audio[i : i + PACKET_SAMPLES])
    wall, cpu = time.perf_counter() - t0, time.thread_time() - c0
    d.close()
    seconds = len(audio) / SAMPLE_RATE
    return wall / seconds, cpu / seconds


def throughput(
    model: str,
    audio: np.ndarray,
    workers: int,
    seconds: float,
    scheduler: BatchScheduler | None = None,
) -> tuple[float, float]:
    """Audio seconds processed per wall second and per CPU second, ``workers`` threads busy.

    Each worker drives its own stream back to back; no deadlines. The first
    number is the real-time stream capacity if nothing else ran on the machine
    only when the second one times the core count agrees with it. With a
    scheduler, ``workers`` is the number of streams (threads) feeding it.
    """
    streams = [create_denoiser(model, scheduler=scheduler) for _ in range(workers)]
    done = [0] * workers
    stop = time.perf_counter() + seconds

    def work(w: int) -> None:
        k = 0
        while time.perf_counter() < stop:
            off = (k * PACKET_SAMPLES) % (len(audio) - PACKET_SAMPLES)
            streams[w].process(audio[off : off + PACKET_SAMPLES])
            done[w] += PACKET_SAMPLES
            k += 1

    t0, c0 = time.perf_counter(), time.process_time()
    threads_ = [threading.Thread(target=work, args=(w,)) for w in range(workers)]
    for t in threads_:
        t.start()
    for t in threads_:
        t.join()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    for d in streams:
        d.close()
    audio_s = sum(done) / SAMPLE_RATE
    return audio_s / wall, audio_s / cpu


class Stream:
    """One simulated live stream: ordered packets, a backlog, lateness counts."""

    def __init__(self, denoiser: Denoiser, audio: np.ndarray, pool: ThreadPoolExecutor) -> None:
        self.d, self.audio, self.pool = denoiser, audio, pool
        self.lock = threading.Lock()
        self.backlog: deque[tuple[float, int]] = deque()
        self.busy = False
        self.late = self.very_late = self.done = 0

    def arrive(self, release: float, k: int) -> None:
        with self.lock:
            self.backlog.append((release, k))
            if self.busy:
                return
            self.busy = True
        self.pool.submit(self._work)

    def _work(self) -> None:
        while True:
            with self.lock:
                if not self.backlog:
                    self.busy = False
                    return
                release, k = self.backlog.popleft()
            off = (k * PACKET_SAMPLES) % (len(self.audio) - PACKET_SAMPLES)
            self.d.process(self.audio[off : off + PACKET_SAMPLES])
            finished = time.perf_counter()
            self.done += 1
            self.late += finished - release > PACKET_S
            self.very_late += finished - release > 3 * PACKET_S


async def _concurrent_async(
    model: str, n: int, seconds: float, audio: np.ndarray, scheduler: BatchScheduler
) -> tuple[float, float, float]:
    """``concurrent`` the live server's way: one event loop awaits every stream's
    packets (``Denoiser.process_async``); only the scheduler's workers compute."""
    loop = asyncio.get_running_loop()
    streams = [create_denoiser(model, scheduler=scheduler) for _ in range(n)]
    counts = np.zeros(3, dtype=np.int64)  # done, late, very late
    c0 = time.process_time()
    start = loop.time() + 0.2
    end = start + seconds

    async def run(i: int) -> None:
        d, k = streams[i], 0
        while (release := start + (i / n + k) * PACKET_S) <= end:
            if (delay := release - loop.time()) > 0:
                await asyncio.sleep(delay)
            off = (k * PACKET_SAMPLES) % (len(audio) - PACKET_SAMPLES)
            await d.process_async(audio[off : off + PACKET_SAMPLES])
            lag = loop.time() - release
            counts[:] += (1, lag > PACKET_S, lag > 3 * PACKET_S)
            k += 1

    await asyncio.gather(*(run(i) for i in range(n)))
    cpu = time.process_time() - c0
    for d in streams:
        d.close()
    done = max(1, int(counts[0]))
    return counts[1] / done, counts[2] / done, cpu / (done * PACKET_S)


def cold_cost(model: str, audio: np.ndarray, sizes: tuple[int, ...] = (1, 8, 16)) -> None:
    """CPU per stream-packet with packets back to back vs. after a 20 ms pause.

    A live server runs each batch after a pause in which other work evicted the
    model from the caches; this is why batching pays more on a server than
    back-to-back throughput suggests.
    """
    d = create_denoiser(model, scheduler=BatchScheduler())
    core = getattr(d._backend, "_core", None)  # the bench reaches in on purpose
    if core is None:
        print("cold cost: only for ONNX models")
        return
    core.prepare_batch()
    for n in sizes:
        states = [core.new_state() for _ in range(n)]
        for pause in (0.0, 0.02):
            cpu = 0.0
            for k in range(170):
                off = (k * PACKET_SAMPLES) % (len(audio) - PACKET_SAMPLES)
                hops = audio[off : off + PACKET_SAMPLES].reshape(2, -1)
                if pause:
                    time.sleep(pause)
                c0 = time.thread_time()
                core.run_batch([(st, hops, False) for st in states])
                cpu += (time.thread_time() - c0) if k >= 20 else 0.0
            per = cpu / 150 / n
            print(
                f"cold cost: batch of {n:2d}, {1e3 * pause:2.0f} ms pause before each: "
                f"{1e3 * per:.3f} ms CPU per stream-packet (RTF {per / PACKET_S:.4f})"
            )
    d.close()


def concurrent(
    model: str,
    n: int,
    seconds: float,
    workers: int,
    audio: np.ndarray,
    scheduler: BatchScheduler | None = None,
) -> tuple[float, float, float]:
    """Rates of packets finished > 20 ms and > 60 ms after arrival, ``n`` streams,
    and the process CPU time per stream per audio second (CPU RTF per stream)."""
    if scheduler is not None:
        return asyncio.run(_concurrent_async(model, n, seconds, audio, scheduler))
    pool = ThreadPoolExecutor(max_workers=n if scheduler else workers)
    streams = [Stream(create_denoiser(model, scheduler=scheduler), audio, pool) for _ in range(n)]
    c0 = time.process_time()
    start = time.perf_counter() + 0.2
    events = [(start + i * PACKET_S / n, i, 0) for i in range(n)]
    heapq.heapify(events)
    end = start + seconds
    while events:
        release, i, k = heapq.heappop(events)
        if release > end:
            break
        delay = release - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        streams[i].arrive(release, k)
        heapq.heappush(events, (release + PACKET_S, i, k + 1))
    pool.shutdown(wait=True)
    cpu = time.process_time() - c0
    for s in streams:
        s.d.close()
    done = max(1, sum(s.done for s in streams))
    cpu_rtf = cpu / (done * PACKET_S)
    return sum(s.late for s in streams) / done, sum(s.very_late for s in streams) / done, cpu_rtf


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="dfn3")
    ap.add_argument("--seconds", type=float, default=4.0, help="per concurrency level")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument(
        "--streams",
        default="2,4,6,8,10,12,14,16,20,30",
        help="levels to try, stops at the first failing one",
    )
    ap.add_argument("--batch", action="store_true", help="share a BatchScheduler (ONNX models)")
    ap.add_argument("--max-wait-ms", type=float, default=4.0, help="scheduler's batch wait")
    ap.add_argument("--cold", action="store_true", help="also print the cold-cache cost")
    ap.add_argument(
        "--batch-threads", type=int, default=32, help="streams in the --batch throughput"
    )
    args = ap.parse_args()
    sched = None
    if args.batch:
        sched = BatchScheduler(max_wait_ms=args.max_wait_ms, max_parallel=args.workers)
        print(f"batched: max_wait {args.max_wait_ms:g} ms, {args.workers} batches at once")
    env = {k: v for k, v in os.environ.items() if "THREAD" in k or k.startswith("RAYON")}
    print(f"cpus={os.cpu_count()} model={args.model} thread-env={env or 'none'}")
    print(
        "load average at start (other users of the machine): {:.2f} {:.2f} {:.2f}".format(
            *os.getloadavg()
        )
    )

    t0 = time.perf_counter()
    check_model(args.model)
    print(f"first load incl. hash check + child probe: {time.perf_counter() - t0:.2f} s")
    t0 = time.perf_counter()
    create_denoiser(args.model).close()
    print(f"first stream state (waits for the spare pool): {time.perf_counter() - t0:.3f} s")
    times = []
    for _ in range(3):
        time.sleep(1.0)  # let the background refill finish
        t0 = time.perf_counter()
        create_denoiser(args.model).close()
        times.append(time.perf_counter() - t0)
    print(f"next stream state (from spare pool): {1e3 * min(times):.1f} ms")
    backend = getattr(check_model(args.model), "_create_state", None)
    if backend is not None:
        t0 = time.perf_counter()
        check_model(args.model)._lib.df_free(backend())  # type: ignore[attr-defined]
        print(f"raw df_create (no pool): {time.perf_counter() - t0:.3f} s")

    audio = noisy_speech(seconds=10.0, snr_db=5.0, seed=0)[2]
    wall_rtf, cpu_rtf = rtf(args.model, audio)
    print(f"RTF one stream, one thread: {cpu_rtf:.4f} CPU time ({wall_rtf:.4f} wall clock)")
    feeders = args.batch_threads if sched else args.workers
    per_wall, per_cpu = throughput(args.model, audio, feeders, args.seconds, sched)
    if sched:
        print(f"  ({feeders} streams fed back to back into the scheduler; {sched.stats})")
    print(
        f"throughput with {args.workers} busy threads: {per_wall:.1f} s audio per wall s "
        f"-> capacity {per_wall:.1f} streams; {per_cpu:.2f} s audio per CPU s "
        f"-> {per_cpu * (os.cpu_count() or 1):.1f} streams if we had all cores"
    )
    print(f"threads in process: {threads()}")
    if args.cold:
        cold_cost(args.model, audio)

    time.sleep(1.0)
    base = rss_mb()
    extra = [create_denoiser(args.model, scheduler=sched) for _ in range(20)]
    for d in extra:
        d.process(audio[:PACKET_SAMPLES])
    print(f"memory per extra stream: {(rss_mb() - base) / 20:.1f} MB (RSS delta over 20)")
    for d in extra:
        d.close()

    best = 0
    for n in (int(s) for s in args.streams.split(",")):
        before = (sched.stats.batches, sched.stats.items) if sched else (0, 0)
        late, very_late, cpu_rtf = concurrent(
            args.model, n, args.seconds, args.workers, audio, sched
        )
        ok = late < 0.01
        best = n if ok else best
        mean_batch = ""
        if sched:
            b, i = sched.stats.batches - before[0], sched.stats.items - before[1]
            mean_batch = f", mean batch {i / max(1, b):.1f}"
        print(
            f"{n:3d} streams on {args.workers} workers: late packets {100 * late:.2f} % "
            f"(> 60 ms: {100 * very_late:.2f} %), CPU RTF per stream {cpu_rtf:.4f}{mean_batch}"
        )
        if not ok:
            break
    print(f"max concurrent real-time streams (late < 1 %): {best}")
    print("load average at end: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
