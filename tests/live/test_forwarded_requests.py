"""Requests about a stream hosted by another server process are forwarded to it.

Two hubs on one event loop stand for two processes: the test's ``hub`` hosts
Alice's stream; ``other`` (installed as "this process" for the requests) does
not, and reaches the host over the channel layer. A host that never answers
gives 503 within the forwarding timeout.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from channels.layers import get_channel_layer

from fc25_denoise import runtime
from streams.hub import SETTINGS_NOT_CONFIRMED
from streams.models import ActiveStream, LiveNode
from tests.live.conftest import tone_track, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _identity(settings):
    settings.DENOISE_MODEL = "identity"


async def test_listen_and_stop_through_another_process(clients, hub, other):
    alice, bob, _, _ = clients
    assert (await alice.go_live(tone_track()))[0].status_code == 200
    session = hub.session_for(alice.user.pk)
    runtime.replace_live_hub(other)

    resp, capture = await bob.listen("alice")
    assert resp.status_code == 200, resp.content
    body = resp.json()
    assert body["session_id"] == str(session.session_id) and body["listen_id"]
    assert session.listener_ids(bob.user.pk) != []  # the host's session has the listener
    await wait_until(lambda: len(capture.chunks) > 20)  # its media flows from the host

    resp = await alice.call("post", "/api/streams/stop/")
    assert resp.status_code == 200, resp.content
    assert resp.json()["recording_id"] and resp.json()["duration"] > 0
    assert hub.session_for(alice.user.pk) is None
    assert not await ActiveStream.objects.aexists()


async def test_settings_change_is_applied_before_the_answer(clients, hub, other):
    alice = clients[0]
    assert (await alice.go_live(tone_track()))[0].status_code == 200
    session = hub.session_for(alice.user.pk)
    runtime.replace_live_hub(other)
    resp = await alice.call("patch", "/api/streams/settings/", {"atten_lim_db": 12})
    assert resp.status_code == 200
    assert session._denoiser.atten_lim_db == 12  # the host replied once it was applied


async def test_refusals_come_back_with_the_hosts_status(clients, hub, other, settings):
    alice, bob, _, _ = clients
    settings.MAX_LISTENERS_PER_STREAM = 1
    assert (await alice.go_live(tone_track()))[0].status_code == 200
    runtime.replace_live_hub(other)
    resp = await bob.call(
        "post", "/api/webrtc/listen/alice/", {"sdp": "v=0\r\nm=audio 9 x\r\n", "type": "offer"}
    )
    assert resp.status_code == 400 and resp.json()["error"].startswith("The SDP offer")
    assert (await alice.listen("alice"))[0].status_code == 200  # the owner may listen
    resp, _ = await bob.listen("alice")
    assert resp.status_code == 429 and "1 listeners" in resp.json()["error"]


async def test_a_host_that_does_not_answer_gives_503(clients, hub, other, settings):
    alice, bob, _, _ = clients
    settings.NODE_CALL_TIMEOUT_S = 0.5
    assert (await alice.go_live(tone_track()))[0].status_code == 200
    # The stream's host hangs: nothing reads its channel any more.
    silent = await get_channel_layer().new_channel()
    await ActiveStream.objects.filter(user=alice.user).aupdate(node_channel=silent)
    runtime.replace_live_hub(other)
    for name, call in (
        ("listen", lambda: bob.listen("alice")),
        ("stop", lambda: alice.call("post", "/api/streams/stop/")),
        ("settings", lambda: alice.call("patch", "/api/streams/settings/", {"atten_lim_db": 20})),
    ):
        started = time.monotonic()
        result = await call()
        resp = result[0] if isinstance(result, tuple) else result
        assert resp.status_code == 503, resp.content
        assert time.monotonic() - started < 3
        if name != "settings":
            assert "not answering" in resp.json()["error"]
    # A settings change is stored all the same, and its 503 says so; the host's access
    # watch applies it at its next look (tests/live/test_settings_caught_up.py).
    assert resp.json()["error"] == SETTINGS_NOT_CONFIRMED
    assert (await alice.call("get", "/api/streams/settings/")).json()["atten_lim_db"] == 20
    assert await hub._access.catch_up_settings() == 1
    assert hub.session_for(alice.user.pk).atten_lim_db == 20
    runtime.replace_live_hub(hub)
    await hub.stop(alice.user.pk, "test over")


async def test_an_offer_to_a_full_process_is_hosted_by_one_with_room(clients, hub, other, settings):
    alice, _, carol, _ = clients
    settings.MAX_LIVE_STREAMS = 1
    assert (await alice.go_live(tone_track()))[0].status_code == 200
    other.node.start()  # the second process beats: its row offers room
    there = await other.node.channel()
    for _ in range(200):  # its first beat has written the row placement reads
        if await LiveNode.objects.filter(channel=there).aexists():
            break
        await asyncio.sleep(0.05)
    hub.node.single = False  # two hubs share the in-memory layer here
    resp, _ = await carol.go_live(tone_track())
    assert resp.status_code == 200, resp.content
    assert other.session_for(carol.user.pk) is not None
    assert hub.session_for(carol.user.pk) is None
    row = await ActiveStream.objects.aget(user=carol.user)
    assert row.node_channel == await other.node.channel()
    await other.stop(carol.user.pk, "test over")
