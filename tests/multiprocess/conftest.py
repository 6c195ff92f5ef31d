"""Real server processes sharing PostgreSQL and Redis (``make test-services``).

``shared_env``: a throwaway database with alice, bob (friends) and carol, and
the environment every process of a test gets. :class:`Node` starts, kills and
restarts one server process; :func:`login` and :class:`Api` talk to any of them
(a session cookie from one process is valid on all: sessions live in the database).
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.servers import ROOT, admin_conninfo, start_server, stop, with_database

needs_services = pytest.mark.skipif(
    not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")),
    reason="needs PostgreSQL and Redis (make test-services)",
)

PASSWORD = "correct-horse-battery-9"


@contextmanager
def cluster_env(db_url: str, data: Path, **settings: str) -> Iterator[dict[str, str]]:
    """The environment of server processes sharing a throwaway database (on the
    PostgreSQL server of ``db_url``) with alice, bob (friends) and carol; dropped after.

    ``settings``: more environment variables (``REDIS_URL`` comes from the caller's
    environment unless given here).
    """
    import psycopg
    from psycopg import sql

    name = f"fc25_mp_{secrets.token_hex(5)}"
    with psycopg.connect(admin_conninfo(db_url), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    env = dict(
        os.environ,
        DATABASE_URL=with_database(db_url, name),
        SECRET_KEY=secrets.token_urlsafe(50),  # one key for all processes: shared sessions
        FC25_DATA_DIR=str(data),
        FC25_REDIS_PREFIX=f"fc25mp{secrets.token_hex(4)}",
        DJANGO_SETTINGS_MODULE="fc25_denoise.settings",
        **settings,
    )
    try:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
            cwd=ROOT,
            env=env,
            check=True,
        )
        script = (
            "from users.models import User, Friendship\n"
            f"a = User.objects.create_user('alice', password='{PASSWORD}')\n"
            f"b = User.objects.create_user('bob', password='{PASSWORD}')\n"
            f"User.objects.create_user('carol', password='{PASSWORD}')\n"
            "Friendship.objects.create(user_low=min(a, b, key=lambda u: u.pk), "
            "user_high=max(a, b, key=lambda u: u.pk))\n"
        )
        subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", script], cwd=ROOT, env=env, check=True
        )
        yield env
    finally:
        with psycopg.connect(admin_conninfo(db_url), autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture
def shared_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    with cluster_env(os.environ["DATABASE_URL"], tmp_path) as env:
        yield env


def query(env: dict[str, str], sql_text: str, *params: Any) -> list[tuple[Any, ...]]:
    """Rows of a read-only query on the processes' database."""
    import psycopg

    url = env["DATABASE_URL"].replace("postgres://", "postgresql://", 1)
    with psycopg.connect(url, autocommit=True) as conn:
        return list(conn.execute(sql_text, params).fetchall())


class Node:
    """One server process (its own data folder, as on its own machine)."""

    def __init__(self, name: str, env: dict[str, str], root: Path, **settings: str) -> None:
        self.name = name
        self.data = root / name
        self.data.mkdir(parents=True, exist_ok=True)
        self.env = {**env, "FC25_NODE_NAME": name, "FC25_DATA_DIR": str(self.data), **settings}
        self.proc: subprocess.Popen[bytes] | None = None
        self.host = ""
        self.logs: list[Path] = []

    def start(self) -> Node:
        log = self.data / f"server-{len(self.logs)}.log"
        self.logs.append(log)
        self.proc, self.host = start_server(self.env, log)
        wait_ready(self.host)
        return self

    def log_text(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self.logs if p.exists())

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            stop(self.proc, 20)


def wait_ready(host: str) -> None:
    for _ in range(300):
        try:
            requests.get(f"http://{host}/api/auth/csrf/", timeout=2)
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise AssertionError(f"{host} did not start")


def login(host: str, username: str) -> dict[str, str]:
    """Cookies (session and CSRF) of ``username`` logged in through ``host`` (once it
    answers)."""
    wait_ready(host)
    s = requests.Session()
    s.get(f"http://{host}/api/auth/csrf/", timeout=5)
    r = s.post(
        f"http://{host}/api/auth/login/",
        json={"username": username, "password": PASSWORD},
        headers={"X-CSRFToken": s.cookies["csrftoken"], "Referer": f"http://{host}/"},
        timeout=5,
    )
    assert r.status_code == 200, r.text
    return s.cookies.get_dict()
