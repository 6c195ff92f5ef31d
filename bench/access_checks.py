"""What the periodic access checks cost: the live listens' check and the presence recheck.

Usage::

    FC25_LOCAL_SECRET=1 python bench/access_checks.py [--listeners 10,100,400] [--streams 16]
        [--repeat 50]

Builds a fresh database (a temporary SQLite file, or a scratch database beside the one
``DATABASE_URL`` names, created and dropped here; with ``REDIS_URL`` the login records
live in Redis, as on a deployment), migrates it, and logs in N friends of alice, one
session each (their logins recorded in the cache as on any login). Then times, on this
thread, the calls the server makes on its worker threads:

- one look of the live access check for N listeners of alice's stream
  (``streams.services.access_to_end``: friendships, active accounts, and each listen's
  login), which every process makes every ``AUDIT_EVERY_S`` while it hosts listeners,
  beside the same look without the logins (``listens_to_end``, the look before the logins
  were checked): the ratio is this run's;
- one presence socket's login recheck (``users.logins.login_key``), which every open socket
  makes every ``LOGIN_RECHECK_S``;
- the stored settings of the process's ``--streams`` live streams
  (``streams.services.stored_live_settings``), which the same look of the access check
  reads since 0.10.10 to catch up on a settings change its process did not acknowledge.

Prints the median wall and thread CPU milliseconds of ``--repeat`` calls, the queries of
one, and the share of one core the check takes at its period (thread CPU only: the
database server's own work is not in it).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.scratch_db import on_scratch_database


def build(listeners: int) -> tuple[Any, list[tuple[Any, str, str]]]:
    """alice, and ``listeners`` friends each logged in once: (user, session key, tag)."""
    from django.test import Client

    from users.logins import LOGIN_TAG_KEY
    from users.models import Friendship, User

    alice = User.objects.create_user("alice", password="bench-pass-123")
    logged_in = []
    for n in range(listeners):
        friend = User.objects.create_user(f"friend{n}", password="bench-pass-123")
        low, high = sorted((alice, friend), key=lambda u: u.pk)
        Friendship.objects.create(user_low=low, user_high=high)
        client = Client()
        client.force_login(friend)
        session = client.session
        logged_in.append((friend, session.session_key, session[LOGIN_TAG_KEY]))
    return alice, logged_in


def timed(call: Callable[[], object], repeat: int) -> tuple[float, float, int]:
    """(median wall ms, median thread CPU ms, queries of one call) over ``repeat`` calls."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    call()  # warm: connections, query plans
    walls, cpus = [], []
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as queries:
            wall, cpu = time.perf_counter(), time.thread_time()
            call()
            cpus.append((time.thread_time() - cpu) * 1000)
            walls.append((time.perf_counter() - wall) * 1000)
    return statistics.median(walls), statistics.median(cpus), len(queries)


def run(args: argparse.Namespace) -> None:
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from streams.accesswatch import AUDIT_EVERY_S
    from streams.services import access_to_end, listens_to_end
    from users.consumers import LOGIN_RECHECK_S
    from users.logins import login_key

    call_command("migrate", verbosity=0)
    cache = settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]
    print(f"{connection.vendor}, cache {cache}; median of {args.repeat} calls")
    print(
        "| check | listeners or sockets | wall ms | thread CPU ms | queries | period s "
        "| % of a core at that period |"
    )
    print("|---|---|---|---|---|---|---|")
    for count in (int(n) for n in args.listeners.split(",")):
        call_command("flush", interactive=False, verbosity=0)
        alice, logged_in = build(count)
        pairs = [(alice.pk, user.pk) for user, _, _ in logged_in]
        logins = [(user.pk, tag) for user, _, tag in logged_in]
        looks = {
            "live access check (one look)": lambda p=pairs, lg=logins: access_to_end(p, lg),
            "the same without the logins (0.10.8's look)": lambda p=pairs: listens_to_end(p),
        }
        for label, look in looks.items():
            wall, cpu, queries = timed(look, args.repeat)
            share = 100 * cpu / 1000 / AUDIT_EVERY_S
            print(
                f"| {label} | {count} | {wall:.2f} | {cpu:.2f} | {queries} "
                f"| {AUDIT_EVERY_S:g} | {share:.3f} |"
            )
        user, key, tag = logged_in[0]
        wall, cpu, queries = timed(lambda k=key, t=tag, u=user.pk: login_key(k, t, u), args.repeat)
        share = 100 * count * cpu / 1000 / LOGIN_RECHECK_S
        print(
            f"| presence recheck ({count} sockets, one each) | {count} | {wall:.2f} | "
            f"{cpu:.2f} | {queries} | {LOGIN_RECHECK_S:g} | {share:.3f} |"
        )


def settings_look(streams: int, repeat: int) -> None:
    """Time the settings catch-up's read for ``streams`` broadcasters with settings."""
    from django.core.management import call_command

    from streams.accesswatch import AUDIT_EVERY_S
    from streams.models import BroadcastSettings
    from streams.services import stored_live_settings
    from users.models import User

    call_command("flush", interactive=False, verbosity=0)
    ids = []
    for n in range(streams):
        user = User.objects.create_user(f"broadcaster{n}", password="bench-pass-123")
        BroadcastSettings.objects.create(user=user, model="dfn3-onnx", atten_lim_db=12.0)
        ids.append(user.pk)
    wall, cpu, queries = timed(lambda: stored_live_settings(ids), repeat)
    share = 100 * cpu / 1000 / AUDIT_EVERY_S
    print(
        f"| stored settings of the process's streams (catch-up) | {streams} streams "
        f"| {wall:.2f} | {cpu:.2f} | {queries} | {AUDIT_EVERY_S:g} | {share:.3f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listeners", default="10,100,400")
    parser.add_argument("--streams", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()

    def both() -> None:
        run(args)
        settings_look(args.streams, args.repeat)

    on_scratch_database("fc25-bench-access", both)


if __name__ == "__main__":
    main()
