"""Browser-test fixtures: a real server (Uvicorn) in a subprocess and headless Chromium.

The tests talk to the server over HTTP/WebSocket only; they never touch the
pytest-django test database. The server gets its own temporary data folder
(SQLite) or, when ``DATABASE_URL`` is set, its own freshly created PostgreSQL
database (dropped afterwards) and a random Redis prefix.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import numpy as np
import pytest

from tests.browser.helpers import CHROMIUM, CHROMIUM_ARGS
from tests.browser.live_helpers import launch_with_fake_mic, write_wav

if TYPE_CHECKING:
    from playwright.sync_api import Browser

from tests.servers import ROOT, admin_conninfo, start_server, stop, with_database

STARTUP_TIMEOUT_S = 60

_server_logs: dict[str, Path] = {}  # running servers' logs, read by the report hook below


def _read_log(log: Path | None) -> str:
    if log is None or not log.exists():
        return "(no server log)"
    return log.read_text(errors="replace")[-20000:]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, None]:
    """Attach the servers' logs to every failing browser test's report."""
    outcome = yield
    report = outcome.get_result()
    names = getattr(item, "fixturenames", ())
    if report.failed and any(name.endswith("server_url") for name in names):
        for name, log in _server_logs.items():
            report.sections.append((f"server log, {name} (tail)", _read_log(log)))


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    """Override tests/conftest.py's cache reset: browser tests use no in-process cache.

    With REDIS_URL set, Django's ``RedisCache.clear()`` is a FLUSHDB (it ignores
    KEY_PREFIX), which would also wipe the live server's channel-layer state.
    """


# --- PostgreSQL: one throwaway database per server


@contextmanager
def fresh_database() -> Iterator[str | None]:
    """A fresh PostgreSQL database URL if DATABASE_URL is set, else None (SQLite)."""
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        yield None
        return
    import psycopg
    from psycopg import sql

    name = f"fc25_browser_{secrets.token_hex(6)}"
    base_db = unquote(urlsplit(url).path.lstrip("/"))
    admin = admin_conninfo(url)
    try:
        conn = psycopg.connect(admin, autocommit=True)
    except psycopg.OperationalError:  # no "postgres" database: use the URL's own
        conn = psycopg.connect(with_database(url, base_db), autocommit=True)
    with conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield with_database(url, name)
    finally:
        try:
            conn = psycopg.connect(admin, autocommit=True)
        except psycopg.OperationalError:
            conn = psycopg.connect(with_database(url, base_db), autocommit=True)
        with conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture(scope="session")
def _server_database() -> Iterator[str | None]:
    with fresh_database() as url:
        yield url


@contextmanager
def run_server(
    database_url: str | None, extra_env: dict[str, str] | None = None, name: str = "main"
) -> Iterator[str]:
    """Run the server on a free port with a fresh data folder; yield its base URL.

    ``extra_env`` overrides settings for this server only (e.g. FC25_MAX_LIVE_STREAMS).
    """
    data_dir = Path(tempfile.mkdtemp(prefix="fc25_browser_"))
    log = data_dir / "server.log"
    env = dict(os.environ)
    env.update(
        FC25_DATA_DIR=str(data_dir),
        FC25_LOCAL_SECRET="1",
        DJANGO_SETTINGS_MODULE="fc25_denoise.settings",
        PYTHONUNBUFFERED="1",
    )
    if database_url:
        env["DATABASE_URL"] = database_url
    if env.get("REDIS_URL"):
        env["FC25_REDIS_PREFIX"] = f"fc25test{secrets.token_hex(4)}"
    env.update(extra_env or {})

    migrate = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if migrate.returncode != 0:
        pytest.fail(f"migrate failed:\n{migrate.stdout}\n{migrate.stderr}")

    proc, host = start_server(env, log)
    _server_logs[name] = log
    url = f"http://{host}"
    try:
        _wait_until_up(proc, url, log)
        yield url
    finally:
        stop(proc)
        if proc.returncode not in (0, -15):
            print(f"\n--- server exited with {proc.returncode}; log tail:\n{_read_log(log)}")
        _server_logs.pop(name, None)
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def live_server_url(_server_database: str | None) -> Iterator[str]:
    """The shared browser-test server (see :func:`run_server`)."""
    with run_server(_server_database) as url:
        yield url


def _wait_until_up(proc: subprocess.Popen, url: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"server exited early ({proc.returncode}):\n{_read_log(log)}")
        try:
            with urllib.request.urlopen(f"{url}/api/auth/csrf/", timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    pytest.fail(f"server did not answer within {STARTUP_TIMEOUT_S}s:\n{_read_log(log)}")


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Headless Debian Chromium via Playwright's sync API (never `playwright install`)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def fake_mic_browser(
    browser: Browser, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Browser]:
    """Chromium whose microphone plays a 4 s 330 Hz tone (one per test module)."""
    rate = 48_000
    t = np.arange(4 * rate) / rate
    wav = write_wav(
        tmp_path_factory.mktemp("mic") / "tone.wav", 0.2 * np.sin(2 * np.pi * 330 * t), rate
    )
    chromium = launch_with_fake_mic(browser, Path(wav))
    try:
        yield chromium
    finally:
        chromium.close()
