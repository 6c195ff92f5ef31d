"""Unfriending ends listening at once, whichever side unfriends, in both directions: by the
unfriend's own event, with no periodic check running (``no_access_polling``)."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from tests.conftest import befriend
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


@pytest.mark.parametrize("side", ["broadcaster", "listener"])
async def test_unfriend_ends_listening(clients, hub, side):
    alice, bob, _, _ = clients
    bob_ws = await presence_socket(bob)
    listen_id, capture = await listening(hub, alice, bob)
    session = hub.session_for(alice.user.pk)
    assert session.listeners == 1

    if side == "broadcaster":
        resp = await alice.call("delete", "/api/friends/bob/")
    else:
        resp = await bob.call("delete", "/api/friends/alice/")
    assert resp.status_code == 204
    await wait_until(lambda: session.listeners == 0, timeout=ENDED_WITHIN_S)
    event = await wait_for(bob_ws, "listen_ended", ENDED_WITHIN_S)
    assert event == {
        "type": "listen_ended",
        "listen_id": listen_id,
        "username": "alice",
        "reason": "not_friends",
    }
    await assert_audio_stopped(capture)
    assert await active_listeners(alice, "alice") == 0
    assert await heartbeat_listeners(alice.user.pk) == 0
    assert not session.stopped  # only the listener lost the stream
    await bob_ws.disconnect()


async def test_unfriend_ends_both_directions(clients, hub):
    alice, bob, _, _ = clients
    alice_ws, bob_ws = await presence_socket(alice), await presence_socket(bob)
    bob_listens, bob_capture = await listening(hub, alice, bob)
    alice_listens, alice_capture = await listening(hub, bob, alice)
    to_alice, to_bob = hub.session_for(alice.user.pk), hub.session_for(bob.user.pk)

    assert (await bob.call("delete", "/api/friends/alice/")).status_code == 204
    await wait_until(
        lambda: to_alice.listeners == 0 and to_bob.listeners == 0, timeout=ENDED_WITHIN_S
    )
    assert (await wait_for(bob_ws, "listen_ended", 1))["listen_id"] == bob_listens
    ended = await wait_for(alice_ws, "listen_ended", 1)
    assert ended == {**ended, "listen_id": alice_listens, "username": "bob"}
    await assert_audio_stopped(bob_capture)
    await assert_audio_stopped(alice_capture)
    for ws in (alice_ws, bob_ws):
        await ws.disconnect()


async def test_unfriending_someone_else_keeps_the_listener(clients, hub):
    """Only the pair that stopped being friends is affected."""
    alice, bob, carol, _ = clients
    await sync_to_async(befriend)(alice.user, carol.user)
    _, capture = await listening(hub, alice, bob)
    assert (await alice.call("delete", "/api/friends/carol/")).status_code == 204
    before = len(capture.chunks)
    await wait_until(lambda: len(capture.chunks) > before + 25, timeout=3)
    assert hub.session_for(alice.user.pk).listeners == 1
