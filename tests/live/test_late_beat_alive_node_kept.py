"""A process whose heartbeat is held up but that still answers is not taken for dead.

Stale rows alone do not prove a process dead: its beat can be held up (a slow database
connection) while its streams run. Before ending another process's streams, a sweep asks
it on its channel; one that answers keeps the streams it holds (its listeners are not
told the stream ended while they hear it, and no sweep saves and removes the spool files
it is still writing: one recording, saved once, when the stream really ends). A process
that does not answer is still taken over.

Two hubs on one loop stand for two processes sharing the in-memory layer: ``hub`` hosts
Alice's stream and its beats write nothing; ``other`` sweeps.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from channels.layers import get_channel_layer
from django.utils import timezone

from recordings.models import StreamRecording
from streams import liveness
from streams.models import ActiveStream
from tests.live.conftest import tone_track, wait_until
from users.models import User

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("identity_model")]

BEAT_S = 0.2


async def test_a_late_but_answering_host_keeps_its_stream(
    clients, hub, other, settings, monkeypatch
):
    settings.STREAM_HEARTBEAT_S = BEAT_S
    alice, _, carol, _ = clients
    assert (await alice.go_live(tone_track()))[0].status_code == 200
    session = hub.session_for(alice.user.pk)
    held_up = await hub.node.channel()
    real_beat = liveness.do_node_beat

    def beat(load, *args, **kwargs):  # the host's beats never reach the database
        if load.channel != held_up:
            real_beat(load, *args, **kwargs)

    monkeypatch.setattr(liveness, "do_node_beat", beat)
    old = timezone.now() - timedelta(minutes=5)
    await ActiveStream.objects.filter(user=alice.user).aupdate(heartbeat=old)
    # Carol's stream was hosted by a process that died: nothing reads its channel.
    dead = await get_channel_layer().new_channel()
    await ActiveStream.objects.acreate(user=carol.user, heartbeat=old, node_channel=dead)

    other.node.start()  # it beats, and after two beats its sweep may end others' streams

    async def carol_live() -> bool:
        return await ActiveStream.objects.filter(user=carol.user).aexists()

    for _ in range(100):
        if not await carol_live():
            break
        await asyncio.sleep(0.05)
    assert not await carol_live()  # the dead process's stream was taken over
    await asyncio.sleep(4 * BEAT_S)  # more sweeps

    assert await ActiveStream.objects.filter(user=alice.user).aexists()
    assert (await User.objects.aget(pk=alice.user.pk)).is_streaming
    assert not session.stopped
    assert not await StreamRecording.objects.filter(session_id=session.session_id).aexists()

    await wait_until(lambda: session.stats["frames"] > 50)
    resp = await alice.call("post", "/api/streams/stop/")
    assert resp.status_code == 200, resp.content
    assert resp.json()["recording_id"]
    saved = StreamRecording.objects.filter(session_id=session.session_id)
    assert await saved.acount() == 1
