"""Logging out ends the listener's streams at once and closes that session's sockets (4401):
by the logout's own event, with no periodic check running (``no_access_polling``)."""

from __future__ import annotations

import pytest

from tests.live.access_helpers import (
    ENDED_WITHIN_S,
    active_listeners,
    assert_audio_stopped,
    heartbeat_listeners,
    listening,
    presence_socket,
)
from tests.live.conftest import wait_until
from tests.presence.helpers import wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("no_access_polling")]


@pytest.fixture(autouse=True)
def _fast(settings):
    settings.DENOISE_MODEL = "identity"
    settings.STREAM_HEARTBEAT_S = 0.2


async def test_logout_ends_listening_and_closes_the_socket(clients, hub):
    alice, bob, _, _ = clients
    bob_ws = await presence_socket(bob)
    listen_id, capture = await listening(hub, alice, bob)
    session = hub.session_for(alice.user.pk)

    assert (await bob.call("post", "/api/auth/logout/")).status_code == 204
    await wait_until(lambda: session.listeners == 0, timeout=ENDED_WITHIN_S)
    event = await wait_for(bob_ws, "listen_ended", ENDED_WITHIN_S)
    assert event == {
        "type": "listen_ended",
        "listen_id": listen_id,
        "username": "alice",
        "reason": "logged_out",
    }
    closed = await bob_ws.receive_output(timeout=ENDED_WITHIN_S)
    assert closed == {"type": "websocket.close", "code": 4401}
    await assert_audio_stopped(capture)
    assert await active_listeners(alice, "alice") == 0
    assert await heartbeat_listeners(alice.user.pk) == 0
