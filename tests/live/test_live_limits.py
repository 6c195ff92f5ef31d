"""Server limits answer 429 with a clear message; live settings reach the engine."""

import numpy as np
import pytest

from denoise.base import ModelLoadError
from streams.models import ActiveStream, BroadcastSettings
from streams.webrtc import runtime as live_runtime
from tests.live.conftest import ArrayTrack, LiveClient

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _identity_model(settings):
    settings.DENOISE_MODEL = "identity"


def tone() -> np.ndarray:
    return (0.1 * np.sin(np.arange(48_000 * 30) / 10)).astype(np.float32)


async def test_stream_limit(clients, settings):
    settings.MAX_LIVE_STREAMS = 1
    alice, bob, _, _ = clients
    assert (await alice.go_live(ArrayTrack(tone())))[0].status_code == 200
    resp, _ = await bob.go_live(ArrayTrack(tone()))
    assert resp.status_code == 429
    assert "at most 1 live stream" in resp.json()["error"]
    assert await ActiveStream.objects.acount() == 1


async def test_listener_limit(clients, settings):
    settings.MAX_LISTENERS_PER_STREAM = 1
    alice, bob, _, _ = clients
    await alice.go_live(ArrayTrack(tone()))
    assert (await bob.listen("alice"))[0].status_code == 200
    resp, _ = await alice.listen("alice")
    assert resp.status_code == 429
    assert "listeners" in resp.json()["error"]


async def test_settings_apply_to_live_stream(clients, hub):
    alice, _, _, _ = clients
    await alice.go_live(ArrayTrack(tone()))
    resp = await alice.call("patch", "/api/streams/settings/", {"atten_lim_db": 12})
    assert resp.status_code == 200
    assert resp.json()["atten_lim_db"] == 12
    session = hub.session_for((await ActiveStream.objects.aget()).user_id)
    assert session._denoiser.atten_lim_db == 12  # applied on the engine's next 10 ms hop
    assert (await BroadcastSettings.objects.aget()).atten_lim_db == 12


@pytest.mark.parametrize(
    "body",
    [
        {"atten_lim_db": 5},
        {"atten_lim_db": 101},
        {"atten_lim_db": "12"},
        {"atten_lim_db": True},
        {},
        {"model": "nope"},
    ],
)
async def test_bad_settings_are_400(clients, body):
    alice, _, _, _ = clients
    resp = await alice.call("patch", "/api/streams/settings/", body)
    assert resp.status_code == 400
    assert resp.json()["error"]


async def test_settings_when_not_live_are_kept_for_next_stream(clients):
    alice, _, _, _ = clients
    resp = await alice.call(
        "patch", "/api/streams/settings/", {"atten_lim_db": 20, "model": "identity"}
    )
    assert resp.status_code == 200
    assert (await alice.call("get", "/api/streams/settings/")).json()["atten_lim_db"] == 20


async def test_settings_need_login(clients):
    anon = clients[3]
    assert (
        await anon.call("patch", "/api/streams/settings/", {"atten_lim_db": 20})
    ).status_code == 401
    assert (await anon.call("get", "/api/streams/active/")).status_code == 401
    assert (await anon.call("post", "/api/streams/stop/")).status_code == 401


async def test_unloadable_model_is_503_and_server_keeps_running(clients, settings, monkeypatch):
    def broken(*args, **kwargs):
        raise ModelLoadError("model file hash mismatch")

    monkeypatch.setattr(live_runtime, "create_denoiser", broken)
    alice, _, _, _ = clients
    resp, _ = await alice.go_live(ArrayTrack(tone()))
    assert resp.status_code == 503
    assert "hash mismatch" in resp.json()["error"]
    assert not await ActiveStream.objects.aexists()
    monkeypatch.undo()
    assert (await alice.go_live(ArrayTrack(tone())))[0].status_code == 200


async def test_csrf_required_for_offer(friends, hub):
    c = await LiveClient(friends[0]).setup()
    resp = await c.http.post("/api/webrtc/offer/", "{}", content_type="application/json")
    assert resp.status_code == 403


@pytest.mark.model
async def test_model_choice_applies_to_next_stream(clients, hub):
    alice, _, _, _ = clients
    resp = await alice.call("patch", "/api/streams/settings/", {"model": "dfn2-ll"})
    assert resp.status_code == 200 and resp.json()["model"] == "dfn2-ll"
    assert (await alice.go_live(ArrayTrack(tone())))[0].status_code == 200
    stream = await ActiveStream.objects.aget()
    assert stream.model == "dfn2-ll"
    assert hub.session_for(stream.user_id)._denoiser.latency_samples == 480  # dfn2-ll's delay
