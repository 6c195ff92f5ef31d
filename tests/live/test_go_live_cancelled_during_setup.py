"""A go-live request cancelled while its denoiser is being built (Django cancels the view
when the client disconnects) leaves nothing behind: the setup thread finishes anyway, and
the denoiser it returns, which nobody holds, is closed. Left registered with the batch
scheduler, it would make every other stream's batches wait ``batch_wait_ms`` for its hops.
"""

from __future__ import annotations

import asyncio
import threading

import pytest
from asgiref.sync import ThreadSensitiveContext

from streams.models import ActiveStream
from streams.webrtc import runtime as runtime_module
from tests.live.conftest import tone_track, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.model]

HOLD_S = 30.0  # liveness bound only: the test releases the build long before


class SlowBuild:
    """The denoiser build on the setup thread (what ``LiveRuntime.create_denoiser`` runs),
    held until the test lets it finish: like a real model load, it completes even when
    the request that asked for it is cancelled meanwhile. It keeps what it built, so the
    backend's garbage-collection safety net cannot stand in for an explicit close."""

    def __init__(self, real):
        self.real = real
        self.entered = threading.Event()
        self.gate = threading.Event()
        self.built = []

    def __call__(self, *args, **kwargs):
        self.entered.set()
        self.gate.wait(HOLD_S)
        denoiser = self.real(*args, **kwargs)
        self.built.append(denoiser)
        return denoiser


async def request(coro):
    async with ThreadSensitiveContext():  # as Django's ASGIHandler does per request
        return await coro


async def test_cancelled_go_live_closes_the_denoiser_built_meanwhile(
    clients, hub, settings, monkeypatch
):
    settings.DENOISE_MODEL = "dfn3-onnx"  # batched: its denoiser registers with the scheduler
    alice, _, _, _ = clients
    scheduler = hub.runtime.inference
    assert scheduler is not None
    build = SlowBuild(runtime_module.create_denoiser)
    monkeypatch.setattr(runtime_module, "create_denoiser", build)

    going = asyncio.ensure_future(request(alice.go_live(tone_track())))
    await wait_until(build.entered.is_set)  # the slot is reserved, the row exists
    going.cancel()
    with pytest.raises(asyncio.CancelledError):
        await going
    build.gate.set()  # the build completes after its request is gone

    await wait_until(lambda: len(build.built) == 1)
    await wait_until(lambda: scheduler.active_streams == 0)
    assert hub._sessions == {} and not hub._starting
    assert hub.session_for(alice.user.pk) is None
    assert not await ActiveStream.objects.filter(user=alice.user).aexists()

    # The slot is free: the next go-live works, and its stream is the only one counted.
    monkeypatch.setattr(runtime_module, "create_denoiser", build.real)
    resp, _ = await alice.go_live(tone_track())
    assert resp.status_code == 200, resp.content
    assert scheduler.active_streams == 1
    assert (await alice.call("post", "/api/streams/stop/")).status_code == 200
    assert scheduler.active_streams == 0
