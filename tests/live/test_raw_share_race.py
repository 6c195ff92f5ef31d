"""Raw audio is never heard once sharing is off, even when the change lands while a raw
listen is being answered: the answer then says "full"."""

from __future__ import annotations

import numpy as np
import pytest

from streams.webrtc.session import BroadcastSession
from tests.live.conftest import ArrayTrack

pytestmark = pytest.mark.django_db(transaction=True)


async def test_sharing_turned_off_during_a_raw_listen(clients, hub, settings, monkeypatch):
    settings.DENOISE_MODEL = "identity"
    alice, bob, _, _ = clients
    await alice.call("patch", "/api/streams/settings/", {"share_raw": True})
    tone = (0.3 * np.sin(2 * np.pi * 300 * np.arange(48_000 * 20) / 48_000)).astype(np.float32)
    assert (await alice.go_live(ArrayTrack(tone)))[0].status_code == 200
    original = BroadcastSession.add_listener

    async def unshared_meanwhile(self, offer, user_id, level="full", login=None):
        answered = await original(self, offer, user_id, level, login)
        resp = await alice.call("patch", "/api/streams/settings/", {"share_raw": False})
        assert resp.status_code == 200
        return answered

    monkeypatch.setattr(BroadcastSession, "add_listener", unshared_meanwhile)
    resp, _ = await bob.listen("alice", level="raw")
    assert resp.status_code == 200 and resp.json()["level"] == "full"
    session = hub.session_for(alice.user.pk)
    assert session.listeners_at("raw") == []
