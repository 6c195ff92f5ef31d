"""Real server processes for end-to-end tests (browser, multi-process).

Shared by ``tests/browser`` and ``tests/multiprocess`` so there is one way
to pick a port, start the server, and make a throwaway PostgreSQL database.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from fc25_denoise.management.commands.runserver import GRACEFUL_SHUTDOWN_S, WS_MAX_BYTES

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def admin_conninfo(url: str) -> str:
    """The same PostgreSQL server, database ``postgres`` (to CREATE/DROP DATABASE)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + quote(name)))


def server_command(port: int, code_dir: Path = ROOT) -> list[str]:
    """The command serving ``code_dir`` on ``port``: Uvicorn, or Daphne for a checkout
    from before Uvicorn (benchmarks compare such a checkout with this one)."""
    requirements = (code_dir / "requirements.txt").read_text()
    if "uvicorn" not in requirements:
        app = "fc25_denoise.asgi:application"
        return [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), app]
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--lifespan",
        "on",
        "--ws-max-size",
        str(WS_MAX_BYTES),
        "--timeout-graceful-shutdown",
        str(GRACEFUL_SHUTDOWN_S),
        "fc25_denoise.asgi:application",
    ]


LOOPBACK_CLIENT_LIMITS = {
    "FC25_REGISTER_CLIENT_LIMIT": "100000",
    "FC25_LOGIN_CHECKS_PER_MINUTE": "100000",
}
"""Every client of a test or benchmark server is this machine (127.0.0.1), which the
per-address caps on registrations and password checks would count as one client; a
test of those caps sets its own values."""


def start_server(
    env: dict[str, str], log_path: Path, code_dir: Path = ROOT
) -> tuple[subprocess.Popen[bytes], str]:
    """Start the ASGI server on a free loopback port; returns the process and ``host:port``.

    ``code_dir``: the checkout to serve (benchmarks compare two in one run). The per-address
    caps are lifted (:data:`LOOPBACK_CLIENT_LIMITS`) unless ``env`` sets them.
    Output goes to ``log_path``; the caller waits for readiness and stops it.
    """
    port = free_port()
    env = {**LOOPBACK_CLIENT_LIMITS, **env}
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            server_command(port, code_dir),
            cwd=code_dir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return proc, f"127.0.0.1:{port}"


def stop(proc: subprocess.Popen[bytes], timeout: float = 10) -> None:
    """Terminate, then kill if it does not exit in time."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)
