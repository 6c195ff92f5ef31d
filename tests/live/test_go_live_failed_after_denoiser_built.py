"""A go-live that fails after its denoiser was built, before a session took it, closes the
denoiser: left registered with the batch scheduler, it would make every other stream's
batches wait ``batch_wait_ms`` for its hops."""

from __future__ import annotations

import pytest

from streams import host as host_module
from streams.models import ActiveStream
from tests.live.conftest import tone_track

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.model]


class SessionBroken(RuntimeError):
    """The session could not be created (a bug, or its peer connection could not be made)."""


def broken_session(*args, **kwargs):
    raise SessionBroken("cannot create the session")


async def test_failed_session_creation_closes_the_denoiser(clients, hub, settings, monkeypatch):
    settings.DENOISE_MODEL = "dfn3-onnx"  # batched: its denoiser registers with the scheduler
    alice, _, _, _ = clients
    scheduler = hub.runtime.inference
    assert scheduler is not None
    real = host_module.BroadcastSession
    monkeypatch.setattr(host_module, "BroadcastSession", broken_session)

    with pytest.raises(SessionBroken):  # the test client re-raises the view's exception
        await alice.go_live(tone_track())
    assert scheduler.active_streams == 0
    assert hub._sessions == {} and not hub._starting
    assert not await ActiveStream.objects.filter(user=alice.user).aexists()

    monkeypatch.setattr(host_module, "BroadcastSession", real)
    resp, _ = await alice.go_live(tone_track())
    assert resp.status_code == 200, resp.content
    assert scheduler.active_streams == 1
    assert (await alice.call("post", "/api/streams/stop/")).status_code == 200
    assert scheduler.active_streams == 0
