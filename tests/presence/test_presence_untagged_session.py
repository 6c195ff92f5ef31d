"""Sessions logged in before login tags existed (users.logins) keep working: their
sockets are matched by the session key as before, also when the session is tagged later
by logging in again as the same user, and logging out still closes them."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client

from tests.presence.helpers import api_login, api_logout, socket_for
from users.logins import LOGIN_TAG_KEY

pytestmark = pytest.mark.django_db(transaction=True)


def untag(client: Client) -> None:
    """Make ``client``'s session one from before the tags."""
    store = SessionStore(client.cookies["sessionid"].value)
    del store[LOGIN_TAG_KEY]
    store.save()


async def test_socket_of_a_session_tagged_later_closes_at_logout(alice):
    browser = await database_sync_to_async(api_login)("alice")
    await database_sync_to_async(untag)(browser)
    alice_ws = await socket_for(browser)
    await database_sync_to_async(api_login)("alice", browser)  # tags the session
    assert await alice_ws.receive_nothing(timeout=0.8)
    assert await database_sync_to_async(api_logout)(browser) == 204
    assert await alice_ws.receive_output(timeout=3) == {"type": "websocket.close", "code": 4401}
    await alice_ws.disconnect()


async def test_socket_of_an_untagged_session_closes_at_logout(alice):
    browser = await database_sync_to_async(api_login)("alice")
    await database_sync_to_async(untag)(browser)
    alice_ws = await socket_for(browser)
    assert await database_sync_to_async(api_logout)(browser) == 204
    assert await alice_ws.receive_output(timeout=3) == {"type": "websocket.close", "code": 4401}
    await alice_ws.disconnect()
