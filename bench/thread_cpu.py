"""CPU per thread of a running server process, grouped by Python thread name.

Usage: python bench/thread_cpu.py PID [--seconds 10]

Reads utime + stime of every thread (/proc/PID/task/*/stat) twice, ``--seconds``
apart, and prints each group's share of one core. Thread names come from
``py-spy dump`` (``pip install py-spy``; a development tool, not a project
dependency); without it the threads are listed by native id. Numbered suffixes
are stripped (``bench/profile_summary.thread_group``), so a pool's threads add up to one line.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.profile_summary import thread_group


def cpu_ticks(pid: int) -> dict[str, int]:
    """utime + stime, in clock ticks, per thread id."""
    out: dict[str, int] = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended meanwhile
            continue
        out[tid] = int(fields[11]) + int(fields[12])
    return out


def thread_names(pid: int) -> dict[str, str]:
    """Native thread id -> Python thread name, from py-spy if it is installed."""
    spy = shutil.which("py-spy") or os.path.join(os.path.dirname(sys.executable), "py-spy")
    if not os.path.exists(spy):
        return {}
    dump = subprocess.run([spy, "dump", "--pid", str(pid)], capture_output=True, text=True)
    names = {}
    for m in re.finditer(r'^Thread (\S+) \(\w+\): "([^"]*)"', dump.stdout, re.M):
        tid = m.group(1)
        names[str(int(tid, 0)) if tid.startswith("0x") else tid] = thread_group(m.group(2))
    return names


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("pid", type=int)
    ap.add_argument("--seconds", type=float, default=10.0)
    args = ap.parse_args()
    before = cpu_ticks(args.pid)
    time.sleep(args.seconds)
    after = cpu_ticks(args.pid)
    names = thread_names(args.pid)
    hz = os.sysconf("SC_CLK_TCK")
    groups: Counter[str] = Counter()
    for tid, ticks in after.items():
        name = names.get(tid) or f"tid {tid}"
        groups[name] += ticks - before.get(tid, ticks)
    for name, ticks in groups.most_common():
        if not ticks:
            continue  # idle threads (pool threads that did not run)
        print(f"{100 * ticks / hz / args.seconds:6.1f} % of a core  {name}")
    print(f"{100 * sum(groups.values()) / hz / args.seconds:6.1f} % of a core  total")


if __name__ == "__main__":
    main()
