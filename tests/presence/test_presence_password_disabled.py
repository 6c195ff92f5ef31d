"""Disabling an account's password (``set_unusable_password()``: the admin's "Password-based
authentication: Disabled") ends every login of it, as a new password does: its presence
sockets close with 4401. Django's ``set_unusable_password`` leaves ``_password`` unset, so a
receiver watching only ``set_password`` misses it."""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async

from tests.presence.helpers import api_login, socket_for
from users.models import User

pytestmark = pytest.mark.django_db(transaction=True)


def disable_password() -> None:
    user = User.objects.get(username="alice")
    user.set_unusable_password()
    user.save()  # what the admin's form does


async def test_disabling_the_password_closes_the_sockets(alice: Any, bob: Any) -> None:
    client = await database_sync_to_async(api_login)("alice")
    alice_ws = await socket_for(client)
    bob_ws = await socket_for(await database_sync_to_async(api_login)("bob"))

    await database_sync_to_async(disable_password)()

    assert await alice_ws.receive_output(timeout=2) == {"type": "websocket.close", "code": 4401}
    await alice_ws.disconnect()
    # The session indeed no longer logs alice in.
    request = await database_sync_to_async(lambda: client.get("/api/auth/me/"))()
    assert request.status_code == 401
    await bob_ws.send_json_to({"type": "ping"})
    assert await bob_ws.receive_json_from(timeout=2) == {"type": "pong"}
    await bob_ws.disconnect()
