"""A presence socket is a member of its user's group before the page sees it open: an
event published right after the open (when the page resyncs) reaches it. A refused
socket (4429) leaves no membership behind."""

from __future__ import annotations

import pytest
from channels.layers import get_channel_layer

from tests.presence.helpers import connect, wait_for
from users.events import publish_now, user_group

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _in_memory_layer(settings):
    """This file looks at the in-memory layer's members and clock, so it runs on that
    layer whatever the suite's (the consumer's behaviour is the same on Redis)."""
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


async def test_event_published_right_after_open_is_delivered(friends):
    alice, _, _ = friends
    alice_ws = await connect("alice")  # returns once the server accepted: the page's "open"
    event = {"type": "streaming_status", "username": "bob", "is_streaming": True}
    await publish_now([alice.pk], event)
    assert await wait_for(alice_ws, "streaming_status", timeout=2) == event
    await alice_ws.disconnect()


async def test_refused_socket_leaves_no_group_membership(friends, settings):
    alice, _, _ = friends
    settings.MAX_PRESENCE_SOCKETS = 1
    first = await connect("alice")
    refused = await connect("alice")
    assert (await refused.receive_json_from(timeout=2))["type"] == "error"
    assert await refused.receive_output(timeout=2) == {"type": "websocket.close", "code": 4429}
    await refused.disconnect()
    # Only the admitted socket is a member (the in-memory layer's table of members).
    assert len(get_channel_layer().groups.get(user_group(alice.pk), {})) == 1
    await first.disconnect()
    assert user_group(alice.pk) not in get_channel_layer().groups
