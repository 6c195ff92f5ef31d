"""A process's sweep never ends the streams it holds itself, however late their heartbeat."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from streams.liveness import clear_dead_streams
from streams.models import ActiveStream

pytestmark = pytest.mark.django_db(transaction=True)

MINE = "specific.me!node"
THEIRS = "specific.dead!node"


def test_a_late_beat_of_my_own_stream_does_not_end_it(friends):
    alice, bob, _ = friends
    old = timezone.now() - timedelta(seconds=60)
    mine = ActiveStream.objects.create(user=alice, heartbeat=old, node_channel=MINE)
    ActiveStream.objects.create(user=bob, heartbeat=old, node_channel=THEIRS)
    assert clear_dead_streams(30, MINE, [mine.session_id]) == 1
    assert list(ActiveStream.objects.values_list("user__username", flat=True)) == ["alice"]
