"""Settings changed while a stream is being set up (its model loading, ICE gathering)
reach the stream: a broadcaster who stops sharing the raw microphone meanwhile is never
heard raw.

The host reserves the stream's slot before its session exists; a change that reaches it
then is kept and applied before the session is installed, and the host reads the settings
again once the stream's row exists (a change stored before that, through another process,
reached no process at all).
"""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import ThreadSensitiveContext

from streams import host as host_module
from streams import services
from tests.live.conftest import tone_track

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _identity(settings):
    settings.DENOISE_MODEL = "identity"


class SlowModel:
    """The model load of a going-live, held until the test lets it finish."""

    def __init__(self, real):
        self.real = real
        self.entered = asyncio.Event()
        self.gate = asyncio.Event()

    async def __call__(self, model, atten):
        self.entered.set()
        await self.gate.wait()
        return await self.real(model, atten)


async def request(coro):
    async with ThreadSensitiveContext():  # as Django's ASGIHandler does per request
        return await coro


async def test_a_change_during_the_model_load_reaches_the_stream(clients, hub):
    alice, bob, _, _ = clients
    assert (
        await alice.call("patch", "/api/streams/settings/", {"share_raw": True})
    ).status_code == 200
    model = SlowModel(hub.runtime.create_denoiser)
    hub.runtime.create_denoiser = model
    going = asyncio.ensure_future(request(alice.go_live(tone_track())))
    await asyncio.wait_for(model.entered.wait(), 10)  # the row exists, no session yet

    body = {"share_raw": False, "atten_lim_db": 20}
    r = await request(alice.call("patch", "/api/streams/settings/", body))
    assert r.status_code == 200 and r.json()["share_raw"] is False
    model.gate.set()
    resp, _ = await going
    assert resp.status_code == 200, resp.content

    session = hub.session_for(alice.user.pk)
    assert session.share_raw is False
    assert session._denoiser.atten_lim_db == 20
    raw, _ = await bob.listen("alice", level="raw")
    assert raw.status_code == 403, "bob hears the microphone alice stopped sharing"


async def test_a_change_stored_before_the_row_existed_reaches_the_stream(clients, hub, monkeypatch):
    """Another process stored it and found the stream nowhere (no row yet): the host reads
    the settings again once its row exists."""
    alice, bob, _, _ = clients
    assert (
        await alice.call("patch", "/api/streams/settings/", {"share_raw": True})
    ).status_code == 200
    real = host_module.check_quota

    def check_quota_meanwhile(user_id, needed, **kwargs):  # runs after the first read
        services.do_update_settings(alice.user, 30, None, share_raw=False)
        return real(user_id, needed, **kwargs)

    monkeypatch.setattr(host_module, "check_quota", check_quota_meanwhile)
    resp, _ = await alice.go_live(tone_track())
    assert resp.status_code == 200, resp.content

    session = hub.session_for(alice.user.pk)
    assert session.share_raw is False
    assert session._denoiser.atten_lim_db == 30
    raw, _ = await bob.listen("alice", level="raw")
    assert raw.status_code == 403, "bob hears the microphone alice stopped sharing"
