"""A settings change reaches the live stream even when another server process handles it."""

from __future__ import annotations

import numpy as np
import pytest

from fc25_denoise import runtime
from streams.models import ActiveStream
from tests.live.conftest import ArrayTrack

pytestmark = pytest.mark.django_db(transaction=True)


async def test_atten_lim_is_routed_to_the_process_holding_the_stream(clients, hub, settings):
    settings.DENOISE_MODEL = "identity"
    alice = clients[0]
    tone = (0.3 * np.sin(2 * np.pi * 300 * np.arange(48_000 * 20) / 48_000)).astype(np.float32)
    resp, _ = await alice.go_live(ArrayTrack(tone))
    assert resp.status_code == 200
    row = await ActiveStream.objects.aget(user__username="alice")
    assert row.node_channel  # where this process listens for control messages
    session = hub.session_for(alice.user.pk)
    assert session is not None

    # The next request lands on another server process: a hub without the session.
    other = runtime.build_live_hub()
    runtime.replace_live_hub(other)
    try:
        resp = await alice.call("patch", "/api/streams/settings/", {"atten_lim_db": 12})
        assert resp.status_code == 200
    finally:
        runtime.replace_live_hub(hub)
        await other.shutdown()
    assert session._denoiser.atten_lim_db == 12  # the host answered once it applied it
    await alice.call("post", "/api/streams/stop/")
