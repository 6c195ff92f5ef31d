"""After a database outage longer than the dead threshold, no process ends another's
healthy streams.

Every process's heartbeat fails during the outage, so afterwards every row is stale; a
process ends others' streams only once its own beats have succeeded for the whole dead
threshold, by when the others have beaten again. Two hubs on one loop stand for two
processes; the outage is a fake database that refuses the beats and sweeps, and the sweeps
come back before the beats (the order after a real outage is the processes' timer phases).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.db import OperationalError
from django.utils import timezone

from streams import liveness
from streams.models import ActiveStream
from streams.node import DEAD_AFTER_BEATS
from tests.live.conftest import tone_track

pytestmark = pytest.mark.django_db(transaction=True)

HEARTBEAT_S = 0.2


@pytest.fixture(autouse=True)
def _fast(settings):
    settings.DENOISE_MODEL = "identity"
    settings.STREAM_HEARTBEAT_S = HEARTBEAT_S


class Outage:
    """The database as the beats and sweeps see it: down for either, or up, counting calls."""

    def __init__(self) -> None:
        self.beats_down = False
        self.sweeps_down = False
        self.failed_beats: dict[str, int] = {}
        self.good_beats: dict[str, int] = {}
        self.sweep_rounds = 0

    def beat(self, real: Callable[..., None]) -> Callable[..., None]:
        def beat(load, *args):
            if self.beats_down:
                self.failed_beats[load.channel] = self.failed_beats.get(load.channel, 0) + 1
                raise OperationalError("could not connect to server")
            real(load, *args)
            self.good_beats[load.channel] = self.good_beats.get(load.channel, 0) + 1

        return beat

    def sweep(self, real: Callable[..., int]) -> Callable[..., int]:
        def sweep(*args):
            if self.sweeps_down:
                raise OperationalError("could not connect to server")
            return real(*args)

        return sweep

    def spool(self, real: Callable[..., int]) -> Callable[..., int]:
        def spool(*args):  # every sweep round ends with it
            if self.sweeps_down:
                raise OperationalError("could not connect to server")
            self.sweep_rounds += 1
            return real(*args)

        return spool


async def until(check: Callable[[], object]) -> None:
    for _ in range(400):
        if await check() if asyncio.iscoroutinefunction(check) else check():
            return
        await asyncio.sleep(0.025)
    raise AssertionError("condition not met in time")


async def test_a_database_outage_does_not_end_healthy_streams(clients, hub, other, monkeypatch):
    alice = clients[0]
    db = Outage()
    monkeypatch.setattr(liveness, "do_node_beat", db.beat(liveness.do_node_beat))
    monkeypatch.setattr(liveness, "clear_dead_streams", db.sweep(liveness.clear_dead_streams))
    monkeypatch.setattr(liveness, "recover_orphan_spool", db.spool(liveness.recover_orphan_spool))
    assert (await alice.go_live(tone_track(30)))[0].status_code == 200
    other.node.start()  # a second process, beating and sweeping
    mine, theirs = await hub.node.channel(), await other.node.channel()
    await until(lambda: db.good_beats.get(theirs, 0) >= 3)

    db.beats_down = db.sweeps_down = True
    dead = timedelta(seconds=DEAD_AFTER_BEATS * HEARTBEAT_S)

    async def alice_looks_dead() -> bool:
        row = await ActiveStream.objects.aget(user=alice.user)
        return row.heartbeat < timezone.now() - dead

    await until(alice_looks_dead)
    await until(lambda: db.failed_beats.get(mine) and db.failed_beats.get(theirs))

    db.sweeps_down = False  # the sweeps reach the database first...
    rounds = db.sweep_rounds
    await until(lambda: db.sweep_rounds >= rounds + 4)  # both processes swept
    db.beats_down = False  # ...then the beats
    good = dict(db.good_beats)
    await until(lambda: db.good_beats[theirs] >= good[theirs] + 4)
    rounds = db.sweep_rounds
    await until(lambda: db.sweep_rounds >= rounds + 4)

    assert await ActiveStream.objects.filter(user=alice.user).aexists(), (
        "a healthy process's live stream was ended by another process's sweep"
    )
    assert hub.session_for(alice.user.pk) is not None
