"""Time ``GET /api/recordings/`` as a user's history grows, with and without the job index.

Usage::

    FC25_LOCAL_SECRET=1 python bench/recordings_list.py [--recordings 200] [--jobs 250]
        [--repeat 15]

Builds a fresh database (a temporary SQLite file, or a scratch database beside the
one ``DATABASE_URL`` names, created and dropped here), migrates it, and gives alice
``--recordings`` recordings with ``--jobs`` finished re-cleans each; bob, her friend, has
as many recordings with no jobs. It then times, through Django's test client (views,
queries and JSON, no network):

- alice's list (her own recordings, each showing its newest job), and
- bob's list (his recordings and alice's: her jobs are never loaded for him),

first as migrated, then with the ``job_newest_per_recording`` index dropped: one run,
two figures, so the ratio does not depend on the machine. Prints a Markdown table of the
median and the worst of ``--repeat`` requests, and the number of queries.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.scratch_db import on_scratch_database

INDEX_NAME = "job_newest_per_recording"


def build(recordings: int, jobs: int) -> tuple[Any, Any]:
    """alice (with ``recordings`` x ``jobs`` job rows) and bob, friends."""
    from recordings.models import RecordingJob, StreamRecording
    from users.models import Friendship, User

    alice = User.objects.create_user("alice", password="bench-pass-123")
    bob = User.objects.create_user("bob", password="bench-pass-123")
    low, high = sorted((alice, bob), key=lambda u: u.pk)
    Friendship.objects.create(user_low=low, user_high=high)
    for owner in (alice, bob):
        StreamRecording.objects.bulk_create(
            StreamRecording(owner=owner, title=f"{owner.username} {i}", duration=60.0)
            for i in range(recordings)
        )
    rows = [
        RecordingJob(
            recording=rec,
            kind=RecordingJob.Kind.RECLEAN,
            status=RecordingJob.Status.DONE,
            progress=1.0,
            model="identity",
        )
        for rec in StreamRecording.objects.filter(owner=alice)
        for _ in range(jobs)
    ]
    RecordingJob.objects.bulk_create(rows, batch_size=5000)
    return alice, bob


LIST_LIMIT = 500
"""Recordings per page asked for (``--limit``; 500, the largest, by default: each user's 400
in one request, as before pages; code from before pages ignores the parameter)."""


def time_list(user: Any, repeat: int, limit: int = LIST_LIMIT) -> tuple[float, float, int, int]:
    """(median ms, worst ms, queries, recordings listed) over ``repeat`` requests."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    url = f"/api/recordings/?limit={limit}"
    client.get(url)  # warm: session, caches, query plans
    times = []
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as queries:
            start = time.perf_counter()
            resp = client.get(url)
            times.append((time.perf_counter() - start) * 1000)
        assert resp.status_code == 200, resp.content[:200]
    listed = len(resp.json()["recordings"])
    return statistics.median(times), max(times), len(queries), listed


def drop_index() -> bool:
    """Drop the job index the recordings list relies on (to measure without it); False
    when this code has no such index."""
    from django.db import connection

    from recordings.models import RecordingJob

    index = next((i for i in RecordingJob._meta.indexes if i.name == INDEX_NAME), None)
    if index is None:  # code from before the index: nothing to drop
        return False
    with connection.schema_editor() as editor:
        editor.remove_index(RecordingJob, index)
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("ANALYZE recordings_recordingjob")
    return True


def run(args: argparse.Namespace) -> None:
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    alice, bob = build(args.recordings, args.jobs)
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("ANALYZE")
    print(
        f"{connection.vendor}: alice {args.recordings} recordings x {args.jobs} jobs "
        f"({args.recordings * args.jobs} job rows); bob {args.recordings} recordings; "
        f"median and worst of {args.repeat}, pages of {args.limit}"
    )
    print("| list | job index | median ms | worst ms | queries | recordings |")
    print("|---|---|---|---|---|---|")
    for label in ("as migrated", "dropped"):
        if label == "dropped" and not drop_index():
            break
        for name, user in (("alice (own)", alice), ("bob (own + friend's)", bob)):
            med, worst, queries, listed = time_list(user, args.repeat, args.limit)
            print(f"| {name} | {label} | {med:.1f} | {worst:.1f} | {queries} | {listed} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recordings", type=int, default=200)
    parser.add_argument("--jobs", type=int, default=250)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--limit", type=int, default=LIST_LIMIT, help="recordings per page")
    args = parser.parse_args()
    on_scratch_database("fc25-bench-list", lambda: run(args))


if __name__ == "__main__":
    main()
