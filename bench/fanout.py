"""One broadcaster, many listeners, one server process: late packets and CPU per listener.

Usage::

    FC25_LOCAL_SECRET=1 .venv/bin/python bench/fanout.py [--listeners 1,25,50,100] \\
        [--model dfn3-onnx] [--window 15] [--per-worker 25] [--code before=../base,after=.]

Starts one server process on the embedded defaults (``FC25_MAX_LISTENERS`` raised
to the largest count), registers a broadcaster and that many listeners, all her
friends, through the HTTP API. For every listener count, client worker processes
(``bench/fanout_clients.py``; the first also carries the broadcaster) go live and
join, then a ``--window`` second steady state is measured:

* server CPU (utime + stime over the window, % of one core), and CPU per listener
  above the lowest count: (CPU(n) - CPU(lowest)) / (n - lowest);
* at the listeners: packets received over expected, and **late** packets, those
  that arrived more than 60 ms after the listener's lowest-delay packet (a jitter
  buffer would have to grow by three packets to play them) or never arrived;
* the server's own counters for the stream, whole session (``bypassed``, ``dropped``:
  frames lost to the backlog guard, e.g. while many listeners join);
* the client workers' CPU (to show the load generator kept up).

A count *fits* with under 1 % late packets and under 1 % bypassed frames.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.live_servers import ROOT, ServerGroup, ServerSpec, cpu_seconds  # noqa: E402
from bench.live_streams import Worker, api_post, register  # noqa: E402

STEP_S = 5.0
"""Seconds each client may take to go live or to start hearing (a READY's timeout)."""


def make_users(host: str, listeners: int) -> dict[str, Any]:
    """A broadcaster and ``listeners`` friends of hers, with their session cookies."""

    def cookies(s: requests.Session) -> dict[str, str]:
        return {k: str(s.cookies[k]) for k in ("sessionid", "csrftoken")}

    star = register(host, "star")

    def one(i: int) -> dict[str, Any]:
        name = f"fan{i}"
        s = register(host, name)
        r = api_post(s, host, "/api/friends/requests/", {"to_user": "star"})
        if r.status_code not in (200, 201):
            raise RuntimeError(f"friend request: {r.status_code} {r.text[:200]}")
        r = api_post(star, host, "/api/friends/requests/", {"to_user": name})
        if r.status_code not in (200, 201):
            raise RuntimeError(f"accept: {r.status_code} {r.text[:200]}")
        return {"username": name, "cookies": cookies(s)}

    with ThreadPoolExecutor(4) as pool:
        fans = list(pool.map(one, range(listeners)))
    return {"broadcaster": {"username": "star", "cookies": cookies(star)}, "listeners": fans}


def run_point(
    group: ServerGroup, users: dict[str, Any], n: int, args: argparse.Namespace
) -> dict[str, Any]:
    fans = users["listeners"][:n]
    chunks = [fans[i : i + args.per_worker] for i in range(0, n, args.per_worker)] or [[]]
    host = group.hosts[0]
    workers = []
    try:
        for k, chunk in enumerate(chunks):
            job = {"host": host, "of": "star", "listeners": chunk,
                   "broadcaster": users["broadcaster"] if k == 0 else None}  # fmt: skip
            workers.append(Worker(job, group.data_dir / "clients.log", "fanout_clients.py"))
            if k == 0:
                workers[0].expect("READY", timeout=STEP_S * (1 + len(chunk)))  # live first
        for w, chunk in zip(workers[1:], chunks[1:], strict=True):
            w.expect("READY", timeout=STEP_S * len(chunk))
        time.sleep(args.settle)
        for w in workers:
            w.send("MARK")
        t0, s0 = time.monotonic(), group.cpu()
        c0 = sum(cpu_seconds(w.proc.pid) for w in workers)
        time.sleep(args.window)
        t1, s1 = time.monotonic(), group.cpu()
        c1 = sum(cpu_seconds(w.proc.pid) for w in workers)
        for w in workers[1:]:
            w.send("STOP")
        results = [r for w in workers[1:] for r in w.expect("RESULT", timeout=60)]
        workers[0].send("STOP")  # the broadcaster stops last
        results += workers[0].expect("RESULT", timeout=60)
    finally:
        for w in workers:
            w.close()
    stop = next(r["stop"] for r in results if "stop" in r)
    listeners = [r for r in results if "stop" not in r]
    expected = sum(r["expected"] for r in listeners)
    received = sum(r["received"] for r in listeners)
    late = sum(r["late"] for r in listeners) + max(0, expected - received)
    stats = stop.get("stats", {})
    frames = max(1, stats.get("frames", 0))
    return {
        "code": group.label,
        "listeners": n,
        "server_cpu": 100 * (s1[0] - s0[0]) / (t1 - t0),
        "clients_cpu": 100 * (c1 - c0) / (t1 - t0),
        "received_pct": 100 * received / max(1, expected),
        "late_pct": 100 * late / max(1, expected),
        "bypassed_pct": 100 * stats.get("bypassed", 0) / frames,
        "dropped": stats.get("dropped", 0),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--listeners", default="1,25,50,100")
    ap.add_argument("--model", default="dfn3-onnx")
    ap.add_argument("--window", type=float, default=15.0)
    ap.add_argument("--settle", type=float, default=3.0)
    ap.add_argument("--per-worker", type=int, default=25, help="listeners per client process")
    ap.add_argument("--code", default="", help="LABEL=DIR,... checkouts compared in one run")
    args = ap.parse_args()
    counts = sorted(int(c) for c in args.listeners.split(","))
    codes = [
        (label, Path(path).resolve())
        for label, path in (item.split("=", 1) for item in args.code.split(",") if item)
    ] or [("this", ROOT)]
    print(f"cpus={os.cpu_count()} load average at start: {os.getloadavg()[0]:.2f}", flush=True)
    rows: list[dict[str, Any]] = []
    for label, code_dir in codes:
        spec = ServerSpec(procs=1, model=args.model, workers=2, max_streams=4, shared=False,
                          pg_url="", redis_url="", code_dir=code_dir,
                          extra_env={"FC25_MAX_LISTENERS": str(max(counts) + 8)})  # fmt: skip
        group = ServerGroup(spec, label=label)
        try:
            group.start()
            users = make_users(group.hosts[0], max(counts))
            for n in counts:
                row = run_point(group, users, n, args)
                rows.append(row)
                print(json.dumps({k: round(v, 2) if isinstance(v, float) else v
                                  for k, v in row.items()}), flush=True)  # fmt: skip
        finally:
            group.close()
    print(f"load average at end: {os.getloadavg()[0]:.2f}\n")
    print("| code | listeners | server CPU % | CPU % per listener above the lowest count "
          "| received % | late % | bypassed % | dropped | clients CPU % | fits |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        base = next(b for b in rows if b["code"] == r["code"])
        per = ((r["server_cpu"] - base["server_cpu"]) / (r["listeners"] - base["listeners"])
               if r["listeners"] > base["listeners"] else float("nan"))  # fmt: skip
        fits = r["late_pct"] < 1 and r["bypassed_pct"] < 1
        print(f"| {r['code']} | {r['listeners']} | {r['server_cpu']:.0f} | {per:.2f} "
              f"| {r['received_pct']:.1f} | {r['late_pct']:.2f} | {r['bypassed_pct']:.2f} "
              f"| {r['dropped']} "
              f"| {r['clients_cpu']:.0f} | {'yes' if fits else 'no'} |")  # fmt: skip


if __name__ == "__main__":
    main()
