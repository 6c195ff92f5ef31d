"""Read a large request body the way the server does (``SpooledBodyHandler.read_body``,
64 KB ASGI chunks) and report where the time goes: wall time, the event loop's own CPU
(what live streams wait behind) and the thread hops to the ``upload-spool`` lane.

    FC25_LOCAL_SECRET=1 .venv/bin/python bench/upload_spool.py --mb 200 --pieces 0.0625,1

``--pieces``: the disk write size in MB (0.0625: one write per chunk; 1: the default).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CHUNK = 64 * 1024


async def read_once(mb: int, handler: Any) -> tuple[float, float]:
    """(wall seconds, loop-thread CPU seconds) for ``handler`` to read an ``mb`` MB body."""

    chunk = os.urandom(CHUNK)
    left = mb * 1024 * 1024 // CHUNK

    async def receive() -> dict[str, Any]:
        nonlocal left
        left -= 1
        return {"type": "http.request", "body": chunk, "more_body": left > 0}

    wall, cpu = time.perf_counter(), time.thread_time()
    body = await handler.read_body(receive)
    wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
    body.close()
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--pieces", default="0.0625,1", help="disk write sizes, MB")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fc25-bench-upload-") as tmp:
        os.environ["FC25_DATA_DIR"] = tmp
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fc25_denoise.settings")
        tempfile.tempdir = tmp
        import django

        django.setup()
        from django.core.handlers.asgi import ASGIHandler

        from fc25_denoise import bodyspool

        print(f"{args.mb} MB body in {CHUNK // 1024} KB chunks, median of {args.repeat}")
        print("| reader | wall s | loop CPU s | writes on the lane |")
        print("|---|---|---|---|")
        runs = [asyncio.run(read_once(args.mb, ASGIHandler())) for _ in range(args.repeat)]
        wall = statistics.median(r[0] for r in runs)
        cpu = statistics.median(r[1] for r in runs)
        print(f"| Django's own: all on the loop | {wall:.2f} | {cpu:.2f} | none |")
        for piece in (float(p) for p in args.pieces.split(",")):
            bodyspool.DISK_WRITE_BYTES = int(piece * 1024 * 1024)
            handler = bodyspool.SpooledBodyHandler()
            runs = [asyncio.run(read_once(args.mb, handler)) for _ in range(args.repeat)]
            wall = statistics.median(r[0] for r in runs)
            cpu = statistics.median(r[1] for r in runs)
            writes = -(-args.mb * 1024 * 1024 // bodyspool.DISK_WRITE_BYTES)
            print(f"| on the lane, {piece:g} MB pieces | {wall:.2f} | {cpu:.2f} | about {writes} |")


if __name__ == "__main__":
    main()
