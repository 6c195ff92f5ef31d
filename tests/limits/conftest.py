"""One real served process for the body-limit tests (Uvicorn, SQLite, its own TMPDIR).

Alice and Bob are registered through the API and are friends (Bob listens to
Alice's live stream). The live path runs the ``identity`` model: these tests
measure the server, not the model's CPU.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.servers import ROOT, start_server, stop

UPLOAD_MAX_MB = 8
PASSWORD = "correct-horse-battery-9"


def register(host: str, username: str) -> requests.Session:
    """A logged-in API session for a new user (CSRF cookie and header set)."""
    session = requests.Session()
    for _ in range(300):
        try:
            session.get(f"http://{host}/api/auth/csrf/", timeout=2)
            break
        except requests.ConnectionError:
            time.sleep(0.2)
    session.headers.update(
        {"X-CSRFToken": session.cookies["csrftoken"], "Referer": f"http://{host}/"}
    )
    r = session.post(
        f"http://{host}/api/auth/register/",
        json={"username": username, "password": PASSWORD},
        timeout=10,
    )
    assert r.status_code == 201, r.text
    session.headers["X-CSRFToken"] = session.cookies["csrftoken"]  # rotated at login
    return session


@contextmanager
def serving(**extra_env: str) -> Iterator[dict[str, Any]]:
    """A served process with Alice and Bob (friends), with ``extra_env`` added to its
    environment; stopped (SIGTERM) and removed after."""
    data_dir = Path(tempfile.mkdtemp(prefix="fc25_limits_"))
    tmp_dir = data_dir / "tmp"
    tmp_dir.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        FC25_DATA_DIR=str(data_dir),
        FC25_LOCAL_SECRET="1",
        FC25_UPLOAD_MAX_MB=str(UPLOAD_MAX_MB),
        FC25_DENOISE_MODEL="identity",
        DJANGO_SETTINGS_MODULE="fc25_denoise.settings",
        TMPDIR=str(tmp_dir),
        **extra_env,
    )
    manage = [sys.executable, "manage.py", "migrate", "--noinput", "-v0"]
    subprocess.run(manage, cwd=ROOT, env=env, check=True)
    proc, host = start_server(env, data_dir / "server.log")
    try:
        alice, bob = register(host, "alice"), register(host, "bob")
        for me, other in ((alice, "bob"), (bob, "alice")):  # the second request accepts
            r = me.post(f"http://{host}/api/friends/requests/", json={"to_user": other})
            assert r.status_code in (200, 201), r.text
        yield {
            "host": host,
            "pid": proc.pid,
            "proc": proc,
            "data": data_dir,
            "tmp": str(tmp_dir),
            "alice": alice,
            "bob": bob,
        }
    finally:
        stop(proc)
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="package")
def served() -> Iterator[dict[str, Any]]:
    """One served process shared by the package's tests."""
    with serving() as server:
        yield server
