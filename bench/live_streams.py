"""Concurrent live streams: server CPU per stream and late frames, through real servers.

Usage::

    FC25_LOCAL_SECRET=1 .venv/bin/python bench/live_streams.py \\
        [--models identity,dfn3,dfn2] [--procs 1,2] [--streams 4,8,12,16,20] [--window 20] \\
        [--code before=../base,after=. --rounds 2]

For every model and process count, starts that many server processes (Uvicorn; Daphne for a checkout that predates it) (one: the
embedded defaults, SQLite in a throwaway folder; several: a scratch PostgreSQL
database and Redis with a unique prefix, shared by all of them), registers
broadcaster/listener pairs through the HTTP API and makes each pair friends.
Then, for every stream count, client worker processes (``bench/live_clients.py``,
never the server's CPU) start the pairs one after the other: the broadcaster
goes live and sends noisy speech in real time, its one friend listens. Once all
are receiving, after ``--settle`` seconds, a ``--window`` second steady state is
measured:

* server CPU: utime + stime of each server process (/proc/PID/stat) over the window,
  in % of one core, total and per stream;
* late frames: the server's own counters from ``POST /api/streams/stop/``
  (``bypassed``: passed through undenoised because the engine was busy or missed the
  budget, over ``frames``; whole session incl. start-up), overall and worst stream;
* listeners: frames received in the window over 50 per second, gaps > 60 ms;
* server input: frames the server counted over 50 per second of each session;
* recordings: ``recording_id`` set and ``duration`` at most 0.5 s + 2 % shorter
  than the time from the broadcaster's ICE connection to its stop request, or longer
  than the time to the stop's answer (the stream ends in between);
* the rest of the machine: client workers' CPU, every other process (other users)
  = process time in /proc/stat minus ours, and idle time.

A count *fits* when bypassed < 1 %, server input and listener frames >= 99 %, every
recording is complete and no stream failed.

``--code LABEL=DIR,...`` serves each sweep from another checkout of the project
(same venv), so a change is compared with the commit before it in one run;
``--rounds 2`` repeats the sweeps in ABBA order so drift of the machine's load
affects both sides alike.

Placement with several processes: pair ``i`` sends its requests to server ``i % procs``
(any process answers any request; a stream may be hosted by another one). Larger counts of
a model/process combination are skipped once
late or lost frames exceed ``--stop-above`` percent.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any, NamedTuple

import requests

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.live_results import HEADER, Row, describe, summarise  # noqa: E402
from bench.live_servers import (  # noqa: E402
    ROOT,
    ServerGroup,
    ServerSpec,
    cpu_seconds,
    machine_cpu,
)

PASSWORD = "correct-horse-battery-9"


def api_post(s: requests.Session, host: str, path: str, body: dict[str, Any]) -> requests.Response:
    """POST JSON with the CSRF header from the session's cookie."""
    return s.post(
        f"http://{host}{path}",
        json=body,
        headers={"X-CSRFToken": s.cookies["csrftoken"], "Referer": f"http://{host}/"},
        timeout=30,
    )


def register(host: str, username: str) -> requests.Session:
    """Create an account through the API; the session comes back logged in."""
    s = requests.Session()
    s.get(f"http://{host}/api/auth/csrf/", timeout=10).raise_for_status()
    r = api_post(s, host, "/api/auth/register/", {"username": username, "password": PASSWORD})
    if r.status_code != 201:
        raise RuntimeError(f"register {username}: {r.status_code} {r.text[:200]}")
    return s


def make_pairs(hosts: list[str], count: int) -> list[dict[str, Any]]:
    """``count`` broadcaster/listener pairs, friends, with their session cookies.

    Pair ``i`` registers on ``hosts[i % len(hosts)]`` (any process would do: the
    database is shared; this only spreads the password hashing).
    """

    def one(i: int) -> dict[str, Any]:
        host = hosts[i % len(hosts)]
        b, lis = f"bcast{i}", f"listen{i}"
        sb, sl = register(host, b), register(host, lis)
        for s, other in ((sb, lis), (sl, b)):  # the second request accepts the first
            r = api_post(s, host, "/api/friends/requests/", {"to_user": other})
            if r.status_code not in (200, 201):
                raise RuntimeError(f"friend request to {other}: {r.status_code} {r.text[:200]}")

        def cookies(s: requests.Session) -> dict[str, str]:
            return {k: str(s.cookies[k]) for k in ("sessionid", "csrftoken")}

        return {
            "broadcaster": {"username": b, "cookies": cookies(sb)},
            "listener": {"username": lis, "cookies": cookies(sl)},
        }

    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(one, range(count)))


class Worker:
    """One client process and its line protocol: the first stdin line is the JSON job,
    then ``MARK``/``STOP`` in, ``TAG {json}`` lines out (``live_clients.py``,
    ``fanout_clients.py``)."""

    def __init__(self, job: dict[str, Any], log_path: Path, script: str = "live_clients.py"):
        with log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, str(HERE / script)],
                cwd=HERE.parent,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.send(json.dumps(job))

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put("")  # EOF

    def send(self, line: str) -> None:
        """Write one protocol line to the worker."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def expect(self, tag: str, timeout: float) -> Any:
        """The payload of the next ``tag`` line (other output is ignored)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise TimeoutError(f"client worker: no {tag} within {timeout:.0f} s") from None
            if line == "":
                raise RuntimeError(f"client worker exited before {tag}")
            if line.startswith(tag + " "):
                return json.loads(line[len(tag) + 1 :])

    def close(self) -> None:
        """Close its stdin (it stops on EOF), wait for it to exit, kill it if it hangs."""
        with contextlib.suppress(OSError):
            assert self.proc.stdin is not None
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)


def start_profiles(
    group: ServerGroup, n: int, window: float, out_dir: Path
) -> list[subprocess.Popen[bytes]]:
    """Profile every server process for ``window`` s into ``out_dir``.

    * ``*.pyspy.txt``: py-spy's raw stacks per thread, Python frames only (with
      native frames py-spy must pause the process for every sample, which starves
      a real-time server); summarise with ``bench/profile_summary.py``.
    * ``*.perf.data``: ``perf record`` samples when perf is installed: which native
      code (Opus, SRTP, ONNX Runtime, the interpreter) the time is in; read it with
      ``perf report -i FILE --sort dso,sym``.

    Both take CPU of their own (a few % of a core): profiled points are not
    capacity figures.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    spy = Path(sys.executable).with_name("py-spy")
    perf = shutil.which("perf")
    seconds = str(round(window))
    spies = []
    for i, proc in enumerate(group.procs):
        stem = out_dir / f"{group.label}-{group.spec.model}-{n}streams-server{i}"
        cmd = [str(spy), "record", "--pid", str(proc.pid), "--duration", seconds,
               "--threads", "--nonblocking", "--format", "raw", "--output", f"{stem}.pyspy.txt"]  # fmt: skip
        spies.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        if perf:
            cmd = [perf, "record", "-F", "499", "-p", str(proc.pid), "-o", f"{stem}.perf.data",
                   "--", "sleep", seconds]  # fmt: skip
            spies.append(
                subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            )
    return spies


class BatchTotals(NamedTuple):
    """What the inference schedulers of a server group have run so far (from /metrics)."""

    batches: float
    items: float
    seconds: float
    cpu_seconds: float


def batch_counts(hosts: list[str]) -> BatchTotals:
    """The :class:`BatchTotals` of the ``denoise-batch`` schedulers of ``hosts``, from
    /metrics (the bench reads them from loopback). Zeros for a checkout without those
    metrics."""
    metrics = {
        "fc25_batch_items_count": "batches",
        "fc25_batch_items_sum": "items",
        "fc25_batch_seconds_sum": "seconds",
        "fc25_batch_cpu_seconds_sum": "cpu_seconds",
    }
    totals = dict.fromkeys(metrics.values(), 0.0)
    for host in hosts:
        try:
            text = requests.get(f"http://{host}/metrics", timeout=5).text
        except requests.RequestException:
            continue
        for line in text.splitlines():
            field = metrics.get(line.split("{", 1)[0])
            if field and 'scheduler="denoise-batch"' in line:
                totals[field] += float(line.split()[-1])
    return BatchTotals(**totals)


def mean_batch(before: BatchTotals, after: BatchTotals) -> float:
    """Mean items per inference batch between two :func:`batch_counts` (0: none ran)."""
    batches = after.batches - before.batches
    return (after.items - before.items) / batches if batches > 0 else 0.0


def on_core(before: BatchTotals, after: BatchTotals) -> float:
    """The inference threads' CPU time over their batches' time between two
    :func:`batch_counts`, in % (0: no batch ran, or the checkout does not measure it)."""
    wall = after.seconds - before.seconds
    return 100 * (after.cpu_seconds - before.cpu_seconds) / wall if wall > 0 else 0.0


def run_point(
    group: ServerGroup,
    users: list[dict[str, Any]],
    n: int,
    args: argparse.Namespace,
    *,
    window: float,
    settle: float,
) -> Row:
    """Run ``n`` streams (pair ``i`` on server ``i % procs``) and measure ``window`` s."""
    procs = len(group.hosts)
    pairs = [dict(users[i], index=i, host=group.hosts[i % procs]) for i in range(n)]
    c = args.client_procs or max(1, math.ceil(n / args.pairs_per_client))
    log = group.data_dir / "clients.log"
    shares = [[p for p in pairs if p["index"] % c == k] for k in range(c)]
    workers = [Worker({"pairs": share, "audio_seconds": 12.0}, log) for share in shares]
    try:
        t_ramp = time.monotonic()
        for w, share in zip(workers, shares, strict=True):
            w.expect("READY", timeout=60 + 5 * len(share))
        ramp = time.monotonic() - t_ramp
        time.sleep(settle)
        for w in workers:
            w.send("MARK")
        spies = start_profiles(group, n, window, args.profile) if args.profile else []
        b0 = batch_counts(group.hosts)
        t0, s0, m0 = time.monotonic(), group.cpu(), machine_cpu()
        c0 = sum(cpu_seconds(w.proc.pid) for w in workers)
        time.sleep(window)
        t1, s1, m1 = time.monotonic(), group.cpu(), machine_cpu()
        c1 = sum(cpu_seconds(w.proc.pid) for w in workers)
        b1 = batch_counts(group.hosts)
        for spy in spies:
            spy.wait(timeout=60)
        for w in workers:
            w.send("STOP")
        results = [r for w in workers for r in w.expect("RESULT", timeout=60)]
    finally:
        for w in workers:
            w.close()
    window = t1 - t0

    def pct(seconds: float) -> float:
        return 100 * seconds / window

    servers = [pct(b - a) for a, b in zip(s0, s1, strict=True)]
    clients = pct(c1 - c0)
    cpu = {
        "window": window,
        "servers": servers,
        "clients": clients,
        # All process time on the machine minus ours (this script's own is negligible).
        "others": pct(m1["process"] - m0["process"]) - sum(servers) - clients,
        "kernel": pct(m1["kernel"] - m0["kernel"]),
        "steal": pct(m1["steal"] - m0["steal"]),
        "idle": pct(m1["idle"] - m0["idle"]),
        "ramp": ramp,
        "batch": mean_batch(b0, b1),
        "on_core": on_core(b0, b1),
    }
    return summarise(procs, n, group.spec.model, results, cpu, group.label)


def sweep(
    model: str,
    procs: int,
    args: argparse.Namespace,
    label: str,
    code_dir: Path,
    env: dict[str, str] | None = None,
) -> list[Row]:
    """Start ``procs`` servers of ``code_dir`` with ``model``; run every stream count on them."""
    counts = sorted(int(s) for s in args.streams.split(","))
    spec = ServerSpec(
        procs=procs,
        model=model,
        workers=args.workers,
        max_streams=max(counts) + 4,
        shared=args.shared_services,
        pg_url=args.pg_url,
        redis_url=args.redis_url,
        code_dir=code_dir,
        extra_env=env or {},
    )
    group = ServerGroup(spec, label=label)
    rows: list[Row] = []
    try:
        t0 = time.monotonic()
        group.start()
        users = make_pairs(group.hosts, max(counts))
        storage = "PostgreSQL + Redis" if group.db_name else "SQLite + in-memory layer"
        print(f"# [{label}] {procs} server process(es), {storage}, model {model}: "
              f"{max(counts)} pairs ready in {time.monotonic() - t0:.1f} s", flush=True)  # fmt: skip
        # Warm-up: one short stream per process loads the model (hash check, probe, load).
        warm = run_point(group, users, procs, args, window=1.0, settle=0.0)
        if warm.errors:
            raise RuntimeError(
                f"warm-up failed: {warm.errors[0]}\nserver 0 log:\n{group.log_tail(0)}"
            )
        for n in counts:
            time.sleep(args.pause)
            row = run_point(group, users, n, args, window=args.window, settle=args.settle)
            rows.append(row)
            print(describe(row), flush=True)
            if group.exited():
                print(f"server(s) {group.exited()} exited:\n{group.log_tail(group.exited()[0])}")
                break
            if row.errors:
                print("  streams failed: larger counts skipped", flush=True)
                break
            if row.loss_pct > args.stop_above:
                print(f"  late/lost > {args.stop_above} %: larger counts skipped", flush=True)
                break
    finally:
        group.close(keep_data=args.keep_data)
        if args.keep_data:
            print(f"  data and logs kept in {group.data_dir}")
    return rows


def parse_codes(spec: str) -> list[tuple[str, Path, dict[str, str]]]:
    """``LABEL=DIR[@KEY=VALUE...],...`` -> (label, checkout, extra server environment).

    ``--code base=.,asyncio=.@UVICORN_LOOP=asyncio`` serves the same checkout twice,
    once with a setting changed: a lever measured alone, in the same run.
    """
    out = []
    for item in filter(None, spec.split(",")):
        label, rest = item.split("=", 1)
        path, *pairs = rest.split("@")
        out.append((label, Path(path).resolve(), dict(p.split("=", 1) for p in pairs)))
    return out


def main() -> None:
    """Parse arguments, run the sweep, print the table and the largest fitting counts."""
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--models", default="identity,dfn3,dfn2", help="comma-separated")
    ap.add_argument("--procs", default="1,2", help="server process counts, comma-separated")
    ap.add_argument("--streams", default="4,8,12,16,20", help="stream counts, comma-separated")
    ap.add_argument("--window", type=float, default=20.0, help="steady-state seconds")
    ap.add_argument("--settle", type=float, default=3.0, help="seconds after ramp-up")
    ap.add_argument("--pause", type=float, default=2.0, help="seconds between points")
    ap.add_argument("--workers", type=int, default=2, help="FC25_DENOISE_WORKERS per process")
    ap.add_argument("--client-procs", type=int, default=0, help="0: one per --pairs-per-client")
    ap.add_argument("--pairs-per-client", type=int, default=8)
    ap.add_argument("--stop-above", type=float, default=5.0, help="late or lost %% ending a sweep")
    ap.add_argument("--shared-services", action="store_true",
                    help="PostgreSQL + Redis also for one process")  # fmt: skip
    ap.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    ap.add_argument("--json", type=Path, help="also write the rows to this file")
    ap.add_argument("--code", default="",
                    help="LABEL=DIR[@KEY=VALUE...],... checkouts (and settings) to compare in one run")  # fmt: skip
    ap.add_argument("--rounds", type=int, default=1,
                    help="repeat the sweeps, alternating the order of --code (ABBA)")  # fmt: skip
    ap.add_argument("--keep-data", action="store_true", help="keep server data and logs")
    ap.add_argument("--profile", type=Path,
                    help="record py-spy profiles of the servers in each window into this folder")  # fmt: skip
    args = ap.parse_args()

    print(f"cpus={os.cpu_count()} window={args.window:g} s settle={args.settle:g} s "
          f"denoise workers/process={args.workers}")  # fmt: skip
    print("load average at start: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()), flush=True)
    codes = parse_codes(args.code) or [("this", ROOT, {})]
    rows: list[Row] = []
    for round_ in range(args.rounds):
        order = codes if round_ % 2 == 0 else codes[::-1]
        for model in args.models.split(","):
            for procs in (int(p) for p in args.procs.split(",")):
                for label, code_dir, env in order:
                    rows += sweep(model, procs, args, label, code_dir, env)
    print("load average at end: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    print()
    print(HEADER)
    for row in rows:
        print(row.markdown())
    print()
    for label, _, _ in codes:
        for model in args.models.split(","):
            for procs in (int(p) for p in args.procs.split(",")):
                mine = [
                    r for r in rows if r.model == model and r.procs == procs and r.code == label
                ]
                counts = sorted({r.streams for r in mine})
                always = [c for c in counts if all(r.fits for r in mine if r.streams == c)]
                failed = [c for c in counts if c not in always]
                cpu = ", ".join(
                    f"{c}: {sum(r.per_stream for r in mine if r.streams == c) / len([r for r in mine if r.streams == c]):.1f}"
                    for c in counts
                )
                print(
                    f"[{label}] {model}, {procs} process(es): fits in every round at "
                    f"{always or 'none'}, not in some round at {failed or 'none'}; largest "
                    f"count fitting every round: {max(always, default=0)}; mean server CPU "
                    f"%/stream by count: {cpu}"
                )
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=1))


if __name__ == "__main__":
    main()
