"""Bad frames are answered with an error, never crash the socket; disconnect clears presence."""

import pytest
from channels.db import database_sync_to_async

from tests.presence.helpers import connect, wait_for
from users.models import PresenceConnection

pytestmark = pytest.mark.django_db(transaction=True)


def is_online(username: str) -> bool:
    return PresenceConnection.objects.filter(user__username=username).exists()


@pytest.mark.parametrize(
    "frame",
    [
        {"text_data": "not json {"},
        {"bytes_data": b"\x00\x01binary"},
        {"text_data": "   "},
        {"text_data": "[" * 100_000},
    ],
)
async def test_bad_frame_is_answered_and_socket_keeps_working(friends, frame):
    bob_ws = await connect("bob")
    alice_ws = await connect("alice")
    assert (await wait_for(bob_ws, "presence"))["online"] is True
    await alice_ws.send_to(**frame)
    reply = await alice_ws.receive_json_from(timeout=2)
    assert reply["type"] == "error" and reply["error"]
    await alice_ws.send_json_to({"type": "ping"})
    assert await alice_ws.receive_json_from(timeout=2) == {"type": "pong"}
    assert await database_sync_to_async(is_online)("alice")

    await alice_ws.disconnect()  # disconnect() ran: presence cleared, friends told
    assert (await wait_for(bob_ws, "presence"))["online"] is False
    assert not await database_sync_to_async(is_online)("alice")
    await bob_ws.disconnect()


async def test_json_that_is_not_an_object_is_ignored(friends):
    alice_ws = await connect("alice")
    await alice_ws.send_to(text_data="[1, 2]")
    await alice_ws.send_json_to({"type": "ping"})
    assert await alice_ws.receive_json_from(timeout=2) == {"type": "pong"}
    await alice_ws.disconnect()


async def test_a_failing_handler_still_clears_presence(friends, monkeypatch):
    from users.consumers import PresenceConsumer

    async def broken(self, content, **kwargs):
        raise RuntimeError("handler bug")

    monkeypatch.setattr(PresenceConsumer, "receive_json", broken)
    bob_ws = await connect("bob")
    alice_ws = await connect("alice")
    assert (await wait_for(bob_ws, "presence"))["online"] is True
    await alice_ws.send_json_to({"type": "ping"})
    assert await alice_ws.receive_output(timeout=2) == {"type": "websocket.close", "code": 1011}
    assert (await wait_for(bob_ws, "presence"))["online"] is False
    assert not await database_sync_to_async(is_online)("alice")
    await bob_ws.disconnect()
