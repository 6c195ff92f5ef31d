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
* recordings: ``recording_id`` set and ``duration`` within 0.5 s + 2 % of the time
  from the broadcaster's ICE connection to the stop answer;
* the rest of the machine: client workers' CPU, every other process (other users)
  = process time in /proc/stat minus ours, and idle time.

A count *fits* when bypassed < 1 %, server input and listener frames >= 99 %, every
recording is complete and no stream failed.

``--code LABEL=DIR,...`` serves each sweep from another checkout of the project
(same venv), so a change is compared with the commit before it in one run;
``--rounds 2`` repeats the sweeps in ABBA order so drift of the machine's load
affects both sides alike.

Placement with several processes: pair ``i`` goes to server ``i % procs``, the
broadcaster and its listener on the same one (a live session lives in the hub of
the process that accepted the broadcaster's offer; a listen request to another
process gets 409). Larger counts of a model/process combination are skipped once
late or lost frames exceed ``--stop-above`` percent.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import queue
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import requests

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.live_servers import (  # noqa: E402
    ROOT,
    ServerGroup,
    ServerSpec,
    cpu_seconds,
    machine_cpu,
)

PASSWORD = "correct-horse-battery-9"
LATE_LIMIT_PCT = 1.0
"""The target: under 1 % late frames."""


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
    """One client process (``live_clients.py``) and its line protocol."""

    def __init__(self, pairs: list[dict[str, Any]], log_path: Path) -> None:
        self.n = len(pairs)
        with log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, str(HERE / "live_clients.py")],
                cwd=HERE.parent,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.send(json.dumps({"pairs": pairs, "audio_seconds": 12.0}))

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


@dataclass
class Row:
    """One measured point of the sweep (CPU figures in % of one core over the window)."""

    procs: int
    streams: int
    model: str
    window_s: float
    code: str
    server_cpu: list[float]
    """Per server process."""
    client_cpu: float
    other_cpu: float
    """Every other process on the machine (other users' work)."""
    kernel_cpu: float
    """irq + softirq, charged to no process (loopback UDP of our streams, mostly)."""
    steal_cpu: float
    idle_cpu: float
    frames: int
    bypassed: int
    late: int
    worst_stream_pct: float
    server_rx_pct: float
    """Frames the server counted over 50 per second of each session."""
    listener_pct: float
    gaps: int
    max_gap_ms: float
    rec_ok: int
    rec_worst_s: float
    late_sends: int
    lag_growth_ms: float
    """Worst stream: listener delay at the window's end minus at its start."""
    errors: list[str]
    load_end: float
    ramp_s: float

    @property
    def late_pct(self) -> float:
        """Bypassed frames over all frames, in %."""
        return 100 * self.bypassed / max(1, self.frames)

    @property
    def loss_pct(self) -> float:
        """The worst of: bypassed, not received by the server, not received by listeners (%)."""
        return max(self.late_pct, 100 - self.server_rx_pct, 100 - self.listener_pct)

    @property
    def per_stream(self) -> float:
        """Server CPU per stream, % of one core."""
        return sum(self.server_cpu) / max(1, self.streams)

    @property
    def fits(self) -> bool:
        """Under 1 % of frames late or lost anywhere, and every recording complete.

        The server's counter only sees frames that reached the engine; a server
        starved of CPU loses frames before that (the receive side) or after it
        (the relay to listeners), so both ends are checked too.
        """
        ok = 100 - LATE_LIMIT_PCT
        return (
            not self.errors
            and self.late_pct < LATE_LIMIT_PCT
            and self.server_rx_pct >= ok
            and self.listener_pct >= ok
            and self.rec_ok == self.streams
        )

    def markdown(self) -> str:
        """One row of the results table."""
        cpu = " + ".join(f"{c:.0f}" for c in self.server_cpu)
        return (
            f"| {self.code} | {self.procs} | {self.streams} | {self.model} | {cpu} | {self.per_stream:.1f} | "
            f"{self.late_pct:.2f} ({self.worst_stream_pct:.1f}) | {self.late} | "
            f"{self.server_rx_pct:.1f} | {self.listener_pct:.1f} | {self.gaps} | "
            f"{self.rec_ok}/{self.streams} | {self.client_cpu:.0f} | {self.other_cpu:.0f} | "
            f"{self.idle_cpu:.0f} | {self.lag_growth_ms:.0f} | {'yes' if self.fits else 'no'} |"
        )


HEADER = (
    "| code | procs | streams | model | server CPU % (per process) | CPU %/stream "
    "| bypassed % all (worst stream) | inference > budget | server got % | listener got % "
    "| gaps > 60 ms | recordings ok | clients CPU % | others CPU % | idle % "
    "| delay growth ms | fits |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def summarise(
    procs: int, n: int, model: str, results: list[dict[str, Any]], cpu: dict[str, Any], code: str
) -> Row:
    """Turn the client results and CPU counters of one point into a :class:`Row`."""
    frames = bypassed = late = rec_ok = gaps = late_sends = 0
    worst = rec_worst = max_gap = lag_growth = 0.0
    received = expected = session_frames = 0.0
    errors: list[str] = []
    for r in results:
        if r["error"]:
            errors.append(f"pair {r['index']}: {r['error']}")
        stats = r["stop"].get("stats") or {}
        frames += stats.get("frames", 0)
        bypassed += stats.get("bypassed", 0)
        late += stats.get("late", 0)
        worst = max(worst, 100 * stats.get("bypassed", 0) / max(1, stats.get("frames", 0)))
        session_frames += 50 * r["session_s"]
        duration = float(r["stop"].get("duration") or 0.0)
        off = abs(duration - r["session_s"])
        rec_worst = max(rec_worst, off)
        if r["stop"].get("recording_id") is not None and off <= 0.5 + 0.02 * r["session_s"]:
            rec_ok += 1
        received += r["window_frames"]
        expected += r["window_s"] * 50
        gaps += r["gaps"]
        max_gap = max(max_gap, r["max_gap_ms"])
        late_sends += r["late_sends"]
        lag_growth = max(lag_growth, r["lag_growth_ms"])
    return Row(
        procs=procs,
        streams=n,
        model=model,
        window_s=cpu["window"],
        code=code,
        server_cpu=cpu["servers"],
        client_cpu=cpu["clients"],
        other_cpu=cpu["others"],
        kernel_cpu=cpu["kernel"],
        steal_cpu=cpu["steal"],
        idle_cpu=cpu["idle"],
        frames=frames,
        bypassed=bypassed,
        late=late,
        worst_stream_pct=worst,
        server_rx_pct=100 * frames / max(1.0, session_frames),
        listener_pct=100 * received / max(1.0, expected),
        gaps=gaps,
        max_gap_ms=max_gap,
        rec_ok=rec_ok,
        rec_worst_s=rec_worst,
        late_sends=late_sends,
        lag_growth_ms=lag_growth,
        errors=errors,
        load_end=os.getloadavg()[0],
        ramp_s=cpu["ramp"],
    )


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
    workers = [Worker([p for p in pairs if p["index"] % c == k], log) for k in range(c)]
    try:
        t_ramp = time.monotonic()
        for w in workers:
            w.expect("READY", timeout=60 + 5 * w.n)
        ramp = time.monotonic() - t_ramp
        time.sleep(settle)
        for w in workers:
            w.send("MARK")
        t0, s0, m0 = time.monotonic(), group.cpu(), machine_cpu()
        c0 = sum(cpu_seconds(w.proc.pid) for w in workers)
        time.sleep(window)
        t1, s1, m1 = time.monotonic(), group.cpu(), machine_cpu()
        c1 = sum(cpu_seconds(w.proc.pid) for w in workers)
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
    }
    return summarise(procs, n, group.spec.model, results, cpu, group.label)


def describe(row: Row) -> str:
    """A one-line progress report of a point."""
    text = (
        f"[{row.code}] procs={row.procs} streams={row.streams:2d} model={row.model}: server CPU "
        f"{sum(row.server_cpu):.0f} % ({row.per_stream:.1f} %/stream), bypassed "
        f"{row.late_pct:.2f} % (worst {row.worst_stream_pct:.1f} %, {row.bypassed}/{row.frames}, "
        f"over budget {row.late}), server got {row.server_rx_pct:.1f} %, listener got "
        f"{row.listener_pct:.1f} % (gaps {row.gaps}, max {row.max_gap_ms:.0f} ms, delay growth "
        f"{row.lag_growth_ms:.0f} ms), recordings "
        f"ok {row.rec_ok}/{row.streams} (worst off {row.rec_worst_s:.2f} s); CPU: clients "
        f"{row.client_cpu:.0f} %, other processes {row.other_cpu:.0f} %, irq {row.kernel_cpu:.0f} "
        f"%, steal {row.steal_cpu:.0f} %, idle {row.idle_cpu:.0f} %; client late sends "
        f"{row.late_sends}, ramp {row.ramp_s:.1f} s, load {row.load_end:.2f}; "
        f"{'fits' if row.fits else 'does not fit'}"
    )
    if row.errors:
        text += f"\n  errors ({len(row.errors)}): " + "; ".join(row.errors[:3])
    return text


def sweep(
    model: str, procs: int, args: argparse.Namespace, label: str, code_dir: Path
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
                    help="LABEL=DIR,... checkouts to compare in one run (default: this one)")  # fmt: skip
    ap.add_argument("--rounds", type=int, default=1,
                    help="repeat the sweeps, alternating the order of --code (ABBA)")  # fmt: skip
    ap.add_argument("--keep-data", action="store_true", help="keep server data and logs")
    args = ap.parse_args()

    print(f"cpus={os.cpu_count()} window={args.window:g} s settle={args.settle:g} s "
          f"denoise workers/process={args.workers}")  # fmt: skip
    print("load average at start: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()), flush=True)
    codes = [
        (label, Path(path).resolve())
        for label, path in (item.split("=", 1) for item in args.code.split(",") if item)
    ] or [("this", ROOT)]
    rows: list[Row] = []
    for round_ in range(args.rounds):
        order = codes if round_ % 2 == 0 else codes[::-1]
        for model in args.models.split(","):
            for procs in (int(p) for p in args.procs.split(",")):
                for label, code_dir in order:
                    rows += sweep(model, procs, args, label, code_dir)
    print("load average at end: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    print()
    print(HEADER)
    for row in rows:
        print(row.markdown())
    print()
    for label, _ in codes:
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
