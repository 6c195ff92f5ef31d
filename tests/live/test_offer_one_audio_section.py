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
from tests.live.offers import offer_of, refused_going_live, refused_listening
from tests.live.test_listener_codec import tone

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("identity_model")]


async def _live(alice: LiveClient) -> None:
    resp, _ = await alice.go_live(ArrayTrack(tone(30.0)))
    assert resp.status_code == 200, resp.content


async def test_listen_offer_with_video_gets_400(
    clients: list[LiveClient], hub: LiveHub, peers: PeerLedger
) -> None:
    alice, bob, _, _ = clients
    await _live(alice)

    def audio_and_video(pc) -> None:
        pc.addTransceiver("audio", direction="recvonly")
        pc.addTrack(VideoStreamTrack())

    sdp = await offer_of(audio_and_video)
    assert "m=video " in sdp
    await refused_listening(bob, alice, hub, peers, sdp, "media section")


async def test_listen_offer_with_a_second_audio_section_gets_400(
    clients: list[LiveClient], hub: LiveHub, peers: PeerLedger
) -> None:
    alice, bob, _, _ = clients
    await _live(alice)

    def two_audio(pc) -> None:
        pc.addTransceiver("audio", direction="recvonly")
        # sendrecv: the server would receive it (addTrack would reuse the first one)
        pc.addTransceiver(ArrayTrack(tone(1.0)), direction="sendrecv")

    sdp = await offer_of(two_audio)
    assert sdp.count("m=audio ") == 2
    await refused_listening(bob, alice, hub, peers, sdp, "media section")


async def test_broadcast_offer_with_two_audio_tracks_gets_400(
    clients: list[LiveClient], hub: LiveHub, peers: PeerLedger
) -> None:
    alice = clients[0]

    def two_tracks(pc) -> None:
        pc.addTrack(ArrayTrack(tone(1.0)))
        pc.addTrack(ArrayTrack(tone(1.0)))

    sdp = await offer_of(two_tracks)
    assert sdp.count("m=audio ") == 2
    await refused_going_live(alice, hub, peers, sdp, "media section")


async def test_broadcast_offer_with_a_data_channel_gets_400(
    clients: list[LiveClient], hub: LiveHub, peers: PeerLedger
) -> None:
    alice = clients[0]

    def with_channel(pc) -> None:
        pc.addTrack(ArrayTrack(tone(1.0)))
        pc.createDataChannel("chat")

    sdp = await offer_of(with_channel)
    assert "m=application " in sdp
    await refused_going_live(alice, hub, peers, sdp, "media section")
