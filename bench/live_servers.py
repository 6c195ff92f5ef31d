"""Server side of ``bench/live_streams.py``: server processes, their storage, CPU counters.

One process runs on the embedded defaults (SQLite in a throwaway data folder,
in-memory channel layer). Several processes share a scratch PostgreSQL database
and Redis (unique key prefix), as a real multi-process deployment must.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.servers import admin_conninfo, start_server, stop, with_database  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` (all its threads), from /proc."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


def machine_cpu() -> dict[str, float]:
    """CPU seconds of the whole machine since boot, all cores, by kind (/proc/stat).

    ``process`` (user + nice + system) is what processes are charged; ``kernel``
    (irq + softirq, e.g. loopback UDP) is charged to none; ``steal`` is taken by
    the hypervisor for other guests; ``idle`` includes iowait.
    """
    with open("/proc/stat") as fh:
        v = [int(x) / CLK_TCK for x in fh.readline().split()[1:9]]
    user, nice, system, idle, iowait, irq, softirq, steal = v
    return {
        "process": user + nice + system,
        "kernel": irq + softirq,
        "steal": steal,
        "idle": idle + iowait,
    }


@dataclass
class ServerSpec:
    """How to run a group of server processes."""

    procs: int
    model: str
    workers: int
    max_streams: int
    shared: bool
    """PostgreSQL + Redis (forced when ``procs > 1``)."""
    pg_url: str
    redis_url: str
    code_dir: Path = ROOT
    """The checkout whose server is measured (``--code`` compares several in one run)."""
    extra_env: dict[str, str] = field(default_factory=dict)
    """More settings for every process (e.g. ``FC25_MAX_LISTENERS``)."""


@dataclass
class ServerGroup:
    """Running server processes that share one database and channel layer."""

    spec: ServerSpec
    label: str = "this"
    """Which checkout this group serves (``--code``)."""
    data_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="fc25_ls_")))
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)
    db_name: str | None = None
    redis_prefix: str | None = None

    def env(self) -> dict[str, str]:
        """Environment shared by every server process (and ``manage.py migrate``)."""
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        env.update(
            FC25_LOCAL_SECRET="1",
            DJANGO_SETTINGS_MODULE="fc25_denoise.settings",
            FC25_DATA_DIR=str(self.data_dir),
            FC25_DENOISE_MODEL=self.spec.model,
            FC25_DENOISE_WORKERS=str(self.spec.workers),
            FC25_MAX_LIVE_STREAMS=str(self.spec.max_streams),
            LOG_LEVEL="WARNING",
        )
        env.update(self.spec.extra_env)
        if self.db_name is not None:
            env["DATABASE_URL"] = with_database(self.spec.pg_url, self.db_name)
        if self.redis_prefix is not None:
            env["REDIS_URL"] = self.spec.redis_url
            env["FC25_REDIS_PREFIX"] = self.redis_prefix
        return env

    def start(self) -> None:
        """Create the storage, migrate, start the processes and wait until they answer."""
        if self.spec.shared or self.spec.procs > 1:
            import psycopg
            from psycopg import sql

            self.db_name = f"fc25_ls_{secrets.token_hex(4)}"
            self.redis_prefix = f"fc25ls{secrets.token_hex(4)}"
            with psycopg.connect(admin_conninfo(self.spec.pg_url), autocommit=True) as conn:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.db_name)))
        migrate = [sys.executable, "manage.py", "migrate", "--noinput", "-v0"]
        subprocess.run(migrate, cwd=self.spec.code_dir, env=self.env(), check=True)
        for i in range(self.spec.procs):
            log = self.data_dir / f"server{i}.log"
            proc, host = start_server(self.env(), log, self.spec.code_dir)
            self.procs.append(proc)
            self.hosts.append(host)
        for i, host in enumerate(self.hosts):
            self._wait_ready(i, host)

    def _wait_ready(self, i: int, host: str) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.procs[i].poll() is not None:
                raise RuntimeError(f"server {i} exited:\n{self.log_tail(i)}")
            try:
                requests.get(f"http://{host}/api/auth/csrf/", timeout=2).raise_for_status()
                return
            except requests.RequestException:
                time.sleep(0.2)
        raise RuntimeError(f"server {i} did not answer within 60 s:\n{self.log_tail(i)}")

    def log_tail(self, i: int, lines: int = 30) -> str:
        """The end of server ``i``'s log (for error messages)."""
        path = self.data_dir / f"server{i}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def exited(self) -> list[int]:
        """Indexes of server processes that have exited."""
        return [i for i, p in enumerate(self.procs) if p.poll() is not None]

    def cpu(self) -> list[float]:
        """CPU seconds so far of each server process."""
        return [cpu_seconds(p.pid) for p in self.procs]

    def close(self, keep_data: bool = False) -> None:
        """Stop the processes, drop the scratch database and Redis keys, remove the folder."""
        for proc in self.procs:
            if proc.poll() is None:
                stop(proc, timeout=20)
        if self.db_name is not None:
            import psycopg
            from psycopg import sql

            with psycopg.connect(admin_conninfo(self.spec.pg_url), autocommit=True) as conn:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                        sql.Identifier(self.db_name)
                    )
                )
        if self.redis_prefix is not None:
            import redis

            client = redis.Redis.from_url(self.spec.redis_url)
            keys = list(client.scan_iter(f"{self.redis_prefix}*"))
            if keys:
                client.delete(*keys)
            client.close()
        if not keep_data:
            shutil.rmtree(self.data_dir, ignore_errors=True)
