"""``manage.py clear_stale_state`` decides what is stale by liveness, not by settings.

The compose stack's ``migrate`` service runs it again at every ``make deploy-up``, and
``make run`` runs it beside whatever else serves the same database. While a server process
beats (its ``LiveNode`` row is fresh; embedded-default processes write theirs too), its
live streams and its users' presence sockets are not stale: only a dead process's state is
cleared. With no process alive, everything is cleared as at a single server's restart.
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
from users.models import PresenceConnection, User

pytestmark = pytest.mark.django_db(transaction=True)

LONG_AGO = timedelta(hours=1)


@pytest.fixture(autouse=True)
def _identity(settings):
    settings.DENOISE_MODEL = "identity"


async def clear_stale_state() -> str:
    out = io.StringIO()
    await sync_to_async(call_command, thread_sensitive=False)("clear_stale_state", stdout=out)
    return out.getvalue()


async def test_a_running_process_keeps_its_streams_and_sockets(clients, hub, settings):
    settings.STREAM_HEARTBEAT_S = 0.5  # the command watches a fresh row for a new beat
    alice, bob, _, _ = clients
    resp, _ = await alice.go_live(tone_track(30))
    assert resp.status_code == 200, resp.content
    session = hub.session_for(alice.user.pk)
    await wait_until(lambda: session.stats["frames"] > 25)  # half a second recorded
    here = await hub.node.channel()
    for _ in range(100):  # the process's first beat writes its row
        if await LiveNode.objects.filter(channel=here).aexists():
            break
        await asyncio.sleep(0.05)
    # Bob's tab is connected to this process; a crashed earlier run left its node row.
    await PresenceConnection.objects.acreate(user=bob.user, channel_name=f"{here}-bobs-tab")
    await LiveNode.objects.acreate(
        channel="specific..inmemory!crashedrun", heartbeat=timezone.now() - LONG_AGO
    )

    said = await clear_stale_state()
    cleared_at = session.stats["frames"]

    assert await ActiveStream.objects.filter(user=alice.user).aexists(), said
    assert (await User.objects.aget(pk=alice.user.pk)).is_streaming
    assert await PresenceConnection.objects.filter(user=bob.user).aexists()
    assert not await LiveNode.objects.filter(channel="specific..inmemory!crashedrun").aexists()
    assert not await StreamRecording.objects.aexists()  # nothing was cut off the stream
    assert "1 server processes are running" in said, said
    await wait_until(lambda: session.stats["frames"] > cleared_at + 25)  # still recording
    stopped = await alice.call("post", "/api/streams/stop/")
    assert stopped.status_code == 200
    recording_id = stopped.json()["recording_id"]
    assert recording_id is not None
    assert [r.pk async for r in StreamRecording.objects.all()] == [recording_id]


def test_with_no_process_alive_everything_is_cleared(friends):
    alice, bob, _ = friends
    LiveNode.objects.create(
        channel="specific..inmemory!crashed", heartbeat=timezone.now() - LONG_AGO
    )
    ActiveStream.objects.create(user=alice, node_channel="specific..inmemory!crashed")
    User.objects.filter(pk=alice.pk).update(is_streaming=True)
    PresenceConnection.objects.create(user=bob, channel_name="specific..inmemory!bobstab")

    out = io.StringIO()
    call_command("clear_stale_state", stdout=out)

    assert "cleared 1 presence rows, 1 live streams" in out.getvalue(), out.getvalue()
    assert not ActiveStream.objects.exists() and not PresenceConnection.objects.exists()
    assert not User.objects.get(pk=alice.pk).is_streaming


def test_a_process_killed_moments_ago_is_not_taken_for_running(friends, settings):
    """Its row is still fresh, but it never beats again: a restart right after a crash
    clears everything, presence rows included (the in-memory layer's names cannot tell
    that process's sockets from another's)."""
    settings.STREAM_HEARTBEAT_S = 0.2
    alice, bob, _ = friends
    LiveNode.objects.create(channel="specific..inmemory!killed", heartbeat=timezone.now())
    ActiveStream.objects.create(user=alice, node_channel="specific..inmemory!killed")
    PresenceConnection.objects.create(user=bob, channel_name="specific..inmemory!bobstab")

    out = io.StringIO()
    call_command("clear_stale_state", stdout=out)

    assert "cleared 1 presence rows, 1 live streams" in out.getvalue(), out.getvalue()
    assert not ActiveStream.objects.exists() and not PresenceConnection.objects.exists()
