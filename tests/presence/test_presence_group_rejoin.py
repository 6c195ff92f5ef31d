"""A presence socket open longer than the channel layer's ``group_expiry`` (a day) keeps
hearing its friends and its session's logout: it joins its group again while it is open.

The layer's clock is a fake moved forward a day; the re-join interval is shrunk."""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from tests.presence.helpers import api_login, api_logout, socket_for, wait_for
from users import consumers, presence

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _in_memory_layer(settings):
    """This file looks at the in-memory layer's members and clock, so it runs on that
    layer whatever the suite's (the consumer's behaviour is the same on Redis)."""
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


DAY_S = 86400  # the layer's default group_expiry


class FakeLayerClock:
    """Stands in for the ``time`` module inside ``channels.layers`` (it calls only ``time()``)."""

    def __init__(self) -> None:
        import time

        self.now = time.time()

    def time(self) -> float:
        return self.now


async def heard_after_publishing(comm: WebsocketCommunicator, alice, tries: int = 50) -> dict:
    """Publish alice's live status until ``comm`` hears it: a publish sent before the socket
    joins again is lost (that is what is under test), so one is sent per attempt."""
    for attempt in range(tries):
        streaming = attempt % 2 == 0
        await database_sync_to_async(presence.do_set_streaming)(alice, streaming)
        if not await comm.receive_nothing(timeout=0.1):
            return await wait_for(comm, "streaming_status", timeout=1)
    raise AssertionError("the socket never heard its friend again")


async def test_socket_open_past_group_expiry_still_hears_friends_and_logout(friends, monkeypatch):
    import channels.layers

    alice, _, _ = friends
    clock = FakeLayerClock()
    monkeypatch.setattr(channels.layers, "time", clock)
    monkeypatch.setattr(consumers, "REJOIN_INTERVAL_S", 0.02, raising=False)

    bob_browser = await database_sync_to_async(api_login)("bob")
    bob_ws = await socket_for(bob_browser)
    await bob_ws.send_json_to({"type": "ping"})  # answered once connect() has run to its end
    assert await bob_ws.receive_json_from(timeout=2) == {"type": "pong"}
    clock.now += DAY_S + 60  # the join made at connect has expired

    event = await heard_after_publishing(bob_ws, alice)
    assert event["username"] == "alice"

    # The session_ended message goes to the same group: logging out still closes the socket.
    assert await database_sync_to_async(api_logout)(bob_browser) == 204
    deadline = asyncio.get_running_loop().time() + 3
    while True:
        out = await bob_ws.receive_output(timeout=deadline - asyncio.get_running_loop().time())
        if out["type"] == "websocket.close":
            break
    assert out == {"type": "websocket.close", "code": 4401}
    await bob_ws.disconnect()
