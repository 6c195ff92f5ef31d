"""The broadcaster's own pages hear ``live_ended`` when their stream ends, whatever ended
it; friends hear only ``streaming_status``, outsiders nothing. A start that fails before
its offer is answered was never live for the pages: no ``live_ended``."""

from __future__ import annotations

import asyncio

import pytest

from denoise.base import ModelLoadError
from streams.models import ActiveStream
from streams.webrtc import runtime as live_runtime
from tests.live.conftest import tone_track
from tests.presence.helpers import connect, events, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("identity_model")]


@pytest.fixture(autouse=True)
def _short_media_timeout(settings):
    settings.WEBRTC_MEDIA_TIMEOUT = 1.0


async def test_stop_from_another_tab_tells_the_broadcasters_pages(clients):
    alice, _, _, _ = clients
    alice_ws, bob_ws, carol_ws = [await connect(name) for name in ("alice", "bob", "carol")]
    resp, _ = await alice.go_live(tone_track())
    assert resp.status_code == 200
    session_id = resp.json()["session_id"]
    assert (await wait_for(bob_ws, "streaming_status"))["is_streaming"] is True
    await asyncio.sleep(1.0)

    stopped = await alice.call("post", "/api/streams/stop/")  # the other tab's Stop
    assert stopped.status_code == 200
    recording_id = stopped.json()["recording_id"]
    assert recording_id is not None

    event = await wait_for(alice_ws, "live_ended")
    assert event == {"type": "live_ended", "session_id": session_id, "recording_id": recording_id}
    assert (await wait_for(bob_ws, "streaming_status"))["is_streaming"] is False
    assert not [e for e in await events(bob_ws) if e["type"] == "live_ended"]
    assert await events(carol_ws) == []
    for ws in (alice_ws, bob_ws, carol_ws):
        await ws.disconnect()


async def test_media_timeout_tells_the_broadcasters_pages(clients):
    """A stream the server ends on its own (here: no media for the timeout) is announced too."""
    alice, _, _, _ = clients
    alice_ws = await connect("alice")
    track = tone_track()
    resp, _ = await alice.go_live(track)
    assert resp.status_code == 200
    await asyncio.sleep(1.0)
    track.paused = True

    event = await wait_for(alice_ws, "live_ended", timeout=10)
    assert event["session_id"] == resp.json()["session_id"]
    assert isinstance(event["recording_id"], int)
    await alice_ws.disconnect()


async def test_a_failed_start_sends_no_live_ended(clients, monkeypatch):
    def broken(*args, **kwargs):
        raise ModelLoadError("model file hash mismatch")

    monkeypatch.setattr(live_runtime, "create_denoiser", broken)
    alice, _, _, _ = clients
    alice_ws, bob_ws = await connect("alice"), await connect("bob")
    resp, _ = await alice.go_live(tone_track())
    assert resp.status_code == 503  # after its row was made and friends were told
    assert not await ActiveStream.objects.aexists()
    assert (await wait_for(bob_ws, "streaming_status"))["is_streaming"] is True
    assert (await wait_for(bob_ws, "streaming_status"))["is_streaming"] is False
    assert not [e for e in await events(alice_ws) if e["type"] == "live_ended"]
    for ws in (alice_ws, bob_ws):
        await ws.disconnect()
