"""Recordings stored while a stream is live (an import, a re-clean) count against the
same quota: the live recording's limit shrinks and the stream ends at the quota.

The budget used to be read once, when the stream started: a user could go live with an
empty quota, import files that filled it, and still record up to the whole quota live.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import numpy as np
import pytest

from recordings.models import StreamRecording
from streams.models import ActiveStream
from streams.quota import QuotaWatch
from tests.live.conftest import ArrayTrack
from tests.presence.helpers import connect, wait_for

SPOOL_BYTES_PER_S = 48_000 * 2 * 2  # two 16-bit tracks (cleaned and raw)


class FakeSession:
    """A live session as the watch sees it."""

    def __init__(self, user_id: int) -> None:
        self.user_id = user_id
        self.session_id = uuid.uuid4()
        self.recorded_bytes = 0
        self.stopped = False
        self.limits: list[int] = []
        self.stop_reason: str | None = None

    def stop_soon(self, reason: str) -> None:
        self.stop_reason = reason

    def limit_recording(self, max_bytes: int) -> None:
        self.limits.append(max_bytes)


async def test_the_watch_reads_the_usage_again_and_only_shrinks_the_limit() -> None:
    stored = {"bytes": 100}
    events: list[dict[str, Any]] = []

    async def usage(user_id: int) -> tuple[int, int]:
        return 1000, stored["bytes"]

    async def notify(user_id: int, event: dict[str, Any]) -> None:
        events.append(event)

    watch = QuotaWatch(notify, usage=usage, every_s=3600, reread_every_s=0)
    session = FakeSession(7)
    watch.track(session, 1000, 100)
    assert session.limits == [900]

    session.recorded_bytes = 200
    await watch.check()
    assert session.limits == [900] and session.stop_reason is None

    stored["bytes"] = 700  # an import finished meanwhile
    await watch.check()
    assert session.limits == [900, 300]
    assert events and events[-1]["state"] == "warning"

    stored["bytes"] = 0  # a deletion never lets the recording grow past its old limit
    await watch.check()
    assert session.limits == [900, 300]

    stored["bytes"] = 750
    session.recorded_bytes = 260
    await watch.check()
    assert session.stop_reason == "recording quota full"
    assert events[-1] == {
        "type": "recording_quota",
        "session_id": str(session.session_id),
        "state": "full",
        "used_bytes": 1010,
        "quota_bytes": 1000,
    }
    await watch.close()


async def test_a_failed_read_keeps_the_last_usage() -> None:
    async def usage(user_id: int) -> tuple[int, int]:
        raise ConnectionError("database away")

    async def notify(user_id: int, event: dict[str, Any]) -> None:
        pass

    watch = QuotaWatch(notify, usage=usage, every_s=3600, reread_every_s=0)
    session = FakeSession(7)
    watch.track(session, 1000, 100)
    session.recorded_bytes = 100
    await watch.check()
    assert session.limits == [900] and session.stop_reason is None
    await watch.close()


@pytest.mark.django_db(transaction=True)
async def test_a_recording_stored_while_live_ends_the_stream_at_the_quota(clients, settings):
    settings.DENOISE_MODEL = "identity"
    settings.RECORDINGS_QUOTA_BYTES = 30 * SPOOL_BYTES_PER_S
    alice = clients[0]
    socket = await connect("alice")
    try:
        tone = 0.3 * np.sin(2 * np.pi * 300 * np.arange(48_000 * 60) / 48_000)
        resp, _ = await alice.go_live(ArrayTrack(tone.astype(np.float32)))
        assert resp.status_code == 200, resp.content
        # As an import finishing now would: 27 of the 30 seconds' worth are taken.
        imported = await StreamRecording.objects.acreate(
            owner=alice.user, title="imported", size_bytes=27 * SPOOL_BYTES_PER_S
        )
        states = []
        while not states or states[-1]["state"] != "full":
            states.append(await wait_for(socket, "recording_quota", timeout=10))
        assert states[-1]["used_bytes"] >= 27 * SPOOL_BYTES_PER_S
    finally:
        await socket.disconnect()
    for _ in range(50):  # the recording is saved as the stream ends
        if not await ActiveStream.objects.aexists():
            break
        await asyncio.sleep(0.1)
    live = await StreamRecording.objects.exclude(pk=imported.pk).aget(owner=alice.user)
    assert live.duration <= 3.05
    assert live.size_bytes + imported.size_bytes <= settings.RECORDINGS_QUOTA_BYTES
