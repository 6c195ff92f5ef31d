"""An open presence socket checks its login again every ``LOGIN_RECHECK_S``: a logout
whose "session ended" message the channel layer lost, or a session that expired before the
sweep told anyone, still closes the socket with 4401 (before, it stayed open, relaying the
user's friends' events to a browser that had logged out). A login that goes on keeps its
socket."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from fc25_denoise.periodic import FailureLog
from tests.presence.helpers import api_login, api_logout, socket_for
from users import consumers
from users.logins import LOGIN_TAG_KEY, RECORD_PREFIX
from users.models import PresenceConnection
from users.sessionstore import SessionStore

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


async def test_a_close_called_off_leaves_the_rechecks_going(alice, session_ends_lost):
    """A "session ended" message with recheck (a new password set elsewhere) that finds
    this login still valid calls its close off; the rechecks must go on after it."""
    browser = await database_sync_to_async(api_login)("alice", Client(enforce_csrf_checks=True))
    ws = await socket_for(browser)
    message = {"type": consumers.SESSION_ENDED_MESSAGE_TYPE, "session": None, "recheck": True}
    await get_channel_layer().send(await only_channel("alice"), message)
    # The grace (0.5 s) spans several rechecks, which find a close under way.
    assert await ws.receive_nothing(timeout=consumers.SESSION_END_GRACE_S + 5 * RECHECK_S)

    assert await database_sync_to_async(api_logout)(browser) == 204
    assert session_ends_lost  # its message lost: the recheck closes the socket
    assert await ws.receive_output(timeout=3) == CLOSED
    await ws.disconnect()


async def test_a_renewed_key_found_by_a_recheck_is_kept(alice):
    browser = await database_sync_to_async(api_login)("alice", Client(enforce_csrf_checks=True))
    ws = await socket_for(browser)
    old_key = browser.cookies["sessionid"].value
    store = SessionStore(old_key)
    tag = (await database_sync_to_async(store.load)())[LOGIN_TAG_KEY]
    await database_sync_to_async(store.cycle_key)()  # a new row, the old one deleted
    assert await ws.receive_nothing(timeout=5 * RECHECK_S)  # a recheck finds the new key

    # The record naming the new key lost with the cache: the socket knows the key itself.
    await database_sync_to_async(cache.delete)(RECORD_PREFIX + tag)
    assert await ws.receive_nothing(timeout=5 * RECHECK_S)
    await ws.send_json_to({"type": "ping"})
    assert await ws.receive_json_from(timeout=2) == {"type": "pong"}
    await ws.disconnect()


async def test_no_recheck_outlives_its_socket(alice):
    browser = await database_sync_to_async(api_login)("alice", Client(enforce_csrf_checks=True))
    ws = await socket_for(browser)
    assert rechecks() == 1
    await ws.disconnect()
    await asyncio.sleep(0)
    assert rechecks() == 0


def rechecks() -> int:
    return sum(
        1 for t in asyncio.all_tasks() if t.get_name() == "presence-recheck" and not t.done()
    )


async def only_channel(username: str) -> str:
    rows = PresenceConnection.objects.filter(user__username=username)
    channels = await database_sync_to_async(
        lambda: list(rows.values_list("channel_name", flat=True))
    )()
    assert len(channels) == 1
    return channels[0]


async def test_a_check_that_fails_at_close_time_leaves_the_socket_decidable(
    alice, session_ends_lost, monkeypatch, caplog
):
    """The second check of a close fails (the database away): the socket stays open and
    a later recheck still closes it once the login ends (a failed close had left it
    deaf to every later message and recheck)."""
    browser = await database_sync_to_async(api_login)("alice", Client(enforce_csrf_checks=True))
    ws = await socket_for(browser)

    def broken(*args: Any) -> str:
        raise ConnectionError("database away")

    working = consumers.login_key
    monkeypatch.setattr(consumers, "login_key", broken)
    message = {"type": consumers.SESSION_ENDED_MESSAGE_TYPE, "session": None, "recheck": True}
    await get_channel_layer().send(await only_channel("alice"), message)
    assert await ws.receive_nothing(timeout=consumers.SESSION_END_GRACE_S + 2 * RECHECK_S)
    assert "could not check the login" in caplog.text
    assert "presence user=alice: could not check the login" in [
        r.getMessage() for r in caplog.records
    ]  # the close's own check, not only a recheck
    monkeypatch.setattr(consumers, "login_key", working)

    assert await database_sync_to_async(api_logout)(browser) == 204
    assert session_ends_lost  # its message lost: the recheck closes the socket
    assert await ws.receive_output(timeout=3) == CLOSED
    await ws.disconnect()


async def test_failed_rechecks_of_many_sockets_log_one_line(alice, monkeypatch, caplog):
    fresh = FailureLog("presence user=%s: could not check the login again", consumers.logger)
    monkeypatch.setattr(consumers, "_RECHECK_FAILURES", fresh)  # no run left by another test
    browsers = [
        await database_sync_to_async(api_login)("alice", Client(enforce_csrf_checks=True))
        for _ in range(3)
    ]
    sockets = [await socket_for(b) for b in browsers]

    def broken(*args: Any) -> str:
        raise ConnectionError("database away")

    monkeypatch.setattr(consumers, "login_key", broken)
    for ws in sockets:  # every socket checks several times, and stays open
        assert await ws.receive_nothing(timeout=4 * RECHECK_S)
    failures = [r for r in caplog.records if "could not check the login again" in r.getMessage()]
    assert len(failures) == 1 and failures[0].exc_info is not None
    for ws in sockets:
        await ws.disconnect()
