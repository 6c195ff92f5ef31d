"""Where a server process's CPU goes, per thread and per function, from py-spy samples.

Usage::

    .venv/bin/python bench/profile_summary.py PROFILE.txt [--seconds 15] [--rate 100] [--top 25]

``PROFILE.txt`` is ``py-spy record --threads --native --format raw`` output (what
``bench/live_streams.py --profile DIR`` writes for each server process): one line per
distinct stack, ``thread (TID): NAME;outermost;...;innermost COUNT``. py-spy samples
only threads that are running (not those waiting on a lock, the GIL or I/O), so
``samples / rate / seconds`` is a thread's share of one core.

With ``--perf FILE.perf.data`` (``perf record -F 499`` of the same process and window)
it first prints CPU by thread and by native library (Python interpreter, ONNX Runtime,
Opus, numpy, libc, kernel), thread names taken from the py-spy file.

Then three tables: CPU by thread (pool threads' numbered suffixes merged); the
functions where samples land (self time, line numbers dropped); and, for the
busiest threads, the functions on the stack (inclusive time, each function counted
once per sample), which shows which layer (aiortc's receive path, the pump, SRTP,
Opus) a thread's time belongs to.
"""

from __future__ import annotations

import argparse
import re
import subprocess
from collections import Counter
from pathlib import Path

_LINE = re.compile(r"^thread \((\w+)\): ([^;]*);?(.*) (\d+)$")
_POOL_SUFFIX = re.compile(r"([_-]\d+(_\d+)?|-[0-9a-f]{8,}|\(\w+\)|_\d+ \(\w+\))$")
_LINENO = re.compile(r":\d+\)$")


def thread_group(name: str) -> str:
    """``ThreadPoolExecutor-0_1`` -> ``ThreadPoolExecutor``; ``spool_0`` -> ``spool``."""
    name = name.strip()
    previous = None
    while previous != name:
        previous, name = name, _POOL_SUFFIX.sub("", name).strip()
    return name or "?"


def frame_name(frame: str) -> str:
    """A frame without its line number: ``recv (aiortc/rtcrtpreceiver.py)``."""
    frame = _LINENO.sub(")", frame)
    return re.sub(r"\(/[^)]*/site-packages/", "(", frame)


IDLE_LEAVES = (
    "Condition.wait (threading.py)",
    "Event.wait (threading.py)",
    "Queue.get (queue.py)",
    "_worker (concurrent/futures/thread.py)",  # blocked in the work queue's C get()
    "Runner.run (asyncio/runners.py)",  # uvloop's C loop: mostly epoll_wait
    "BatchedDecoderQueue.get (streams/webrtc/decode.py)",
)
"""Innermost Python frames of a thread that waits: py-spy's ``--nonblocking`` sampling
counts such threads as active, so their samples are dropped (a little real work inside
those calls, uvloop's own included, is dropped with them; ``--perf`` has it)."""


def parse(path: Path) -> list[tuple[str, list[str], int]]:
    """(thread group, frames outermost first, samples) per line of a raw profile,
    samples of waiting threads (:data:`IDLE_LEAVES`) left out."""
    rows = []
    for line in path.read_text().splitlines():
        m = _LINE.match(line.strip())
        if not m:
            continue
        frames = [frame_name(f) for f in m.group(3).split(";") if f]
        if frames and frames[-1] in IDLE_LEAVES:
            continue
        rows.append((thread_group(m.group(2)), frames, int(m.group(4))))
    return rows


_DSO_KINDS = (
    ("libpython", "Python"),
    ("onnxruntime", "ONNX Runtime"),
    ("libopus", "Opus"),
    ("kernel", "kernel"),
    ("libc.so", "libc"),
    ("_multiarray", "numpy"),
    ("pocketfft", "numpy"),
    ("openblas", "numpy"),
)


def perf_by_thread(
    perf_data: Path, names: dict[str, str], seconds: float, rate: float
) -> dict[str, Counter[str]]:
    """% of a core per thread group and native library, from ``perf report``."""
    out = subprocess.run(
        ["perf", "report", "-i", str(perf_data), "--sort", "pid,dso", "-n", "--stdio"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    table: dict[str, Counter[str]] = {}
    for line in out.splitlines():
        m = re.match(r"\s*[\d.]+%\s+(\d+)\s+(\d+):\S+\s+(.*\S)", line)
        if not m:
            continue
        samples, tid, dso = int(m.group(1)), m.group(2), m.group(3)
        kind = next((k for key, k in _DSO_KINDS if key in dso), "other")
        thread = names.get(tid, "other threads")
        table.setdefault(thread, Counter())[kind] += 100 * samples / (rate * seconds)
    return table


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("profile", type=Path)
    ap.add_argument("--seconds", type=float, required=True, help="the recording's duration")
    ap.add_argument("--rate", type=float, default=100.0, help="py-spy samples per second")
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--threads", type=int, default=3, help="busiest threads shown in detail")
    ap.add_argument("--perf", type=Path, help="perf record data of the same process and window")
    ap.add_argument("--perf-rate", type=float, default=499.0)
    args = ap.parse_args()
    rows = parse(args.profile)
    if args.perf:
        names = {
            m.group(1): thread_group(m.group(2))
            for m in re.finditer(r"^thread \((\w+)\): ([^;]*)", args.profile.read_text(), re.M)
        }
        table = perf_by_thread(args.perf, names, args.seconds, args.perf_rate)
        kinds = [k for _, k in _DSO_KINDS if k != "numpy"] + ["numpy", "other"]
        kinds = list(dict.fromkeys(kinds))
        print("| thread | " + " | ".join(kinds) + " | total |")
        print("|---" * (len(kinds) + 2) + "|")
        for thread, by_kind in sorted(table.items(), key=lambda kv: -sum(kv[1].values())):
            cells = " | ".join(f"{by_kind[k]:.1f}" for k in kinds)
            print(f"| {thread} | {cells} | {sum(by_kind.values()):.1f} |")
        totals = " | ".join(f"{sum(t[k] for t in table.values()):.1f}" for k in kinds)
        print(f"| **all** | {totals} | **{sum(sum(t.values()) for t in table.values()):.1f}** |\n")
    per_core = args.rate * args.seconds / 100  # samples per 1 % of a core

    by_thread: Counter[str] = Counter()
    self_time: Counter[str] = Counter()
    inclusive: dict[str, Counter[str]] = {}
    for thread, frames, n in rows:
        by_thread[thread] += n
        if frames:
            self_time[frames[-1]] += n
        seen = inclusive.setdefault(thread, Counter())
        for f in set(frames):
            seen[f] += n

    print("| thread | % of a core |\n|---|---|")
    for thread, n in by_thread.most_common():
        print(f"| {thread} | {n / per_core:.1f} |")
    print(f"| **total** | **{sum(by_thread.values()) / per_core:.1f}** |\n")

    print("| function (self) | % of a core |\n|---|---|")
    for f, n in self_time.most_common(args.top):
        print(f"| `{f}` | {n / per_core:.1f} |")
    print()
    for thread, _ in by_thread.most_common(args.threads):
        print(f"| {thread}: function (inclusive) | % of a core |\n|---|---|")
        for f, n in inclusive[thread].most_common(args.top):
            print(f"| `{f}` | {n / per_core:.1f} |")
        print()


if __name__ == "__main__":
    main()
