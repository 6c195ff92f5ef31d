"""A stream whose denoiser fails to close still ends: its recording is saved, its slot
freed and its owner can go live again. The failure had skipped the end of the stop, so
the user stayed "already live" until the server restarted."""

from __future__ import annotations

import pytest

from recordings.models import StreamRecording
from tests.live.conftest import tone_track, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_denoiser_that_fails_to_close_does_not_keep_the_stream(
    clients, hub, settings, monkeypatch, caplog
):
    settings.DENOISE_MODEL = "identity"
    alice = clients[0]
    assert (await alice.go_live(tone_track(20)))[0].status_code == 200
    session = hub.session_for(alice.user.pk)
    await wait_until(lambda: session.stats["frames"] > 10)

    async def failing_close(denoiser):
        raise RuntimeError("the engine's worker is wedged")

    monkeypatch.setattr(hub.runtime, "close_denoiser", failing_close)
    stopped = await alice.call("post", "/api/streams/stop/")

    assert stopped.status_code == 200
    assert await StreamRecording.objects.filter(pk=stopped.json()["recording_id"]).aexists()
    assert hub.session_for(alice.user.pk) is None
    assert "could not close the stream's denoiser" in caplog.text
    assert (await alice.go_live(tone_track(5)))[0].status_code == 200
