"""Against the real served process: no request body can exhaust it.

1 GB chunked and 1 GB declared bodies, and 250 MB multipart ones, anonymous and
logged in, to the import route and a JSON route: each is answered with a 413 JSON
error (declared length over the limit, or past it when logged in) or a 401
(anonymous and chunked) after the server read at most its limit (the client is cut off),
the server's RSS barely moves, no temporary file is left, and a GET sent in
parallel is answered promptly (the event loop never stalls). Bodies are
generated lazily, 1 MB at a time.
"""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.servers import ROOT, start_server, stop

UPLOAD_MAX_MB = 8
MB = 1024 * 1024
GB = 1024 * MB
RSS_GROWTH_MAX = 50 * MB
PARALLEL_GET_MAX_S = 0.5
SOCKET_SLACK = 16 * MB
"""What kernel socket buffers and the server's high-water mark may hold past the limit."""


@pytest.fixture(scope="module")
def served() -> Iterator[dict[str, str]]:
    data_dir = Path(tempfile.mkdtemp(prefix="fc25_limits_"))
    tmp_dir = data_dir / "tmp"
    tmp_dir.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        FC25_DATA_DIR=str(data_dir),
        FC25_LOCAL_SECRET="1",
        FC25_UPLOAD_MAX_MB=str(UPLOAD_MAX_MB),
        DJANGO_SETTINGS_MODULE="fc25_denoise.settings",
        TMPDIR=str(tmp_dir),
    )
    manage = [sys.executable, "manage.py", "migrate", "--noinput", "-v0"]
    subprocess.run(manage, cwd=ROOT, env=env, check=True)
    proc, host = start_server(env, data_dir / "server.log")
    try:
        session = requests.Session()
        for _ in range(300):
            try:
                session.get(f"http://{host}/api/auth/csrf/", timeout=2)
                break
            except requests.ConnectionError:
                time.sleep(0.2)
        r = session.post(
            f"http://{host}/api/auth/register/",
            json={"username": "alice", "password": "correct-horse-battery-9"},
            headers={"X-CSRFToken": session.cookies["csrftoken"], "Referer": f"http://{host}/"},
            timeout=10,
        )
        assert r.status_code == 201, r.text
        yield {
            "host": host,
            "pid": str(proc.pid),
            "sessionid": session.cookies["sessionid"],
            "tmp": str(tmp_dir),
        }
    finally:
        stop(proc)


def rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def body(size: int, multipart: bool) -> tuple[bytes, Iterator[bytes], int]:
    """(content type, the body 1 MB at a time, its total length)."""
    block = b"\0" * MB
    head = tail = b""
    ctype = b"application/octet-stream"
    if multipart:
        ctype = b"multipart/form-data; boundary=xYzZy"
        head = (
            b'--xYzZy\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n'
            b"Content-Type: audio/wav\r\n\r\n"
        )
        tail = b"\r\n--xYzZy--\r\n"

    def chunks() -> Iterator[bytes]:
        if head:
            yield head
        for _ in range(size // MB):
            yield block
        if tail:
            yield tail

    return ctype, chunks(), len(head) + size + len(tail)


def post(host: str, path: str, size: int, *, chunked: bool, multipart: bool, cookie: str):
    """Send the body while reading the reply; returns (status, JSON reply, bytes sent)."""
    ctype, chunks, length = body(size, multipart)
    framing = b"Transfer-Encoding: chunked" if chunked else b"Content-Length: %d" % length
    head = b"POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\n%s\r\n" % (
        path.encode(),
        host.encode(),
        ctype,
        framing,
    )
    if cookie:
        head += b"Cookie: sessionid=%s\r\n" % cookie.encode()
    pending = head + b"\r\n"
    sent, reply = 0, b""
    sock = socket.create_connection(tuple(host.split(":")), timeout=30)  # type: ignore[arg-type]
    sock.setblocking(False)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            if not pending and chunks is not None:
                chunk = next(chunks, None)
                if chunk is None:
                    chunks, pending = None, (b"0\r\n\r\n" if chunked else b"")
                else:
                    pending = b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk
            readable, writable, _ = select.select([sock], [sock] if pending else [], [], 5)
            if readable:
                try:
                    data = sock.recv(65536)
                except ConnectionResetError:
                    data = b""
                if not data:
                    break
                reply += data
            if writable:
                try:
                    n = sock.send(pending[:MB])
                except (BrokenPipeError, ConnectionResetError):
                    pending, chunks = b"", None
                    continue
                sent, pending = sent + n, pending[n:]
    finally:
        sock.close()
    status_line, _, rest = reply.partition(b"\r\n")
    headers, _, content = rest.partition(b"\r\n\r\n")
    assert b"content-type: application/json" in headers.lower(), reply[:500]
    return int(status_line.split()[1]), json.loads(content), sent


class Watch:
    """Samples the server's RSS and times GET /api/auth/csrf/ while an upload runs."""

    def __init__(self, host: str, pid: int) -> None:
        self.host, self.pid = host, pid
        self.baseline = rss(pid)
        self.peak = self.baseline
        self.slowest_get = 0.0
        self._done = threading.Event()
        self._threads = [threading.Thread(target=self._sample), threading.Thread(target=self._get)]

    def _sample(self) -> None:
        while not self._done.wait(0.02):
            self.peak = max(self.peak, rss(self.pid))

    def _get(self) -> None:
        while not self._done.is_set():
            t0 = time.monotonic()
            r = requests.get(f"http://{self.host}/api/auth/csrf/", timeout=10)
            assert r.status_code == 200
            self.slowest_get = max(self.slowest_get, time.monotonic() - t0)
            self._done.wait(0.05)

    def __enter__(self) -> Watch:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        for thread in self._threads:
            thread.join()


CASES = [  # (size, chunked, multipart)
    pytest.param(GB, True, False, id="1GB-chunked"),
    pytest.param(GB, False, False, id="1GB-length"),
    pytest.param(250 * MB, False, True, id="250MB-multipart"),
    pytest.param(250 * MB, True, True, id="250MB-multipart-chunked"),
]


@pytest.mark.parametrize("logged_in", [False, True], ids=["anonymous", "alice"])
@pytest.mark.parametrize("path", ["/api/recordings/import/", "/api/friends/requests/"])
@pytest.mark.parametrize(("size", "chunked", "multipart"), CASES)
def test_huge_body_is_refused_without_exhausting_the_server(
    served, path, logged_in, size, chunked, multipart
):
    host, pid = served["host"], int(served["pid"])
    cookie = served["sessionid"] if logged_in else ""
    with Watch(host, pid) as watch:
        status, reply, sent = post(
            host, path, size, chunked=chunked, multipart=multipart, cookie=cookie
        )
    if not logged_in and chunked:  # a declared length over the limit is refused first
        assert (status, reply) == (401, {"error": "Authentication required."})
    elif path == "/api/recordings/import/":
        assert (status, reply) == (
            413,
            {"error": f"The file is larger than the {UPLOAD_MAX_MB} MB limit."},
        )
    else:
        assert status == 413 and reply["error"].startswith("Request body is larger than")
    limit = UPLOAD_MAX_MB * MB if logged_in and path.endswith("import/") else 0
    assert sent < limit + SOCKET_SLACK, f"the server read {sent} bytes"
    assert watch.peak - watch.baseline < RSS_GROWTH_MAX, (watch.baseline, watch.peak)
    assert watch.slowest_get < PARALLEL_GET_MAX_S
    assert os.listdir(served["tmp"]) == []
