"""An offer carries at most 32 ICE candidates (a browser sends a handful): more is a JSON 400
before any peer connection exists, on both routes."""

from __future__ import annotations

import pytest

from streams.hub import LiveHub
from tests.live.chrome_offer import CHROME_LISTEN_OFFER, CHROME_OFFER
from tests.live.conftest import LiveClient, PeerLedger
from tests.live.offers import refused_going_live, refused_listening, with_candidates

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("identity_model")]


async def test_broadcast_offer_with_300_candidates_gets_400(
    clients: list[LiveClient], hub: LiveHub, peers: PeerLedger
) -> None:
    alice = clients[0]
    sdp = with_candidates(CHROME_OFFER, 300)
    await refused_going_live(alice, hub, peers, sdp, "candidates")


async def test_listen_offer_with_300_candidates_gets_400(
    clients: list[LiveClient], hub: LiveHub, peers: PeerLedger
) -> None:
    alice, bob, _, _ = clients
    live = await alice.call("post", "/api/webrtc/offer/", {"sdp": CHROME_OFFER, "type": "offer"})
    assert live.status_code == 200, live.content
    sdp = with_candidates(CHROME_LISTEN_OFFER, 300)
    assert len(peers.pcs) == 1  # the broadcaster's
    await refused_listening(bob, alice, hub, peers, sdp, "candidates")


async def test_32_candidates_are_accepted(clients: list[LiveClient], hub: LiveHub) -> None:
    alice = clients[0]
    sdp = with_candidates(CHROME_OFFER, 30)  # and Chrome's own two
    resp = await alice.call("post", "/api/webrtc/offer/", {"sdp": sdp, "type": "offer"})
    assert resp.status_code == 200, resp.content
