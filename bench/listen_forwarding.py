"""What forwarding a request to the stream's host process costs.

Usage: python bench/listen_forwarding.py [--rounds 20] [--requests 200]
(needs PostgreSQL and Redis: DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres,
and REDIS_URL, default redis://127.0.0.1:6379/14)

Two server processes, A and B, share a throwaway database and Redis; Alice goes
live through A (the identity model: this measures the server, not the model).
Bob then listens ``--rounds`` times through A (the host: no forwarding) and
through B (forwarded to A), alternating, each time from the request to the
first audio frame. Then ``--requests`` settings changes go through A and
through B: their round-trip time, and the CPU time both processes spent per
request (from /proc). Prints medians and p95s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aiortc import RTCPeerConnection  # noqa: E402

from bench.live_clients import Api  # noqa: E402
from tests.multiprocess.clients import go_live, listen, patch  # noqa: E402
from tests.multiprocess.conftest import Node, cluster_env, login  # noqa: E402


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def setup_time(api: Api, pcs: list[RTCPeerConnection]) -> float:
    """Seconds from the listen request to Bob's first audio frame."""
    started = time.monotonic()
    status, capture = await listen(api, "alice", pcs)
    assert status == 200, status
    while not capture.times:  # noqa: ASYNC110 - Capture's task fills it; 2 ms resolution
        await asyncio.sleep(0.002)
    return capture.times[0] - started


async def run(a: Node, b: Node, rounds: int, requests: int) -> dict[str, list[float]]:
    alice = {n.name: Api(n.host, login(n.host, "alice")) for n in (a, b)}
    bob = {n.name: Api(n.host, login(n.host, "bob")) for n in (a, b)}
    pcs: list[RTCPeerConnection] = []
    out: dict[str, list[float]] = {}
    try:
        await go_live(alice["a"], pcs)
        for _ in range(rounds):
            for via in ("a", "b"):
                out.setdefault(f"listen via {via}", []).append(await setup_time(bob[via], pcs))
                for pc in pcs[1:]:
                    await pc.close()
                del pcs[1:]
        for via in ("a", "b"):
            assert a.proc is not None and b.proc is not None
            cpu0 = cpu_s(a.proc.pid) + cpu_s(b.proc.pid)
            times = []
            for i in range(requests):
                status, _, elapsed = await asyncio.to_thread(
                    patch, alice[via], "/api/streams/settings/", {"atten_lim_db": 20 + i % 2}
                )
                assert status == 200
                times.append(elapsed)
            cpu = cpu_s(a.proc.pid) + cpu_s(b.proc.pid) - cpu0
            out[f"settings via {via}"] = times
            out[f"cpu per settings request via {via}"] = [cpu / requests]
        await alice["a"].apost("/api/streams/stop/")
    finally:
        for pc in pcs:
            await pc.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    db_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14")
    data = Path(tempfile.mkdtemp(prefix="fc25_fwd_"))
    settings = {"REDIS_URL": redis_url, "FC25_DENOISE_MODEL": "identity"}
    with cluster_env(db_url, data, FC25_MAX_LISTENERS="1000", **settings) as env:
        a = Node("a", env, data).start()
        b = Node("b", env, data).start()
        try:
            time.sleep(2)
            figures = asyncio.run(run(a, b, args.rounds, args.requests))
        finally:
            a.stop()
            b.stop()
    for label, values in figures.items():
        ms = 1000 * np.asarray(values)
        if len(ms) == 1:
            print(f"{label:36s} {ms[0]:7.2f} ms")
        else:
            print(
                f"{label:36s} median {np.median(ms):7.1f} ms  p95 {np.percentile(ms, 95):7.1f} ms"
                f"  (n={len(ms)})"
            )


if __name__ == "__main__":
    main()
