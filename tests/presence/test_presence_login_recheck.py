"""An open presence socket checks its login again every ``LOGIN_RECHECK_S``: a logout
whose "session ended" message the channel layer lost, or a session that expired before the
sweep told anyone, still closes the socket with 4401 (before, it stayed open, relaying the
user's friends' events to a browser that had logged out). A login that goes on keeps its
socket."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from tests.presence.helpers import api_login, api_logout, socket_for
from users import consumers
from users.models import PresenceConnection

pytestmark = pytest.mark.django_db(transaction=True)

RECHECK_S = 0.2
CLOSED = {"type": "websocket.close", "code": 4401}


@pytest.fixture(autouse=True)
def _fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(consumers, "LOGIN_RECHECK_S", RECHECK_S)


@pytest.fixture
def session_ends_lost(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every "session ended" group message fails, as on a channel layer that is away."""
    layer = get_channel_layer()
    real = layer.group_send
    lost: list[dict[str, Any]] = []

    async def group_send(group: str, message: dict[str, Any]) -> None:
        if message.get("type") == consumers.SESSION_ENDED_MESSAGE_TYPE:
            lost.append(message)
            raise ConnectionError("channel layer away")
        await real(group, message)

    monkeypatch.setattr(layer, "group_send", group_send)
    return lost


async def online(username: str) -> int:
    return await database_sync_to_async(
        PresenceConnection.objects.filter(user__username=username).count
    )()


async def test_a_logout_whose_message_is_lost_still_closes_the_socket(alice, session_ends_lost):
    browser = await database_sync_to_async(api_login)("alice", Client(enforce_csrf_checks=True))
    ws = await socket_for(browser)
    assert await database_sync_to_async(api_logout)(browser) == 204
    assert session_ends_lost, "the logout's message was not sent at all"

    assert await ws.receive_output(timeout=3) == CLOSED
    assert await online("alice") == 0
    await ws.disconnect()


async def test_an_expired_session_closes_its_socket_before_the_sweep(alice):
    browser = await database_sync_to_async(api_login)("alice", Client(enforce_csrf_checks=True))
    ws = await socket_for(browser)
    past = timezone.now() - timedelta(seconds=1)
    rows = Session.objects.filter(session_key=browser.cookies["sessionid"].value)
    assert await database_sync_to_async(rows.update)(expire_date=past) == 1

    assert await ws.receive_output(timeout=3) == CLOSED
    await ws.disconnect()


async def test_a_login_that_goes_on_keeps_its_socket(alice):
    browser = await database_sync_to_async(api_login)("alice", Client(enforce_csrf_checks=True))
    ws = await socket_for(browser)
    assert await ws.receive_nothing(timeout=10 * RECHECK_S)  # several rechecks
    await ws.send_json_to({"type": "ping"})
    assert await ws.receive_json_from(timeout=2) == {"type": "pong"}
    assert await online("alice") == 1
    await ws.disconnect()
    assert await online("alice") == 0
