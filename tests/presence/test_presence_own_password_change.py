"""Changing your own password through a Django password-change view
(``update_session_auth_hash``: the session gets a new key but stays logged in) keeps that
session's presence sockets open; the other sessions' sockets close with 4401. The socket
follows its login, not the key: logging out from the renewed session still closes it."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from django.test import Client

from tests.conftest import PASSWORD
from tests.presence.helpers import api_login, api_logout, socket_for
from users.models import User

pytestmark = pytest.mark.django_db(transaction=True)

NEW_PASSWORD = "another-horse-77x"


def change_own_password(client: Client) -> str:
    """Set a new password from ``client``'s session (the admin's password-change view);
    the session's new key."""
    old_key = client.cookies["sessionid"].value
    resp = client.post(
        "/admin/password_change/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert resp.status_code == 302, resp.content[:400]
    assert client.get("/api/auth/me/").status_code == 200  # still logged in
    new_key = client.cookies["sessionid"].value
    assert new_key != old_key  # what used to orphan the socket
    return new_key


async def test_own_password_change_keeps_own_sockets_and_closes_the_others(alice):
    await database_sync_to_async(User.objects.filter(pk=alice.pk).update)(is_staff=True)
    laptop = await database_sync_to_async(api_login)("alice", Client())
    phone = await database_sync_to_async(api_login)("alice")
    laptop_ws, phone_ws = await socket_for(laptop), await socket_for(phone)

    await database_sync_to_async(change_own_password)(laptop)

    assert await phone_ws.receive_output(timeout=3) == {"type": "websocket.close", "code": 4401}
    await phone_ws.disconnect()
    assert await laptop_ws.receive_nothing(timeout=1.5)  # past the close's grace period
    await laptop_ws.send_json_to({"type": "ping"})
    assert await laptop_ws.receive_json_from(timeout=2) == {"type": "pong"}

    assert await database_sync_to_async(api_logout)(laptop) == 204
    assert await laptop_ws.receive_output(timeout=3) == {"type": "websocket.close", "code": 4401}
    await laptop_ws.disconnect()
