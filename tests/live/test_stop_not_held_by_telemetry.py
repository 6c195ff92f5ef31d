"""Stopping answers at once even when a telemetry publish is stuck in the channel layer."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.live.access_helpers import tone
from tests.live.conftest import ArrayTrack
from tests.live.slow_unwind import SlowUnwind

pytestmark = pytest.mark.django_db(transaction=True)


async def test_stop_does_not_wait_for_a_stuck_telemetry_publish(
    clients, hub, settings, monkeypatch
):
    settings.DENOISE_MODEL = "identity"
    layer = SlowUnwind(unwind_s=5.0)

    async def publish(user_ids, event) -> None:
        await layer.hang()

    monkeypatch.setattr("streams.host.publish_now", publish)
    alice = clients[0]
    resp, _ = await alice.go_live(ArrayTrack(tone()))
    assert resp.status_code == 200, resp.content
    await asyncio.wait_for(layer.entered.wait(), 5)  # the telemetry task is stuck

    started = time.monotonic()
    resp = await alice.call("post", "/api/streams/stop/")
    took = time.monotonic() - started

    assert resp.status_code == 200, resp.content
    assert resp.json()["recording_id"] is not None
    assert took < 2.0, f"stop took {took:.1f} s"
    # The session still owns the cancelled task: it finishes on its own.
    await asyncio.wait_for(layer.unwound.wait(), 10)
