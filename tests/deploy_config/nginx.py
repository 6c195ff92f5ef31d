"""deploy/infra/nginx.sh's nginx config, rendered (``--print-config``) and read block by block,
or run: :func:`serving` starts Debian's nginx on it in a temporary prefix."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.servers import ROOT

SCRIPT = ROOT / "deploy" / "infra" / "nginx.sh"
BASE_ENV = {
    "FC25_DOMAIN": "voice.example.org",
    "FC25_HTTPS_PORT": "443",
    "FC25_HTTP_PORT": "80",
    "FC25_APP1_PORT": "8001",
    "FC25_APP2_PORT": "8002",
}
NGINX = shutil.which("nginx") or next(
    (p for p in ("/usr/sbin/nginx", "/sbin/nginx") if os.access(p, os.X_OK)), None
)
"""Debian's nginx (in /usr/sbin, which a non-root PATH may lack), or None."""


def render(**env: str) -> str:
    """The config nginx.sh writes, for ``env`` over :data:`BASE_ENV`."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FC25_")}
    done = subprocess.run(
        ["sh", str(SCRIPT), "--print-config"],
        env={**clean, **BASE_ENV, **env},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def block(config: str, opening: str) -> str:
    """The text of the block that starts with the line ``opening`` (e.g. ``location / {``),
    nested blocks included. Raises AssertionError if there is none."""
    lines = config.splitlines()
    starts = [i for i, line in enumerate(lines) if line.strip() == opening]
    assert starts, f"no block {opening!r} in:\n{config}"
    depth, body = 0, []
    for line in lines[starts[0] :]:
        text = line.split("#", 1)[0]
        body.append(line)
        depth += text.count("{") - text.count("}")
        if depth == 0:
            break
    return "\n".join(body)


def directives(text: str) -> list[str]:
    """The simple directives of ``text``, one per entry, whitespace squeezed, comments out."""
    out = []
    for line in text.splitlines():
        code = " ".join(line.split("#", 1)[0].split())
        if code.endswith(";"):
            out.append(code)
    return out


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _certificate(folder: Path) -> None:
    # An EC key: made in milliseconds (RSA 2048 can take a second on a busy machine).
    key, cert = str(folder / "privkey.pem"), str(folder / "fullchain.pem")
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-keyout",
            key,
            "-out",
            cert,
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )


def runnable(config: str, prefix: Path) -> str:
    """``config`` made to run unprivileged from ``prefix``: its own pid file, certificate
    and temp folders, and IPv4 loopback only (the machine may have no IPv6)."""
    _certificate(prefix)
    for folder in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (prefix / folder).mkdir()
    temp = "".join(
        f"    {name}_temp_path {prefix / folder};\n"
        for name, folder in (
            ("client_body", "body"),
            ("proxy", "proxy"),
            ("fastcgi", "fastcgi"),
            ("uwsgi", "uwsgi"),
            ("scgi", "scgi"),
        )
    )
    lines = [line for line in config.splitlines() if "listen [::]" not in line]
    text = "\n".join(lines).replace("pid /run/nginx.pid;", f"pid {prefix / 'nginx.pid'};")
    text = text.replace("/etc/fc25/tls/", f"{prefix}/").replace("http {\n", "http {\n" + temp, 1)
    return text.replace("listen ", "listen 127.0.0.1:")


@contextmanager
def serving(prefix: Path, config: str) -> Iterator[None]:
    """nginx running ``config`` (see :func:`runnable`) until the block ends; checked with
    ``nginx -t`` first. Raises AssertionError if it does not start listening."""
    assert NGINX is not None
    conf = prefix / "nginx.conf"
    conf.write_text(config)
    base = [NGINX, "-p", str(prefix), "-e", "stderr", "-c", str(conf)]
    checked = subprocess.run([*base, "-t"], capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr
    log = (prefix / "nginx.log").open("w")
    proc = subprocess.Popen([*base, "-g", "daemon off;"], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while not (prefix / "nginx.pid").exists():
            assert proc.poll() is None, (prefix / "nginx.log").read_text()
            assert time.monotonic() < deadline, "nginx did not start"
            time.sleep(0.02)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
