"""A live stream's recording is checked against the quota while it runs: warned at 90 %,
ended and saved at 100 %, never stored past the quota."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from recordings.models import StreamRecording
from streams.models import ActiveStream
from tests.live.conftest import ArrayTrack
from tests.presence.helpers import connect, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

SPOOL_BYTES_PER_S = 48_000 * 2 * 2  # two 16-bit tracks (cleaned and raw)


@pytest.fixture(autouse=True)
def _identity_model(settings):
    settings.DENOISE_MODEL = "identity"


async def test_stream_is_warned_then_ended_and_saved_within_the_quota(clients, settings):
    # Six seconds of live audio. The watch looks every 0.25 s and ends the stream a look
    # early, so "warning" is seen only if a look lands between 90 % and the quota minus
    # 0.25 s: with 6 s that window (0.35 s) is wider than the period, whatever the phase
    # of the looks against the audio (with 3 s it was 0.05 s: a matter of timing).
    settings.RECORDINGS_QUOTA_BYTES = 6 * SPOOL_BYTES_PER_S
    alice = clients[0]
    socket = await connect("alice")
    friend = await connect("bob")
    try:
        tone = 0.3 * np.sin(2 * np.pi * 300 * np.arange(48_000 * 30) / 48_000)
        resp, _ = await alice.go_live(ArrayTrack(tone.astype(np.float32)))
        assert resp.status_code == 200, resp.content
        warning = await wait_for(socket, "recording_quota", timeout=8)
        assert warning["state"] == "warning"
        assert warning["session_id"] == resp.json()["session_id"]  # which stream it is about
        assert warning["used_bytes"] >= 0.9 * warning["quota_bytes"]
        full = await wait_for(socket, "recording_quota", timeout=4)
        assert full["state"] == "full"
        started = await wait_for(friend, "streaming_status", timeout=4)
        assert started["is_streaming"] is True
        ended = await wait_for(friend, "streaming_status", timeout=4)
        assert ended == {"type": "streaming_status", "username": "alice", "is_streaming": False}
    finally:
        await socket.disconnect()
        await friend.disconnect()
    for _ in range(50):  # the recording is saved as the stream ends
        if not await ActiveStream.objects.aexists():
            break
        await asyncio.sleep(0.1)
    assert not await ActiveStream.objects.aexists()
    rec = await StreamRecording.objects.aget(owner__username="alice")
    assert 5.5 <= rec.duration <= 6.05
    assert rec.size_bytes <= settings.RECORDINGS_QUOTA_BYTES
    assert (await alice.call("post", "/api/streams/stop/")).status_code == 409


async def test_unlimited_quota_is_not_watched(clients, settings, hub):
    settings.RECORDINGS_QUOTA_BYTES = 0
    alice = clients[0]
    resp, _ = await alice.go_live(ArrayTrack(np.zeros(48_000 * 10, np.float32)))
    assert resp.status_code == 200
    await asyncio.sleep(1.5)
    assert hub.session_for(alice.user.pk) is not None
    assert not hub._quota._budgets
    assert (await alice.call("post", "/api/streams/stop/")).status_code == 200
