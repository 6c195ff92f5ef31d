"""A live stream on the real served process loses no frame while huge uploads are refused.

Alice broadcasts and Bob listens over real WebRTC (the clients of
``bench/live_clients.py``) while a 1 GB chunked upload (anonymous), a 1 GB
chunked upload as Bob and a 250 MB multipart upload as Bob are refused: the
server's stop stats show every frame of the session handled (about 50 a second),
none bypassed or dropped, and the listener heard no long gap.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench.live_clients import PACKET_S, Pair, encode_packet_sizes
from tests.audio_fixtures import noisy_speech
from tests.limits.uploads import MB, post

MAX_GAP_MS = 300


def uploads(host: str, bob_session: str) -> list[tuple[int, float]]:
    """The three refused uploads, one after the other; (status, seconds) of each."""
    results = []
    for size, multipart, cookie in (
        (1024 * MB, False, ""),
        (1024 * MB, False, bob_session),
        (250 * MB, True, bob_session),
    ):
        t0 = time.monotonic()
        status, _, _ = post(
            host, "/api/recordings/import/", size, chunked=True, multipart=multipart, cookie=cookie
        )
        results.append((status, time.monotonic() - t0))
    return results


async def scenario(served: dict[str, Any]) -> tuple[Any, list[tuple[int, float]]]:
    host = served["host"]
    spec = {
        "index": 0,
        "host": host,
        "broadcaster": {"username": "alice", "cookies": served["alice"].cookies.get_dict()},
        "listener": {"username": "bob", "cookies": served["bob"].cookies.get_dict()},
    }
    packets = encode_packet_sizes(noisy_speech(seconds=4.0, snr_db=5.0, seed=0)[2])
    pair = Pair(spec, packets)
    await pair.start()
    loop = asyncio.get_running_loop()
    mark = loop.time()
    await asyncio.sleep(1.0)
    refused = await asyncio.to_thread(uploads, host, served["bob"].cookies["sessionid"])
    await asyncio.sleep(1.0)
    pair.window(mark, loop.time())
    await pair.stop()
    return pair.result, refused


def test_live_stream_loses_no_frame_while_uploads_are_refused(served):
    # A fresh loop in its own thread: a Playwright session may own this one's loop.
    with ThreadPoolExecutor(1) as pool:
        result, refused = pool.submit(asyncio.run, scenario(served)).result(timeout=180)
    assert [status for status, _ in refused] == [401, 413, 413]
    assert result.error is None, result.error
    stats = result.stop["stats"]
    assert stats["bypassed"] == 0 and stats["dropped"] == 0, stats
    assert stats["frames"] >= 0.9 * result.session_s / PACKET_S, (stats, result.session_s)
    assert result.window_frames >= 0.9 * result.window_s / PACKET_S
    assert result.max_gap_ms < MAX_GAP_MS, result.max_gap_ms
    assert result.stop["recording_id"] is not None  # the session was recorded
