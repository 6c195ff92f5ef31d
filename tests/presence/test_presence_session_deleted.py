"""Deleting a login's session row (an administrator ending it in the admin or the
database) ends that login at once: its presence sockets close with 4401, though no logout
was sent; the user's other logins keep theirs."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from django.contrib.sessions.models import Session
from django.test import Client

from tests.presence.helpers import api_login, socket_for

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_deleted_session_closes_only_its_own_sockets(alice):
    laptop = await database_sync_to_async(api_login)("alice", Client())
    phone = await database_sync_to_async(api_login)("alice", Client())
    laptop_ws, phone_ws = await socket_for(laptop), await socket_for(phone)

    ended = Session.objects.filter(session_key=laptop.cookies["sessionid"].value)
    await database_sync_to_async(ended.delete)()

    assert await laptop_ws.receive_output(timeout=3) == {"type": "websocket.close", "code": 4401}
    await laptop_ws.disconnect()
    assert await phone_ws.receive_nothing(timeout=1.5)  # past the close's grace period
    await phone_ws.send_json_to({"type": "ping"})
    assert await phone_ws.receive_json_from(timeout=2) == {"type": "pong"}
    await phone_ws.disconnect()
