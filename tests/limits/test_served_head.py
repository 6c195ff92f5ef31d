"""Against the real served process (Uvicorn): HEAD on the audio route and the health
routes answers a GET's headers, Content-Length included, with no body, and the
connection stays usable (a server that sent the body, or expected one, would break the
next response on it)."""

from __future__ import annotations

import io
import time

import numpy as np
import requests
import soundfile as sf


def _wav(seconds: float = 1.0, rate: int = 48_000) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    buf = io.BytesIO()
    sf.write(buf, (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), rate, format="WAV")
    return buf.getvalue()


def _imported(served) -> str:  # type: ignore[no-untyped-def]
    """Alice imports a second of tone; the URL of its audio once it is cleaned."""
    host, alice = served["host"], served["alice"]
    files = {"file": ("tone.wav", _wav(), "audio/wav")}
    resp = alice.post(f"http://{host}/api/recordings/import/", files=files, timeout=30)
    assert resp.status_code in (201, 202), resp.text
    rec = resp.json()["recording"]
    deadline = time.monotonic() + 60
    while rec["status"] != "ready" and time.monotonic() < deadline:
        time.sleep(0.2)
        rec = alice.get(f"http://{host}/api/recordings/{rec['id']}/", timeout=10).json()
    assert rec["status"] == "ready", rec
    return f"http://{host}{rec['audio_url']}"


def test_head_answers_headers_only_on_a_live_connection(served):
    url = _imported(served)
    bob: requests.Session = served["bob"]  # alice's friend, on one kept-alive connection
    got = bob.get(url, timeout=10)
    assert got.status_code == 200 and got.content
    for _ in range(2):  # twice: the connection survives the first
        head = bob.head(url, timeout=10)
        assert head.status_code == 200 and head.content == b""
        assert head.headers["Content-Length"] == str(len(got.content))
        assert head.headers["Content-Type"] == "audio/wav"
        assert head.headers["ETag"] == got.headers["ETag"]
    part = bob.head(url, headers={"Range": "bytes=0-99"}, timeout=10)
    assert part.status_code == 206 and part.headers["Content-Length"] == "100"
    assert bob.get(url, headers={"Range": "bytes=0-99"}, timeout=10).content == got.content[:100]
    for path in ("/healthz", "/readyz"):
        resp = requests.head(f"http://{served['host']}{path}", timeout=30)
        assert resp.status_code == 200 and resp.content == b"", path
