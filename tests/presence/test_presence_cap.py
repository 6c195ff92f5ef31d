"""A user holds at most FC25_MAX_PRESENCE_SOCKETS presence sockets; the next is closed 4429."""

import json

import pytest
from channels.db import database_sync_to_async

from tests.presence.helpers import connect
from users.models import PresenceConnection

pytestmark = pytest.mark.django_db(transaction=True)


def open_count(username: str) -> int:
    return PresenceConnection.objects.filter(user__username=username).count()


async def test_socket_over_the_cap_is_refused_with_4429(friends, settings):
    settings.MAX_PRESENCE_SOCKETS = 2
    first, second = await connect("alice"), await connect("alice")
    third = await connect("alice")
    refused = json.loads(await third.receive_from(timeout=2))
    assert refused["type"] == "error" and "2" in refused["error"]
    assert await third.receive_output(timeout=2) == {"type": "websocket.close", "code": 4429}
    assert await database_sync_to_async(open_count)("alice") == 2

    # The open ones keep working; another user is not affected.
    await second.send_json_to({"type": "ping"})
    assert await second.receive_json_from(timeout=2) == {"type": "pong"}
    bob = await connect("bob")
    await bob.send_json_to({"type": "ping"})
    assert await bob.receive_json_from(timeout=2) == {"type": "pong"}

    # A closed tab frees its slot.
    await first.disconnect()
    again = await connect("alice")
    await again.send_json_to({"type": "ping"})
    assert await again.receive_json_from(timeout=2) == {"type": "pong"}
    for ws in (second, again, bob):
        await ws.disconnect()
    assert await database_sync_to_async(open_count)("alice") == 0
