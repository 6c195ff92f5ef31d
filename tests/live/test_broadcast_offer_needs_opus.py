"""The broadcaster must offer Opus, the codec the server decodes: an offer without it is a
JSON 400 that leaves nothing behind, and the answer to one with it names Opus alone."""

from __future__ import annotations

import re

import pytest

from streams.hub import LiveHub
from tests.live.chrome_offer import CHROME_OFFER
from tests.live.conftest import ArrayTrack, LiveClient, PeerLedger
from tests.live.offers import assert_rejected, nothing_live, offer_of
from tests.live.test_listener_codec import only_g711, tone

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("identity_model")]


async def test_broadcast_offer_without_opus_gets_400(
    clients: list[LiveClient], hub: LiveHub, peers: PeerLedger
) -> None:
    alice = clients[0]
    sdp = only_g711(await offer_of(lambda pc: pc.addTrack(ArrayTrack(tone(1.0)))))
    assert "opus" not in sdp.lower() and "PCMU" in sdp
    resp = await alice.call("post", "/api/webrtc/offer/", {"sdp": sdp, "type": "offer"})
    assert_rejected(resp, "opus")
    assert await nothing_live(hub)
    assert peers.open_ones() == []


async def test_broadcast_answer_names_only_opus(clients: list[LiveClient], hub: LiveHub) -> None:
    """Chrome lists G.722, PCMU and PCMA too: the answer must leave it Opus only."""
    alice = clients[0]
    resp = await alice.call("post", "/api/webrtc/offer/", {"sdp": CHROME_OFFER, "type": "offer"})
    assert resp.status_code == 200, resp.content
    answer = resp.json()["sdp"]
    names = dict(re.findall(r"^a=rtpmap:(\d+) ([^/]+)/", answer, flags=re.M))
    m_audio = next(line for line in answer.splitlines() if line.startswith("m=audio "))
    assert [names[pt].lower() for pt in m_audio.split()[3:]] == ["opus"]
