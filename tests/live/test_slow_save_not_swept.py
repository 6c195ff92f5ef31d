"""A stopped stream whose recording takes long to save keeps its row fresh: no sweep
(of this process or another) takes it for a dead process's and saves it twice."""

from __future__ import annotations

import time

import numpy as np
import pytest

from recordings.models import StreamRecording
from streams import services
from tests.live.conftest import ArrayTrack, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


async def test_slow_save_is_saved_once(clients, hub, settings, monkeypatch):
    settings.DENOISE_MODEL = "identity"
    settings.STREAM_HEARTBEAT_S = 0.2  # dead after 0.4 s of silence
    alice = clients[0]
    calls: list[str] = []
    original = services.do_save_live_recording

    def slow_save(user, session_id, *args):
        calls.append(str(session_id))
        time.sleep(1.5)  # several heartbeats: a long recording, a slow store
        return original(user, session_id, *args)

    monkeypatch.setattr(services, "do_save_live_recording", slow_save)
    tone = (0.3 * np.sin(2 * np.pi * 300 * np.arange(48_000 * 20) / 48_000)).astype(np.float32)
    assert (await alice.go_live(ArrayTrack(tone)))[0].status_code == 200
    hub.node.start()
    session = hub.session_for(alice.user.pk)
    await wait_until(lambda: session.stats["frames"] > 25)  # half a second recorded
    resp = await alice.call("post", "/api/streams/stop/")
    assert resp.status_code == 200 and resp.json()["recording_id"]
    assert len(calls) == 1, calls
    assert await StreamRecording.objects.acount() == 1
