"""A revoke the channel layer fails to deliver (a Redis blip, a full channel) no longer
leaves the listen going until the stream ends: each process checks its streams' listeners
again every ``AUDIT_EVERY_S`` and ends those whose access ended, with the same reason and
``listen_ended`` event."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from tests.live.access_helpers import (
    ENDED_WITHIN_S,
    assert_audio_stopped,
    listening,
    presence_socket,
)
from tests.live.conftest import wait_until
from tests.presence.helpers import wait_for

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("identity_model", "fast_access_check"),
]


async def test_an_unfriend_whose_revoke_is_lost_still_ends_the_listen(
    clients, hub, revokes_lost, said
):
    alice, bob, _, _ = clients
    bob_ws = await presence_socket(bob)
    listen_id, capture = await listening(hub, alice, bob)
    session = hub.session_for(alice.user.pk)

    assert (await alice.call("delete", "/api/friends/bob/")).status_code == 204
    await wait_until(lambda: bool(revokes_lost), timeout=ENDED_WITHIN_S)
    await wait_until(lambda: session.listeners == 0, timeout=ENDED_WITHIN_S)
    event = await wait_for(bob_ws, "listen_ended", ENDED_WITHIN_S)
    assert event["listen_id"] == listen_id and event["reason"] == "not_friends"
    await assert_audio_stopped(capture)
    assert any("ended by the access check (not_friends)" in line for line in said), said


async def test_a_deactivation_whose_revoke_is_lost_still_ends_the_listen(
    clients, hub, revokes_lost
):
    alice, bob, _, _ = clients
    _, capture = await listening(hub, alice, bob)
    session = hub.session_for(alice.user.pk)

    bob.user.is_active = False
    await sync_to_async(bob.user.save, thread_sensitive=False)(update_fields=["is_active"])
    await wait_until(lambda: bool(revokes_lost), timeout=ENDED_WITHIN_S)
    await wait_until(lambda: session.listeners == 0, timeout=ENDED_WITHIN_S)
    await assert_audio_stopped(capture)


async def test_a_friend_still_allowed_keeps_listening(clients, hub):
    alice, bob, _, _ = clients
    _, capture = await listening(hub, alice, bob)
    session = hub.session_for(alice.user.pk)
    heard = len(capture.chunks)
    await wait_until(lambda: len(capture.chunks) > heard + 100, timeout=5)  # many looks
    assert session.listeners == 1
