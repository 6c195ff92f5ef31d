"""Huge request bodies, generated lazily, sent to a real server while it is watched."""

from __future__ import annotations

import json
import select
import socket
import threading
import time
from collections.abc import Iterator

import requests

MB = 1024 * 1024


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
    """Samples the server's RSS and times GET /api/auth/csrf/ while an upload runs.

    The GETs run on a thread: a failed one (not 200, an error, or one still unanswered
    when the watch ends, timed up to then) is recorded and raised at the end of the
    ``with`` block, so the test fails rather than the thread alone.
    """

    def __init__(self, host: str, pid: int) -> None:
        self.host, self.pid = host, pid
        self.baseline = rss(pid)
        self.peak = self.baseline
        self.slowest_get = 0.0
        self.gets = 0
        self.errors: list[str] = []
        self._get_started: float | None = None
        self._done = threading.Event()
        self._threads = [threading.Thread(target=self._sample), threading.Thread(target=self._get)]

    def _sample(self) -> None:
        while not self._done.wait(0.02):
            self.peak = max(self.peak, rss(self.pid))

    def _get(self) -> None:
        while not self._done.is_set():
            self._get_started = t0 = time.monotonic()
            try:
                r = requests.get(f"http://{self.host}/api/auth/csrf/", timeout=10)
            except requests.RequestException as exc:
                self.errors.append(repr(exc))
                return
            finally:
                self.slowest_get = max(self.slowest_get, time.monotonic() - t0)
                self._get_started = None
            if r.status_code != 200:
                self.errors.append(f"GET /api/auth/csrf/ answered {r.status_code}")
                return
            self.gets += 1
            self._done.wait(0.05)

    def __enter__(self) -> Watch:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        started = self._get_started
        if started is not None:  # a GET still waiting for its answer counts as that slow
            self.slowest_get = max(self.slowest_get, time.monotonic() - started)
        for thread in self._threads:
            thread.join()
        if exc[0] is None:
            assert not self.errors, self.errors
            assert self.gets > 0, "no GET was answered while the upload ran"
