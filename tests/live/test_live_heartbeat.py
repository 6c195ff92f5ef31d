"""Live rows carry a heartbeat: a dead process's streams are ended by the live ones."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from streams.liveness import clear_dead_streams
from streams.models import ActiveStream
from tests.live.conftest import ArrayTrack
from users.models import User

pytestmark = pytest.mark.django_db(transaction=True)


def test_only_stale_rows_are_ended(friends):
    alice, bob, _ = friends
    old = timezone.now() - timedelta(seconds=60)
    ActiveStream.objects.create(user=alice, heartbeat=old)
    ActiveStream.objects.create(user=bob)
    User.objects.filter(pk__in=[alice.pk, bob.pk]).update(is_streaming=True)
    assert clear_dead_streams(30) == 1
    assert list(ActiveStream.objects.values_list("user__username", flat=True)) == ["bob"]
    assert not User.objects.get(pk=alice.pk).is_streaming
    assert User.objects.get(pk=bob.pk).is_streaming


async def test_hub_beats_and_sweeps(clients, settings):
    settings.DENOISE_MODEL = "identity"
    settings.STREAM_HEARTBEAT_S = 0.2
    alice, bob, _, _ = clients
    carol = await User.objects.aget(username="carol")
    # carol went live on a server process that has since died.
    await ActiveStream.objects.acreate(user=carol, heartbeat=timezone.now() - timedelta(minutes=5))
    tone = (0.3 * np.sin(2 * np.pi * 300 * np.arange(48_000 * 20) / 48_000)).astype(np.float32)
    resp, _ = await alice.go_live(ArrayTrack(tone))
    assert resp.status_code == 200
    started = (await ActiveStream.objects.aget(user__username="alice")).heartbeat
    await bob.listen("alice")

    async def row(name: str) -> ActiveStream | None:
        return await ActiveStream.objects.filter(user__username=name).afirst()

    for _ in range(50):
        mine = await row("alice")
        if mine and mine.heartbeat > started and mine.listeners == 1 and not await row("carol"):
            break
        await asyncio.sleep(0.1)
    mine = await row("alice")
    assert mine is not None and mine.heartbeat > started and mine.listeners == 1
    assert await row("carol") is None  # swept
    await alice.call("post", "/api/streams/stop/")
