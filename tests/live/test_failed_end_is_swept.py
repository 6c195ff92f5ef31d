"""A stream whose end failed halfway (a transient database error) does not stay live until
a restart: its row names this process, but no session of this process holds it any more,
so this process's own sweep ends it like a dead process's and saves its recording.

The streams a process does hold (live, being set up, being saved) are never swept by it,
however late their heartbeat.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from django.db import OperationalError
from django.utils import timezone

from recordings.models import StreamRecording
from streams import services
from streams.liveness import clear_dead_streams
from streams.models import ActiveStream
from tests.live.conftest import tone_track, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

MINE = "specific.me!node"


@pytest.fixture(autouse=True)
def _fast(settings):
    settings.DENOISE_MODEL = "identity"
    settings.STREAM_HEARTBEAT_S = 0.2  # dead after 0.4 s, swept every 0.2 s


class FailsOnce:
    """``do_end_stream`` whose first call hits a database error (SQLite busy, a failover)."""

    def __init__(self, real):
        self.real = real
        self.calls = 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        if self.calls == 1:
            raise OperationalError("database is locked")
        return self.real(*args, **kwargs)


async def test_a_stream_whose_end_failed_is_ended_by_the_sweep(clients, hub, monkeypatch):
    alice = clients[0]
    end = FailsOnce(services.do_end_stream)
    monkeypatch.setattr(services, "do_end_stream", end)
    assert (await alice.go_live(tone_track()))[0].status_code == 200
    session = hub.session_for(alice.user.pk)
    await wait_until(lambda: session.stats["frames"] > 25)  # half a second recorded
    stopped = await alice.call("post", "/api/streams/stop/")
    assert stopped.status_code == 200 and stopped.json()["recording_id"] is None
    assert end.calls == 1 and await ActiveStream.objects.aexists()  # left behind

    await wait_until(lambda: end.calls >= 2)  # the sweep took it up
    for _ in range(100):
        if not await ActiveStream.objects.aexists():
            break
        await asyncio.sleep(0.05)
    assert not await ActiveStream.objects.aexists()
    assert await StreamRecording.objects.filter(owner=alice.user).acount() == 1
    again, _ = await alice.go_live(tone_track())
    assert again.status_code == 200, again.content


def test_a_row_of_mine_that_i_no_longer_hold_is_swept(friends):
    alice, bob, _ = friends
    old = timezone.now() - timedelta(seconds=60)
    held = ActiveStream.objects.create(user=alice, heartbeat=old, node_channel=MINE)
    ActiveStream.objects.create(user=bob, heartbeat=old, node_channel=MINE)  # end failed
    assert clear_dead_streams(30, MINE, [held.session_id]) == 1
    assert list(ActiveStream.objects.values_list("user__username", flat=True)) == ["alice"]
