"""A dead server process's presence sockets are forgotten with its streams: its users
go offline for their friends instead of staying online for ever."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from streams.liveness import clear_dead_streams
from streams.models import LiveNode
from users.models import PresenceConnection

pytestmark = pytest.mark.django_db(transaction=True)


def test_sockets_of_a_dead_process_are_cleared(friends):
    alice, bob, carol = friends
    old = timezone.now() - timedelta(minutes=5)
    LiveNode.objects.create(channel="specific.dead!node", heartbeat=old)
    LiveNode.objects.create(channel="specific.me!oldnode", heartbeat=old)  # our own prefix
    PresenceConnection.objects.create(user=bob, channel_name="specific.dead!sock1")
    PresenceConnection.objects.create(user=alice, channel_name="specific.me!sock2")
    PresenceConnection.objects.create(user=carol, channel_name="specific.alive!sock3")
    clear_dead_streams(30, own_channel="specific.me!node")
    left = set(PresenceConnection.objects.values_list("channel_name", flat=True))
    assert left == {"specific.me!sock2", "specific.alive!sock3"}
    assert not LiveNode.objects.exists()
