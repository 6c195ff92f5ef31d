"""Two real server processes share PostgreSQL and Redis: presence crosses between them.

Bob's presence socket is on server A; Alice connects to server B; Bob hears
that Alice came online. Needs DATABASE_URL and REDIS_URL (the services pass
of ``make test`` sets both); on the embedded defaults there is no shared
state between processes by design, so the test is skipped there.
"""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor

import websockets

from tests.multiprocess.conftest import login, needs_services
from tests.servers import start_server, stop

pytestmark = needs_services


async def _socket(host: str, session: str):
    return await websockets.connect(
        f"ws://{host}/ws/presence/",
        additional_headers={"Cookie": f"sessionid={session}"},
        origin=f"http://{host}",
    )


def test_presence_crosses_server_processes(shared_env, tmp_path):
    a, host_a = start_server(shared_env, tmp_path / "a.log")
    b, host_b = start_server(shared_env, tmp_path / "b.log")
    try:
        bob_session = login(host_a, "bob")["sessionid"]
        alice_session = login(host_b, "alice")["sessionid"]

        async def scenario() -> dict:
            bob_ws = await _socket(host_a, bob_session)
            await asyncio.sleep(0.3)
            alice_ws = await _socket(host_b, alice_session)
            try:
                while True:
                    event = json.loads(await asyncio.wait_for(bob_ws.recv(), 10))
                    if event.get("type") == "presence":
                        return event
            finally:
                await alice_ws.close()
                await bob_ws.close()

        # A fresh loop in its own thread: the session's Playwright keeps a loop
        # running in this one, where asyncio.run() is refused.
        with ThreadPoolExecutor(1) as pool:
            event = pool.submit(asyncio.run, scenario()).result()
        assert event["username"] == "alice" and event["online"] is True
    finally:
        for proc in (a, b):
            stop(proc)
