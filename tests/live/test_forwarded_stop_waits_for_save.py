"""A stop forwarded to the stream's host waits for the host to save the recording, even
past the forwarding timeout: saving a long stream (FLAC encoding, storage) takes longer.

The host answers only once the recording is stored; the forwarding process waits on as
long as the host keeps the stream's row fresh, and answers with the recording saved from
that session. A host that stops beating meanwhile (its row goes stale) gets 503.

Two hubs on one loop stand for two processes; the save is held by the test (a fake
storage step) until the forwarded call has timed out.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

import pytest
from asgiref.sync import ThreadSensitiveContext
from django.utils import timezone

from fc25_denoise import runtime
from recordings.models import StreamRecording
from streams import services
from streams.models import ActiveStream
from tests.live.conftest import tone_track, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fast(settings):
    settings.DENOISE_MODEL = "identity"
    settings.NODE_CALL_TIMEOUT_S = 0.1  # a forwarded stop waits 0.3 s for its answer
    settings.STREAM_HEARTBEAT_S = 60.0  # the row stays fresh unless a test ages it


class HeldSave:
    """The host's recording save, held until released (a long FLAC encode)."""

    def __init__(self, real):
        self.real = real
        self.entered = threading.Event()
        self.release = threading.Event()

    def __call__(self, *args, **kwargs):
        self.entered.set()
        self.release.wait(30)
        return self.real(*args, **kwargs)


class Watched:
    """Counts the forwarding process's looks at whether the stream has ended."""

    def __init__(self, real):
        self.real = real
        self.looks = 0

    def __call__(self, *args):
        self.looks += 1
        return self.real(*args)


async def request(coro):
    async with ThreadSensitiveContext():  # as Django's ASGIHandler does per request
        return await coro


async def stop_through_the_other(alice, hub, other, monkeypatch):
    save = HeldSave(services.do_save_live_recording)
    monkeypatch.setattr(services, "do_save_live_recording", save)
    looks = Watched(getattr(services, "stream_end", None))
    monkeypatch.setattr(services, "stream_end", looks, raising=False)
    assert (await alice.go_live(tone_track()))[0].status_code == 200
    session = hub.session_for(alice.user.pk)
    await wait_until(lambda: session.stats["frames"] > 25)  # half a second recorded
    runtime.replace_live_hub(other)  # the stop lands on the other process
    stopping = asyncio.ensure_future(request(alice.call("post", "/api/streams/stop/")))
    # The host is saving, and the forwarded call has given up waiting for its answer.
    await wait_until(lambda: save.entered.is_set() and (looks.looks > 0 or stopping.done()))
    return save, stopping


async def test_the_stop_answers_once_the_recording_is_saved(clients, hub, other, monkeypatch):
    alice = clients[0]
    save, stopping = await stop_through_the_other(alice, hub, other, monkeypatch)
    save.release.set()
    resp = await stopping
    assert resp.status_code == 200, resp.content
    recording = await StreamRecording.objects.aget(owner=alice.user)
    assert resp.json()["recording_id"] == recording.pk
    assert resp.json()["duration"] == recording.duration
    assert not await ActiveStream.objects.aexists()


async def test_a_host_that_stops_beating_meanwhile_gets_503(clients, hub, other, monkeypatch):
    alice = clients[0]
    save, stopping = await stop_through_the_other(alice, hub, other, monkeypatch)
    session_id = (await ActiveStream.objects.aget(user=alice.user)).session_id
    try:
        # The host died mid-save: its beat no longer refreshes the row (none comes before
        # the test is over, a minute apart).
        await ActiveStream.objects.filter(user=alice.user).aupdate(
            heartbeat=timezone.now() - timedelta(hours=1)
        )
        resp = await stopping
        assert resp.status_code == 503, resp.content
    finally:
        save.release.set()
        await wait_until(lambda: not hub.ending_here(session_id))  # saved before teardown
