"""A stream whose row another process's sweep took over (this process was frozen for two
heartbeats and more, so it could not answer the sweep's question) stops at this process's
next beat, instead of running on with no row, unseen by placement, friends and listeners."""

from __future__ import annotations

import asyncio

import pytest

from streams.models import ActiveStream
from tests.live.conftest import tone_track, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("identity_model")]

BEAT_S = 0.2


async def test_a_stream_taken_over_stops_at_the_next_beat(clients, hub, settings):
    settings.STREAM_HEARTBEAT_S = BEAT_S
    alice, bob, _, _ = clients
    assert (await alice.go_live(tone_track()))[0].status_code == 200
    assert (await bob.go_live(tone_track()))[0].status_code == 200
    taken = hub.session_for(alice.user.pk)
    kept = hub.session_for(bob.user.pk)
    hub.node.start()
    await wait_until(lambda: hub.node._beating_since is not None, timeout=5)

    # What the other process's sweep leaves: Alice's row is gone.
    await ActiveStream.objects.filter(user=alice.user).adelete()

    await wait_until(lambda: hub.session_for(alice.user.pk) is None, timeout=5)
    assert taken.stopped
    # Only the stream that lost its row: Bob's runs on, and its row stays fresh.
    await asyncio.sleep(3 * BEAT_S)
    assert hub.session_for(bob.user.pk) is kept and not kept.stopped
    assert await ActiveStream.objects.filter(user=bob.user).aexists()


async def test_a_stream_installed_during_the_beat_is_not_stopped(clients, hub):
    """The beat's list is taken before its database call: a stream set up meanwhile is
    reported without a row although it has one by now. Its row is looked for again."""
    alice = clients[0]
    assert (await alice.go_live(tone_track()))[0].status_code == 200
    session = hub.session_for(alice.user.pk)

    await hub._lost([session.session_id])  # what such a beat reports

    await asyncio.sleep(0.2)
    assert hub.session_for(alice.user.pk) is session and not session.stopped
