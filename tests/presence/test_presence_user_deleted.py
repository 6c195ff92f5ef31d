"""Deleting an account (the admin, ``manage.py``, any ``delete()``) ends it everywhere at
once: its presence sockets close with 4401, its friends hear
``{"type":"friendship","status":"removed"}`` (their pages drop it), and a friend request it
had pending is closed for the other side; outsiders hear nothing. Its sockets then leave
without an error."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from channels.db import database_sync_to_async

from tests.presence.helpers import connect, events, wait_for
from users.models import FriendRequest, PresenceConnection, User

pytestmark = pytest.mark.django_db(transaction=True)


def delete_alice() -> None:
    User.objects.get(username="alice").delete()


async def closed_code(comm: Any) -> int:
    """The close code ``comm`` is sent within 2 s (events before it are skipped)."""
    while True:
        out = await comm.receive_output(timeout=2)
        if out["type"] == "websocket.close":
            return int(out["code"])


async def test_a_deleted_account_is_closed_and_dropped_by_its_friends(
    friends: Any, caplog: pytest.LogCaptureFixture
) -> None:
    alice, _, carol = friends
    await database_sync_to_async(FriendRequest.objects.create)(from_user=alice, to_user=carol)
    bob_ws = await connect("bob")
    carol_ws = await connect("carol")
    alice_ws = await connect("alice")
    assert (await wait_for(bob_ws, "presence"))["online"] is True
    caplog.set_level(logging.ERROR)

    await database_sync_to_async(delete_alice)()

    assert await closed_code(alice_ws) == 4401
    await alice_ws.disconnect()
    removed = await wait_for(bob_ws, "friendship")
    assert removed == {"type": "friendship", "username": "alice", "status": "removed"}
    closed = await wait_for(carol_ws, "friend_request_closed")
    assert closed["status"] == "cancelled"
    assert [e for e in await events(carol_ws) if e["type"] == "friendship"] == []
    assert not await PresenceConnection.objects.filter(user_id=alice.pk).aexists()
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    await bob_ws.disconnect()
    await carol_ws.disconnect()
