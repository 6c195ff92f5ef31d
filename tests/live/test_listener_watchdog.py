"""A listener whose ICE never completes is dropped after the connect timeout."""

from __future__ import annotations

import asyncio
import time

import pytest

from fc25_denoise import runtime
from tests.live.access_helpers import active_listeners, listening
from tests.live.conftest import wait_until
from tests.rtc import client_pc

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT_S = 2.0


@pytest.fixture
async def hub(settings):
    """A hub built with a short connect timeout (it is read when the hub is built)."""
    settings.DENOISE_MODEL = "identity"
    settings.WEBRTC_CONNECT_TIMEOUT = TIMEOUT_S
    runtime.replace_live_hub(None)
    hub = runtime.live_hub()
    yield hub
    await hub.shutdown()
    runtime.replace_live_hub(None)


async def test_listener_that_never_connects_is_dropped(clients, hub):
    alice, bob, _, _ = clients
    await listening(hub, alice, alice)  # a connected listener, which must stay
    session = hub.session_for(alice.user.pk)

    # Bob posts an offer, then vanishes: nobody ever answers the server's ICE checks.
    pc = client_pc()
    pc.addTransceiver("audio", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    offer = {"sdp": pc.localDescription.sdp, "type": "offer"}
    resp = await bob.call("post", "/api/webrtc/listen/alice/", offer)
    assert resp.status_code == 200, resp.content
    posted = time.monotonic()
    await pc.close()
    assert session.listeners == 2
    assert await active_listeners(alice, "alice") == 2

    await wait_until(lambda: session.listeners == 1, timeout=TIMEOUT_S + 1.5)
    assert time.monotonic() - posted >= TIMEOUT_S - 0.1  # the watchdog, not an early failure
    assert session.listener_ids(bob.user.pk) == []
    assert len(session.listener_ids(alice.user.pk)) == 1
    await asyncio.sleep(0.1)
    assert await active_listeners(alice, "alice") == 1
