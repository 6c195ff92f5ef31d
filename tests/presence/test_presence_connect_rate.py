"""A user opens at most FC25_PRESENCE_CONNECTS_PER_MINUTE presence sockets a minute; the next
is told why and closed 4408 before anything is announced. A user's first socket opening and
last one closing tell every friend, so a loop of one socket would flood the friends' pages
with presence events. Openings refused for another reason (too many tabs) are not counted."""

import json

import pytest

from tests.presence.helpers import connect, events

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_socket_opening_loop_is_cut_off(friends, settings):
    settings.PRESENCE_CONNECTS_PER_MINUTE = 3
    alice = await connect("alice")  # bob's friend, hearing his presence
    await events(alice)
    for _ in range(3):
        bob = await connect("bob")
        await bob.send_json_to({"type": "ping"})
        assert await bob.receive_json_from(timeout=2) == {"type": "pong"}
        await bob.disconnect()

    refused = await connect("bob")
    error = json.loads(await refused.receive_from(timeout=2))
    assert error == {"type": "error", "error": "Reconnecting too often. Wait a minute."}
    assert await refused.receive_output(timeout=2) == {"type": "websocket.close", "code": 4408}

    heard = [e for e in await events(alice) if e.get("type") == "presence"]
    assert [e["online"] for e in heard] == [True, False] * 3, heard  # none for the refused

    carol = await connect("carol")  # another user is not affected
    await carol.send_json_to({"type": "ping"})
    assert await carol.receive_json_from(timeout=2) == {"type": "pong"}
    for ws in (alice, carol):
        await ws.disconnect()


async def test_tabs_refused_for_the_tab_cap_do_not_use_up_the_openings(friends, settings):
    """A tab past ``FC25_MAX_PRESENCE_SOCKETS`` retries every 15-30 s and announces nothing:
    its refusals (4429) are not counted, so the user's other tabs can still reconnect."""
    settings.PRESENCE_CONNECTS_PER_MINUTE = 2
    settings.MAX_PRESENCE_SOCKETS = 1
    bob = await connect("bob")  # one opening counted
    for _ in range(5):
        extra = await connect("bob")
        await extra.receive_from(timeout=2)  # the error
        assert await extra.receive_output(timeout=2) == {"type": "websocket.close", "code": 4429}
    await bob.disconnect()
    again = await connect("bob")  # the second opening: still within the two
    await again.send_json_to({"type": "ping"})
    assert await again.receive_json_from(timeout=2) == {"type": "pong"}
    await again.disconnect()
