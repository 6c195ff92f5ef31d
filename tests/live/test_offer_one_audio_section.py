"""An offer carries exactly one media section, audio: anything more is a JSON 400 before
any peer connection exists.

An extra section would get a transceiver of its own on the server, and one the client
sends on gets a receiver that decodes into a queue nobody reads (a thread each). Real
clients (static/js/webrtc_client.js) send one audio section and no data channel.
"""

from __future__ import annotations

import pytest
from aiortc.mediastreams import VideoStreamTrack

from streams.hub import LiveHub
from tests.live.conftest import ArrayTrack, LiveClient, PeerLedger
from tests.live.offers import assert_rejected, nothing_live, offer_of
from tests.live.test_listener_codec import tone

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _identity_model(settings):
    settings.DENOISE_MODEL = "identity"


async def _live(alice: LiveClient) -> None:
    resp, _ = await alice.go_live(ArrayTrack(tone(30.0)))
    assert resp.status_code == 200, resp.content


async def test_listen_offer_with_video_gets_400(
    clients: list[LiveClient], hub: LiveHub, peers: PeerLedger
) -> None:
    alice, bob, _, _ = clients
    await _live(alice)
    opened = len(peers.pcs)

    def audio_and_video(pc) -> None:
        pc.addTransceiver("audio", direction="recvonly")
        pc.addTrack(VideoStreamTrack())

    sdp = await offer_of(audio_and_video)
    assert "m=video " in sdp
    resp = await bob.call("post", "/api/webrtc/listen/alice/", {"sdp": sdp, "type": "offer"})
    assert_rejected(resp, "media section")
    assert len(peers.pcs) == opened  # no peer connection, so no receiver, was made for it
    assert hub.listeners(alice.user.pk) == 0


async def test_listen_offer_with_a_second_audio_section_gets_400(
    clients: list[LiveClient], hub: LiveHub, peers: PeerLedger
) -> None:
    alice, bob, _, _ = clients
    await _live(alice)
    opened = len(peers.pcs)

    def two_audio(pc) -> None:
        pc.addTransceiver("audio", direction="recvonly")
        # sendrecv: the server would receive it (addTrack would reuse the first one)
        pc.addTransceiver(ArrayTrack(tone(1.0)), direction="sendrecv")

    sdp = await offer_of(two_audio)
    assert sdp.count("m=audio ") == 2
    resp = await bob.call("post", "/api/webrtc/listen/alice/", {"sdp": sdp, "type": "offer"})
    assert_rejected(resp, "media section")
    assert len(peers.pcs) == opened
    assert hub.listeners(alice.user.pk) == 0


async def test_broadcast_offer_with_two_audio_tracks_gets_400(
    clients: list[LiveClient], hub: LiveHub, peers: PeerLedger
) -> None:
    alice = clients[0]

    def two_tracks(pc) -> None:
        pc.addTrack(ArrayTrack(tone(1.0)))
        pc.addTrack(ArrayTrack(tone(1.0)))

    sdp = await offer_of(two_tracks)
    assert sdp.count("m=audio ") == 2
    resp = await alice.call("post", "/api/webrtc/offer/", {"sdp": sdp, "type": "offer"})
    assert_rejected(resp, "media section")
    assert peers.pcs == []
    assert await nothing_live(hub)


async def test_broadcast_offer_with_a_data_channel_gets_400(
    clients: list[LiveClient], hub: LiveHub, peers: PeerLedger
) -> None:
    alice = clients[0]

    def with_channel(pc) -> None:
        pc.addTrack(ArrayTrack(tone(1.0)))
        pc.createDataChannel("chat")

    sdp = await offer_of(with_channel)
    assert "m=application " in sdp
    resp = await alice.call("post", "/api/webrtc/offer/", {"sdp": sdp, "type": "offer"})
    assert_rejected(resp, "media section")
    assert peers.pcs == []
    assert await nothing_live(hub)
