"""``manage.py clear_stale_state`` run just after a database outage leaves a running
process's streams alone.

During an outage no process can beat, so afterwards every ``LiveNode`` row is stale. The
command looked only at fresh rows, found none, took every process for dead and cleared
everything: it saved the running stream's spool as a recording and deleted it while the
stream still wrote to it, so the recording held the audio up to then and the rest was
lost. Now every row is watched for a new beat, stale ones too.
"""

from __future__ import annotations

import asyncio
import io
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.core.management import call_command
from django.utils import timezone

from recordings.models import StreamRecording
from streams.models import ActiveStream, LiveNode
from tests.live.conftest import tone_track, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_process_whose_rows_aged_in_an_outage_keeps_its_stream(clients, hub, settings):
    settings.DENOISE_MODEL = "identity"
    settings.STREAM_HEARTBEAT_S = 1.0  # the command watches for 1.5 beats: half a beat spare
    alice = clients[0]
    resp, _ = await alice.go_live(tone_track(30))
    assert resp.status_code == 200, resp.content
    session = hub.session_for(alice.user.pk)
    await wait_until(lambda: session.stats["frames"] > 25)
    here = await hub.node.channel()
    for _ in range(100):  # the process's first beat writes its row
        if await LiveNode.objects.filter(channel=here).aexists():
            break
        await asyncio.sleep(0.05)
    # The outage: nothing beat for 30 s.
    aged = timezone.now() - timedelta(seconds=30)
    await LiveNode.objects.all().aupdate(heartbeat=aged)
    await ActiveStream.objects.all().aupdate(heartbeat=aged)

    out = io.StringIO()
    await sync_to_async(call_command, thread_sensitive=False)("clear_stale_state", stdout=out)

    assert "1 server processes are running" in out.getvalue(), out.getvalue()
    assert await ActiveStream.objects.filter(user=alice.user).aexists()
    assert not await StreamRecording.objects.aexists()
    frames = session.stats["frames"]
    await wait_until(lambda: session.stats["frames"] > frames + 50)  # a second more
    stopped = await alice.call("post", "/api/streams/stop/")
    assert stopped.status_code == 200 and stopped.json()["recording_id"] is not None
    rec = await StreamRecording.objects.aget()
    assert rec.duration >= (frames + 50) * 0.02 - 0.1  # the whole stream, not the cut
