"""A broadcaster whose audio runs faster than real time is held to real time.

A sender that sends packets as fast as it can encode them had every one decoded,
denoised, relayed and recorded: 13 times the work a stream slot is sized at, and a
recording growing 13 times as fast. The packets past real time are now refused before
they are decoded, and counted in the stream's ``too_fast``.
"""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest

from streams.models import ActiveStream
from streams.webrtc.pace import BURST_S
from tests.live.conftest import ArrayTrack, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _identity(settings):
    settings.DENOISE_MODEL = "identity"


class Unpaced(ArrayTrack):
    """A microphone stand-in that never waits: frames as fast as they can be encoded."""

    async def recv(self):  # type: ignore[no-untyped-def]
        self._start = -1e9
        await asyncio.sleep(0)
        return await super().recv()


async def test_a_sender_faster_than_real_time_is_held_to_real_time(clients, hub):
    alice = clients[0]
    began = time.monotonic()
    samples = (0.1 * np.sin(np.arange(48_000 * 600) / 10)).astype(np.float32)
    resp, _ = await alice.go_live(Unpaced(samples))
    assert resp.status_code == 200
    session = hub.session_for((await ActiveStream.objects.aget()).user_id)
    await wait_until(lambda: session.stats["frames"] > 0 and session.stats["too_fast"] > 0)
    frames, started = session.stats["frames"], time.monotonic()
    await asyncio.sleep(3.0)
    stats = session.stats
    rate = (stats["frames"] - frames) / (time.monotonic() - started)
    assert rate < 50 * 1.1  # 20 ms frames: 50 a second in real time (it was about 650)
    assert stats["too_fast"] > 3 * 50  # the sender kept going faster, and was refused
    # The recording grows with the wall clock, not with the sender: at most 4 bytes a
    # sample (16-bit cleaned and raw) of real time, the slack and the burst.
    recorded_s = session.recorded_bytes / (4 * 48_000)
    assert recorded_s < (time.monotonic() - began) * 1.02 + BURST_S + 0.5
