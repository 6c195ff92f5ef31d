"""A served process stopped with SIGTERM mid-stream saves the stream's recording.

Uvicorn sends the ASGI lifespan shutdown, whose handler finalizes every live
stream (``LiveHub.shutdown``): the spool WAVs become stored FLAC files and the
process exits cleanly. Without it the spool files would be left for the next
start's ``clear_stale_state``. A client holding a request open delays that shutdown by
``GRACEFUL_SHUTDOWN_S`` at most, not until the orchestrator's kill.
"""

from __future__ import annotations

import asyncio
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from bench.live_clients import Pair, encode_packet_sizes
from fc25_denoise.management.commands.runserver import GRACEFUL_SHUTDOWN_S
from tests.audio_fixtures import noisy_speech
from tests.limits.conftest import serving
from tests.servers import stop


def hold_a_request_open(host: str) -> socket.socket:
    """A login request whose body never finishes arriving (as a stalled upload's)."""
    address, port = host.rsplit(":", 1)
    client = socket.create_connection((address, int(port)))
    client.sendall(
        b"POST /api/auth/login/ HTTP/1.1\r\nHost: " + host.encode() + b"\r\n"
        b'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"user'
    )
    return client


async def live_then_sigterm(server: dict[str, Any], held: bool = False) -> float:
    """Alice goes live (Bob listens), streams 2 s, then the server gets SIGTERM; ``held``:
    with another client's request body half sent meanwhile."""
    spec = {
        "index": 0,
        "host": server["host"],
        "broadcaster": {"username": "alice", "cookies": server["alice"].cookies.get_dict()},
        "listener": {"username": "bob", "cookies": server["bob"].cookies.get_dict()},
    }
    pair = Pair(spec, encode_packet_sizes(noisy_speech(seconds=3.0, snr_db=5.0, seed=0)[2]))
    await pair.start()
    await asyncio.sleep(2.0)
    client = hold_a_request_open(server["host"]) if held else None
    await asyncio.sleep(0.5)
    t0 = time.monotonic()
    await asyncio.to_thread(stop, server["proc"], GRACEFUL_SHUTDOWN_S + 20)
    elapsed = time.monotonic() - t0
    if client is not None:
        client.close()
    for pc in pair.pcs:
        await pc.close()
    return elapsed


@pytest.mark.parametrize("held", [False, True], ids=["idle", "request_held_open"])
def test_sigterm_mid_stream_saves_the_recording(held: bool):
    with serving() as server:
        with ThreadPoolExecutor(1) as pool:
            elapsed = pool.submit(asyncio.run, live_then_sigterm(server, held)).result(timeout=120)
        # Uvicorn re-raises the signal once its shutdown completed: -15, not a kill (-9).
        assert server["proc"].returncode == -15
        saved = list((server["data"] / "media" / "recordings").glob("*/*-cleaned.flac"))
        left = list((server["data"] / "spool").glob("*/*.wav"))
        sizes = [path.stat().st_size for path in saved]
    assert len(sizes) == 1 and sizes[0] > 1000
    assert left == []
    # Uvicorn's default waited for the held request for ever (the stop above then kills).
    assert elapsed < (GRACEFUL_SHUTDOWN_S if held else 0) + 15
