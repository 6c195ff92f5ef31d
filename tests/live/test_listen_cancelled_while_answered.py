"""A listen cancelled while its offer is being answered (the client went away: Django
cancels the view) leaves nothing behind: no listener holding a slot, no peer connection."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from django.conf import settings

from streams.hub import LiveHub
from streams.webrtc import session as session_module
from tests.live.conftest import ArrayTrack, LiveClient, PeerLedger, wait_until
from tests.live.test_listener_codec import tone

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("identity_model")]


class HeldOffers:
    """Stands in for the session's ``apply_client_offer``: each call waits at the gate."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.gate = asyncio.Event()
        self._real = session_module.apply_client_offer

    async def __call__(self, pc: Any, offer: Any) -> Any:
        self.entered.set()
        await self.gate.wait()
        return await self._real(pc, offer)


async def test_cancelled_listen_frees_its_slot_and_peer(
    clients: list[LiveClient], hub: LiveHub, peers: PeerLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob, _, _ = clients
    resp, _ = await alice.go_live(ArrayTrack(tone(30.0)))
    assert resp.status_code == 200, resp.content
    [broadcaster_pc] = peers.pcs
    session = hub.session_for(alice.user.pk)
    assert session is not None
    held = HeldOffers()
    monkeypatch.setattr(session_module, "apply_client_offer", held)

    listen = asyncio.create_task(bob.listen("alice"))
    await asyncio.wait_for(held.entered.wait(), 10)
    assert session.listeners == 1  # registered, being answered
    listen.cancel()
    with pytest.raises(asyncio.CancelledError):
        await listen

    assert session.listeners == 0
    await wait_until(lambda: peers.open_ones() == [broadcaster_pc])
    # The slot is free: with room for one listener, bob's next listen is answered.
    monkeypatch.setattr(settings, "MAX_LISTENERS_PER_STREAM", 1)
    held.gate.set()
    again, capture = await bob.listen("alice")
    assert again.status_code == 200, again.content
    await wait_until(lambda: len(capture.chunks) > 5)
