"""Access ends even when the request that ends it lands in another server process.

The session lives in the hub of the process that accepted Alice's offer; the
unfriend or logout request is handled by a second hub (as another process would
be), which does not hold the session: the ``live.revoke`` message reaches the
owning hub over the channel layer (its ``ActiveStream.node_channel``).
"""

from __future__ import annotations

import pytest

from fc25_denoise import runtime
from streams.models import ActiveStream
from tests.live.access_helpers import (
    ENDED_WITHIN_S,
    assert_audio_stopped,
    listening,
    presence_socket,
)
from tests.live.conftest import wait_until
from tests.presence.helpers import wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("no_access_polling")]


@pytest.fixture(autouse=True)
def _identity(settings):
    settings.DENOISE_MODEL = "identity"


@pytest.mark.parametrize(
    ("method", "path", "reason"),
    [("delete", "/api/friends/alice/", "not_friends"), ("post", "/api/auth/logout/", "logged_out")],
)
async def test_revoke_reaches_the_owning_process(clients, hub, method, path, reason):
    alice, bob, _, _ = clients
    bob_ws = await presence_socket(bob)
    listen_id, capture = await listening(hub, alice, bob)
    session = hub.session_for(alice.user.pk)
    row = await ActiveStream.objects.aget(user_id=alice.user.pk)
    assert row.node_channel

    other = runtime.build_live_hub()
    runtime.replace_live_hub(other)
    try:
        assert other.session_for(alice.user.pk) is None  # not this process's stream
        assert (await bob.call(method, path)).status_code == 204
        await wait_until(lambda: session.listeners == 0, timeout=ENDED_WITHIN_S)
        event = await wait_for(bob_ws, "listen_ended", ENDED_WITHIN_S)
        assert event == {**event, "listen_id": listen_id, "reason": reason}
    finally:
        runtime.replace_live_hub(hub)
        await other.shutdown()
    await assert_audio_stopped(capture)
    assert (await alice.call("get", "/api/streams/active/")).json()["streams"][0]["listeners"] == 0
