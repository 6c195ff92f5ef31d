"""A recording says how it was cleaned: an attenuation limit changed while live is the one
its recording carries."""

from __future__ import annotations

import pytest

from recordings.models import StreamRecording
from tests.live.conftest import tone_track, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


async def test_the_recording_carries_the_limit_set_while_live(clients, hub, settings):
    settings.DENOISE_MODEL = "identity"
    alice = clients[0]
    assert (await alice.go_live(tone_track(20)))[0].status_code == 200
    session = hub.session_for(alice.user.pk)
    await wait_until(lambda: session.stats["frames"] > 10)
    resp = await alice.call("patch", "/api/streams/settings/", {"atten_lim_db": 18})
    assert resp.status_code == 200
    stopped = await alice.call("post", "/api/streams/stop/")
    assert stopped.status_code == 200
    rec = await StreamRecording.objects.aget(pk=stopped.json()["recording_id"])
    assert rec.atten_lim_db == 18
