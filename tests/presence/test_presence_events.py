"""Presence events reach friends only, never carol the outsider."""

import pytest
from channels.db import database_sync_to_async

from tests.presence.helpers import connect, events, wait_for
from users import presence, services
from users.models import User

pytestmark = pytest.mark.django_db(transaction=True)


async def test_online_and_offline_reach_friends_only(friends):
    bob_ws = await connect("bob")
    carol_ws = await connect("carol")
    alice_ws = await connect("alice")
    online = await wait_for(bob_ws, "presence")
    assert online["username"] == "alice" and online["online"] is True and online["last_seen"]
    await alice_ws.disconnect()
    offline = await wait_for(bob_ws, "presence")
    assert offline == {**offline, "username": "alice", "online": False}
    assert await events(carol_ws) == []
    await bob_ws.disconnect()
    await carol_ws.disconnect()


async def test_second_tab_does_not_flap_presence(friends):
    bob_ws = await connect("bob")
    tab1 = await connect("alice")
    assert (await wait_for(bob_ws, "presence"))["online"] is True
    tab2 = await connect("alice")
    await tab1.disconnect()
    assert await events(bob_ws) == []  # still online through tab2
    await tab2.disconnect()
    assert (await wait_for(bob_ws, "presence"))["online"] is False
    await bob_ws.disconnect()


async def test_streaming_status_reaches_friends_only(friends):
    alice, _, _ = friends
    bob_ws = await connect("bob")
    carol_ws = await connect("carol")
    await database_sync_to_async(presence.do_set_streaming)(alice, True)
    event = await wait_for(bob_ws, "streaming_status")
    assert event == {"type": "streaming_status", "username": "alice", "is_streaming": True}
    assert (await database_sync_to_async(User.objects.get)(pk=alice.pk)).is_streaming
    await database_sync_to_async(presence.do_set_streaming)(alice, False)
    assert (await wait_for(bob_ws, "streaming_status"))["is_streaming"] is False
    assert await events(carol_ws) == []
    await bob_ws.disconnect()
    await carol_ws.disconnect()


async def test_friend_request_and_friendship_events(alice, bob, carol):
    alice_ws = await connect("alice")
    bob_ws = await connect("bob")
    carol_ws = await connect("carol")
    outcome = await database_sync_to_async(services.do_send_friend_request)(alice, "bob")
    req = await wait_for(bob_ws, "friend_request")
    assert req == {"type": "friend_request", "id": outcome.request.pk, "from_user": "alice"}
    await database_sync_to_async(services.do_respond)(bob, outcome.request.pk, True)
    assert (await wait_for(alice_ws, "friendship")) == {
        "type": "friendship",
        "username": "bob",
        "status": "accepted",
    }
    assert (await wait_for(bob_ws, "friendship"))["username"] == "alice"
    await database_sync_to_async(services.do_unfriend)(alice, "bob")
    assert (await wait_for(bob_ws, "friendship")) == {
        "type": "friendship",
        "username": "alice",
        "status": "removed",
    }
    assert await events(carol_ws) == []
    for ws in (alice_ws, bob_ws, carol_ws):
        await ws.disconnect()


async def test_three_friends_each_hear_the_others(alice, bob, carol):
    # Here carol is befriended too: three users, every pair friends.
    for a, b in ((alice, bob), (alice, carol), (bob, carol)):
        await database_sync_to_async(services.do_send_friend_request)(a, b.username)
        await database_sync_to_async(services.do_send_friend_request)(b, a.username)
    sockets = {name: await connect(name) for name in ("alice", "bob", "carol")}
    heard = {name: await events(ws) for name, ws in sockets.items()}
    for name, got in heard.items():
        online = {e["username"] for e in got if e["type"] == "presence" and e["online"]}
        # Each hears the ones who connected after them.
        expected = {"alice": {"bob", "carol"}, "bob": {"carol"}, "carol": set()}[name]
        assert online == expected
    for ws in sockets.values():
        await ws.disconnect()
