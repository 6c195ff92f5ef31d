"""Stopping answers at once even when a telemetry publish is stuck in the channel layer."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.live.access_helpers import tone
from tests.live.conftest import ArrayTrack, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


class StuckLayer:
    """A publish that, once cancelled, takes ``unwind_s`` to give up (as a channels-redis
    call cancelled mid-read can take until its socket times out)."""

    def __init__(self, unwind_s: float) -> None:
        self.unwind_s = unwind_s
        self.calls = 0
        self.unwound = asyncio.Event()

    async def publish(self, user_ids, event) -> None:
        self.calls += 1
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            await asyncio.sleep(self.unwind_s)
            self.unwound.set()
            raise


async def test_stop_does_not_wait_for_a_stuck_telemetry_publish(
    clients, hub, settings, monkeypatch
):
    settings.DENOISE_MODEL = "identity"
    layer = StuckLayer(unwind_s=5.0)
    monkeypatch.setattr("streams.host.publish_now", layer.publish)
    alice = clients[0]
    resp, _ = await alice.go_live(ArrayTrack(tone()))
    assert resp.status_code == 200, resp.content
    await wait_until(lambda: layer.calls >= 1, timeout=5)  # the telemetry task is stuck

    started = time.monotonic()
    resp = await alice.call("post", "/api/streams/stop/")
    took = time.monotonic() - started

    assert resp.status_code == 200, resp.content
    assert resp.json()["recording_id"] is not None
    assert took < 2.0, f"stop took {took:.1f} s"
    # The session still owns the cancelled task: it finishes on its own.
    await asyncio.wait_for(layer.unwound.wait(), 10)
