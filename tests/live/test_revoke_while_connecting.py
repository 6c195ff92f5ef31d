"""A friendship that ends while the listen request is being answered still ends the listen."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async

from streams.webrtc.session import BroadcastSession
from tests.live.access_helpers import listening, tone
from tests.live.conftest import ArrayTrack
from users.models import Friendship

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _identity(settings):
    settings.DENOISE_MODEL = "identity"


def unfriend_all() -> None:
    for friendship in Friendship.objects.all():
        friendship.delete()


async def test_unfriend_during_the_listen_answer_is_403(clients, hub, monkeypatch):
    alice, bob, _, _ = clients
    resp, _ = await alice.go_live(ArrayTrack(tone()))
    assert resp.status_code == 200
    await listening(hub, alice, alice)  # the stream is up and has audio
    original = BroadcastSession.add_listener

    async def unfriended_meanwhile(self, offer, user_id, level="full", login=None):
        await sync_to_async(unfriend_all)()
        await asyncio.sleep(0.3)  # the revoke arrives while there is nothing to end yet
        return await original(self, offer, user_id, level, login)

    monkeypatch.setattr(BroadcastSession, "add_listener", unfriended_meanwhile)
    resp, _ = await bob.listen("alice")
    assert resp.status_code == 403, resp.content
    session = hub.session_for(alice.user.pk)
    assert session.listener_ids(bob.user.pk) == []
    assert session.listeners == 1  # Alice herself
