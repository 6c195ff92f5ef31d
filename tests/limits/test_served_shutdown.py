"""A served process stopped with SIGTERM mid-stream saves the stream's recording.

Uvicorn sends the ASGI lifespan shutdown, whose handler finalizes every live
stream (``LiveHub.shutdown``): the spool WAVs become stored FLAC files and the
process exits cleanly. Without it the spool files would be left for the next
start's ``clear_stale_state``.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench.live_clients import Pair, encode_packet_sizes
from tests.audio_fixtures import noisy_speech
from tests.limits.conftest import serving
from tests.servers import stop


async def live_then_sigterm(server: dict[str, Any]) -> float:
    """Alice goes live (Bob listens), streams 2 s, then the server gets SIGTERM."""
    spec = {
        "index": 0,
        "host": server["host"],
        "broadcaster": {"username": "alice", "cookies": server["alice"].cookies.get_dict()},
        "listener": {"username": "bob", "cookies": server["bob"].cookies.get_dict()},
    }
    pair = Pair(spec, encode_packet_sizes(noisy_speech(seconds=3.0, snr_db=5.0, seed=0)[2]))
    await pair.start()
    await asyncio.sleep(2.0)
    t0 = time.monotonic()
    await asyncio.to_thread(stop, server["proc"], 20)
    elapsed = time.monotonic() - t0
    for pc in pair.pcs:
        await pc.close()
    return elapsed


def test_sigterm_mid_stream_saves_the_recording():
    with serving() as server:
        with ThreadPoolExecutor(1) as pool:
            elapsed = pool.submit(asyncio.run, live_then_sigterm(server)).result(timeout=120)
        # Uvicorn re-raises the signal once its shutdown completed: -15, not a kill (-9).
        assert server["proc"].returncode == -15
        saved = list((server["data"] / "media" / "recordings").glob("*/*-cleaned.flac"))
        left = list((server["data"] / "spool").glob("*/*.wav"))
        sizes = [path.stat().st_size for path in saved]
    assert len(sizes) == 1 and sizes[0] > 1000
    assert left == []
    assert elapsed < 15
