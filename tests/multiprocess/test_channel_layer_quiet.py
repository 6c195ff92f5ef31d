"""Server processes on Redis log no channel-layer errors, idle or live (2 minutes).

redis-py's default socket timeout (5 s) equals channels-redis's blocking pop
(5 s), which made every idle receive fail with a TimeoutError; the settings
give the layer's connections a longer one. Two processes idle for a minute,
then Alice streams through A to Bob listening through B for a minute.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from aiortc import RTCPeerConnection

from bench.live_clients import Api
from tests.multiprocess.clients import go_live, listen
from tests.multiprocess.conftest import Node, login, needs_services

pytestmark = needs_services

IDLE_S = 60.0
LIVE_S = 60.0
BAD_LINES = ("TimeoutError", "failed; retrying", "Traceback", "ERROR")


async def live_minute(a: Node, b: Node) -> tuple[int, int]:
    alice = Api(a.host, login(a.host, "alice"))
    bob = Api(b.host, login(b.host, "bob"))
    pcs: list[RTCPeerConnection] = []
    try:
        await go_live(alice, pcs)
        status, capture = await listen(bob, "alice", pcs)
        await asyncio.sleep(LIVE_S)
        stopped = await alice.apost("/api/streams/stop/")
        assert stopped.status_code == 200, stopped.text
        return status, len(capture.chunks)
    finally:
        for pc in pcs:
            await pc.close()


def test_no_channel_layer_errors_idle_or_live(shared_env, tmp_path: Path):
    settings = {"FC25_DENOISE_MODEL": "identity", "FC25_STREAM_HEARTBEAT": "2"}
    a = Node("a", shared_env, tmp_path, **settings).start()
    b = Node("b", shared_env, tmp_path, **settings).start()
    try:
        time.sleep(IDLE_S)
        with ThreadPoolExecutor(1) as pool:
            status, frames = pool.submit(asyncio.run, live_minute(a, b)).result(timeout=180)
    finally:
        a.stop()
        b.stop()
    assert status == 200
    assert frames > 0.9 * LIVE_S * 50  # 20 ms frames: Bob heard the whole minute
    for node in (a, b):
        text = node.log_text()
        bad = [line for line in text.splitlines() if any(word in line for word in BAD_LINES)]
        assert bad == [], "\n".join(bad[:20])
