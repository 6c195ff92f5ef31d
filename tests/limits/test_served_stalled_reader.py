"""Against the real served process (Uvicorn, no proxy in front): a download whose client
stops reading without disconnecting is ended after ``FC25_SEND_TIMEOUT_S``. Before, it held
its coroutine, its open file and its decoder for as long as the client kept the socket."""

from __future__ import annotations

import io
import socket
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from tests.limits.conftest import serving

SECONDS = 180  # 17 MB as WAV: far more than the socket buffers between the two ends hold


def _flac(seconds: int, rate: int = 48_000) -> bytes:
    t = np.arange(seconds * rate) / rate
    buf = io.BytesIO()
    sf.write(buf, (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), rate, format="FLAC")
    return buf.getvalue()


def _get_without_reading(host: str, path: str, session: str) -> socket.socket:
    address, port = host.split(":")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a small window: fills fast
    sock.connect((address, int(port)))
    sock.sendall(
        f"GET {path} HTTP/1.1\r\nHost: {host}\r\nCookie: sessionid={session}\r\n\r\n".encode()
    )
    return sock


def _read_to_end(sock: socket.socket, limit_s: float) -> tuple[bytes, bool]:
    """Everything the server sends; whether it closed the connection (False: still open
    after ``limit_s``)."""
    sock.settimeout(1.0)
    data = bytearray()
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(1 << 20)
        except TimeoutError:
            continue
        if not chunk:
            return bytes(data), True
        data += chunk
    return bytes(data), False


def test_a_reader_that_stops_reading_is_cut_off():
    with serving(FC25_SEND_TIMEOUT_S="2") as served:
        host, alice, bob = served["host"], served["alice"], served["bob"]
        files = {"file": ("long.flac", _flac(SECONDS), "audio/flac")}
        resp = alice.post(f"http://{host}/api/recordings/import/", files=files, timeout=60)
        assert resp.status_code == 202, resp.text
        raw_url = resp.json()["recording"]["raw_audio_url"]  # stored at once, as WAV here

        # Alice reads her own (friends see a recording once it is cleaned).
        sock = _get_without_reading(host, raw_url, alice.cookies["sessionid"])
        try:
            time.sleep(5)  # the client takes nothing past the timeout
            data, closed = _read_to_end(sock, 30)
        finally:
            sock.close()
        head, _, body = data.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), head[:200]
        length = int(
            next(
                line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")
            ).split(b":")[1]
        )
        assert length == 44 + SECONDS * 48_000 * 2
        assert closed and len(body) < length  # ended short, not resumed

        log = Path(served["data"], "server.log").read_text()
        assert f"GET {raw_url.split('?')[0]}" in log and "read nothing for 2 s" in log
        assert bob.get(f"http://{host}/healthz", timeout=10).status_code == 200
