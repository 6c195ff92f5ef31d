"""One listener connection per user and stream: a second listen replaces the first."""

from __future__ import annotations

import pytest

from tests.live.access_helpers import (
    active_listeners,
    assert_audio_stopped,
    listening,
    presence_socket,
)
from tests.live.conftest import wait_until
from tests.presence.helpers import wait_for
from tests.rtc import client_pc

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _identity(settings):
    settings.DENOISE_MODEL = "identity"


async def test_second_listen_replaces_the_first(clients, hub):
    alice, bob, _, _ = clients
    bob_ws = await presence_socket(bob)
    first_id, first = await listening(hub, alice, bob)
    second_id, second = await listening(hub, alice, bob)
    assert first_id != second_id
    event = await wait_for(bob_ws, "listen_ended", 1.0)
    assert event == {
        "type": "listen_ended",
        "listen_id": first_id,
        "username": "alice",
        "reason": "replaced",
    }
    session = hub.session_for(alice.user.pk)
    assert session.listeners == 1
    assert [str(i) for i in session.listener_ids(bob.user.pk)] == [second_id]
    await assert_audio_stopped(first)
    before = len(second.chunks)
    await wait_until(lambda: len(second.chunks) > before + 25, timeout=3)
    assert await active_listeners(alice, "alice") == 1
    await bob_ws.disconnect()


async def test_one_friend_cannot_take_every_slot(clients, hub, settings):
    settings.MAX_LISTENERS_PER_STREAM = 2
    alice, bob, _, _ = clients
    for _ in range(4):  # re-listening never counts against the limit
        await listening(hub, alice, bob)
    assert hub.session_for(alice.user.pk).listeners == 1
    _, mine = await listening(hub, alice, alice)  # a slot is still free for another listener
    assert hub.session_for(alice.user.pk).listeners == 2
    assert len(mine.chunks) > 10


async def recvonly_offer():

    pc = client_pc()
    pc.addTransceiver("audio", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    return pc, pc.localDescription


async def test_two_listens_at_once_leave_the_last_answered(clients, hub):
    """A double click: both offers are answered; the one answered last stays."""
    import asyncio

    alice, bob, _, _ = clients
    await listening(hub, alice, alice)
    session = hub.session_for(alice.user.pk)
    (pc1, offer1), (pc2, offer2) = await recvonly_offer(), await recvonly_offer()
    try:
        first, second = await asyncio.gather(
            session.add_listener(offer1, bob.user.pk), session.add_listener(offer2, bob.user.pk)
        )
        kept = session.listener_ids(bob.user.pk)
        assert len(kept) == 1 and kept[0] in (first[0], second[0])
        assert session.listeners == 2
    finally:
        await pc1.close()
        await pc2.close()
