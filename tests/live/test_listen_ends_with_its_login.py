"""A listen ends with the login it was opened from, however that login ends: its session
deleted (an administrator ending it) or expired and swept, not only a logout. Its presence
sockets close with 4401 too. A key Django renews for the same login (its old row deleted)
ends nothing.

An expired or deleted session had left the listen going until the stream ended, and an
expired one its socket too (events kept coming to a cookie that got 401).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.contrib.sessions.models import Session
from django.utils import timezone

from tests.live.access_helpers import (
    ENDED_WITHIN_S,
    assert_audio_stopped,
    delete_row,
    listening,
    presence_socket,
    session_row,
)
from tests.live.conftest import LiveClient, wait_until
from tests.presence.helpers import wait_for
from users.sessionstore import SessionStore, end_expired

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("no_access_polling")]


@pytest.fixture(autouse=True)
def _fast(settings):
    settings.DENOISE_MODEL = "identity"


async def expire_and_sweep(client: LiveClient) -> None:
    rows = session_row(client)
    past = timezone.now() - timedelta(seconds=1)
    assert await sync_to_async(rows.update, thread_sensitive=False)(expire_date=past) == 1
    assert await sync_to_async(end_expired, thread_sensitive=False)() == 1


@pytest.mark.parametrize("end", [delete_row, expire_and_sweep], ids=["deleted", "expired"])
async def test_the_listen_and_the_socket_end_with_the_login(clients, hub, end):
    alice, bob, _, _ = clients
    bob_ws = await presence_socket(bob)
    listen_id, capture = await listening(hub, alice, bob)
    session = hub.session_for(alice.user.pk)

    await end(bob)

    await wait_until(lambda: session.listeners == 0, timeout=ENDED_WITHIN_S)
    event = await wait_for(bob_ws, "listen_ended", ENDED_WITHIN_S)
    assert event["listen_id"] == listen_id and event["reason"] == "logged_out"
    closed = await bob_ws.receive_output(timeout=ENDED_WITHIN_S)
    assert closed == {"type": "websocket.close", "code": 4401}
    await assert_audio_stopped(capture)


async def test_a_renewed_key_of_the_same_login_ends_nothing(clients, hub):
    alice, bob, _, _ = clients
    _, capture = await listening(hub, alice, bob)
    session = hub.session_for(alice.user.pk)
    old_key = bob.http.cookies["sessionid"].value

    # Django renews a login's key (as after a new password set from that browser, which
    # ends listens for its own reason): a new row, then the old one deleted.
    store = SessionStore(old_key)
    await sync_to_async(store.load, thread_sensitive=False)()
    await sync_to_async(store.cycle_key, thread_sensitive=False)()
    assert store.session_key != old_key
    assert not await sync_to_async(Session.objects.filter(session_key=old_key).exists)()

    heard = len(capture.chunks)
    await wait_until(lambda: len(capture.chunks) > heard + 50, timeout=5)
    assert session.listeners == 1, "the listen ended with its login's old key"
