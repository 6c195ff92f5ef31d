"""Logging in (or registering) as someone else from a browser that is logged in logs the
previous user out first: ``user_logged_out`` is sent for them, so their presence sockets
in that browser close with 4401 (and their listens end, streams.access). Logging in again
as the same user is no logout."""

from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async
from django.test import Client

from tests.conftest import PASSWORD
from tests.presence.helpers import api_login, socket_for

pytestmark = pytest.mark.django_db(transaction=True)


def register(client: Client, username: str) -> int:
    return client.post(
        "/api/auth/register/",
        json.dumps({"username": username, "password": PASSWORD}),
        content_type="application/json",
        HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value,
    ).status_code


async def test_login_as_another_user_closes_the_previous_users_sockets(friends, logged_out):
    browser = await database_sync_to_async(api_login)("alice")
    alice_ws = await socket_for(browser)
    await database_sync_to_async(api_login)("carol", browser)  # the browser is carol's now
    assert await alice_ws.receive_output(timeout=3) == {"type": "websocket.close", "code": 4401}
    await alice_ws.disconnect()
    assert logged_out == ["alice"]


async def test_registering_from_a_logged_in_browser_closes_the_previous_users_sockets(
    friends, logged_out
):
    browser = await database_sync_to_async(api_login)("alice")
    alice_ws = await socket_for(browser)
    assert await database_sync_to_async(register)(browser, "dave") == 201
    assert await alice_ws.receive_output(timeout=3) == {"type": "websocket.close", "code": 4401}
    await alice_ws.disconnect()
    assert logged_out == ["alice"]


async def test_logging_in_again_as_the_same_user_keeps_the_sockets(friends, logged_out):
    browser = await database_sync_to_async(api_login)("alice")
    alice_ws = await socket_for(browser)
    await database_sync_to_async(api_login)("alice", browser)
    assert await alice_ws.receive_nothing(timeout=1)
    await alice_ws.send_json_to({"type": "ping"})
    assert await alice_ws.receive_json_from(timeout=2) == {"type": "pong"}
    await alice_ws.disconnect()
    assert logged_out == []
