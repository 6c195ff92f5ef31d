"""A logout that lands while a presence socket is being opened, after the socket's user
was read from its session but before the socket joined its user's group, still closes it
(4401): its "session ended" message went to a group the socket was not yet in, so the
socket checks its login once it is a member. It is never counted online."""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import InMemoryChannelLayer, get_channel_layer
from channels.testing import WebsocketCommunicator

from tests.presence.helpers import api_login, api_logout, events
from users.events import user_group
from users.models import PresenceConnection

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _in_memory_layer(settings: Any) -> None:
    """The race is staged on the in-memory layer's ``group_add``."""
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


async def closed_code(comm: WebsocketCommunicator) -> int | None:
    """The close code the socket gets within 2 s, None if it stays open."""
    if await comm.receive_nothing(timeout=2):
        return None
    out = await comm.receive_output(timeout=1)
    return int(out["code"]) if out["type"] == "websocket.close" else None


async def test_logout_between_reading_the_session_and_joining_closes_the_socket(
    alice: Any, bob: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fc25_denoise.asgi import application

    client = await database_sync_to_async(api_login)("alice")
    real_group_add = InMemoryChannelLayer.group_add
    logged_out: list[int] = []

    async def logout_then_join(self: InMemoryChannelLayer, group: str, channel: str) -> None:
        if group == user_group(alice.pk) and not logged_out:
            # The user was read from the session already (channels' AuthMiddleware).
            logged_out.append(await database_sync_to_async(api_logout)(client))
        await real_group_add(self, group, channel)

    monkeypatch.setattr(InMemoryChannelLayer, "group_add", logout_then_join)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    comm = WebsocketCommunicator(
        application,
        "/ws/presence/",
        headers=[(b"origin", b"http://127.0.0.1"), (b"cookie", cookie)],
    )
    connected, code = await comm.connect()
    assert logged_out == [204]
    if connected:  # accepted only to carry the close code
        assert await closed_code(comm) == 4401
    else:
        assert code == 4401
    await comm.disconnect()
    assert not await PresenceConnection.objects.filter(user=alice).aexists()
    assert user_group(alice.pk) not in get_channel_layer().groups


async def test_a_socket_whose_login_holds_is_admitted(alice: Any) -> None:
    from tests.presence.helpers import socket_for

    client = await database_sync_to_async(api_login)("alice")
    comm = await socket_for(client)
    assert await events(comm) == []
    await comm.send_json_to({"type": "ping"})
    assert await comm.receive_json_from(timeout=2) == {"type": "pong"}
    assert await PresenceConnection.objects.filter(user=alice).aexists()
    await comm.disconnect()
