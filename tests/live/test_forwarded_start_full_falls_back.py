"""A process that placement picked from its last heartbeat but that filled up since answers
the forwarded start with 429: the offer goes on to the next process (here the one that
received it), as when the chosen one does not answer.

Two hubs on one loop stand for two processes sharing the in-memory layer; each one's load
is faked with reserved slots (what a stream being set up holds).
"""

from __future__ import annotations

import pytest
from django.utils import timezone

from streams.models import ActiveStream, LiveNode
from tests.live.conftest import tone_track

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _identity(settings):
    settings.DENOISE_MODEL = "identity"
    settings.MAX_LIVE_STREAMS = 4


async def test_a_full_remote_host_falls_back_to_the_next(clients, hub, other):
    carol = clients[2]
    hub.node.single = False  # the two hubs can reach each other
    # This process carries 2 streams (room 2); the other one filled up (4/4) after its
    # last heartbeat, which still says 0/4: placement offers it the stream first.
    hub._sessions.update({-1: None, -2: None})
    other._sessions.update({-3: None, -4: None, -5: None, -6: None})
    await LiveNode.objects.acreate(
        channel=await other.node.channel(),
        heartbeat=timezone.now(),
        streams=0,
        listeners=0,
        capacity=4,
    )
    try:
        resp, _ = await carol.go_live(tone_track())
    finally:
        for fake in (-1, -2):
            hub._sessions.pop(fake, None)
    assert resp.status_code == 200, resp.content  # this process had room
    assert hub.session_for(carol.user.pk) is not None
    row = await ActiveStream.objects.aget(user=carol.user)
    assert row.node_channel == await hub.node.channel()
