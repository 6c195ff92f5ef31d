"""Who may go live and listen: 401 anonymous, 403 non-friend, 409 not live / already live."""

import numpy as np
import pytest

from streams.models import ActiveStream
from tests.live.conftest import ArrayTrack, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _identity_model(settings):
    settings.DENOISE_MODEL = "identity"


def tone(seconds: float = 30.0) -> np.ndarray:
    t = np.arange(int(48_000 * seconds)) / 48_000
    return (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


async def test_anonymous_gets_401(clients):
    _, _, _, anon = clients
    resp, _ = await anon.go_live(ArrayTrack(tone()))
    assert resp.status_code == 401
    resp, _ = await anon.listen("alice")
    assert resp.status_code == 401


async def test_not_live_is_409_and_unknown_404(clients):
    alice, bob, _, _ = clients
    resp, _ = await bob.listen("alice")
    assert resp.status_code == 409
    resp, _ = await bob.listen("nobody")
    assert resp.status_code == 404
    resp = await alice.call("post", "/api/streams/stop/")
    assert resp.status_code == 409


async def test_live_then_friend_listens_outsider_refused(clients, hub):
    alice, bob, carol, _ = clients
    resp, _ = await alice.go_live(ArrayTrack(tone()))
    assert resp.status_code == 200, resp.content
    body = resp.json()
    assert body["type"] == "answer" and body["sdp"].startswith("v=0") and body["session_id"]
    assert await ActiveStream.objects.filter(user__username="alice").aexists()

    again, _ = await alice.go_live(ArrayTrack(tone()))
    assert again.status_code == 409

    resp, _ = await carol.listen("alice")
    assert resp.status_code == 403
    resp, capture = await bob.listen("alice")
    assert resp.status_code == 200
    assert resp.json()["session_id"] == body["session_id"]
    await wait_until(lambda: len(capture.chunks) > 10)

    active = (await bob.call("get", "/api/streams/active/")).json()["streams"]
    assert [(s["username"], s["listeners"]) for s in active] == [("alice", 1)]
    assert (await carol.call("get", "/api/streams/active/")).json() == {"streams": []}


async def test_listener_before_broadcaster_then_after(clients):
    alice, bob, _, _ = clients
    early, _ = await bob.listen("alice")
    assert early.status_code == 409
    resp, _ = await alice.go_live(ArrayTrack(tone()))
    assert resp.status_code == 200
    late, capture = await bob.listen("alice")
    assert late.status_code == 200
    await wait_until(lambda: len(capture.chunks) > 10)


async def test_a_friend_and_the_broadcaster_herself(clients, hub):
    alice, bob, _, _ = clients
    await alice.go_live(ArrayTrack(tone()))
    resp1, cap1 = await bob.listen("alice")
    resp2, cap2 = await alice.listen("alice")
    await wait_until(lambda: min(len(c.chunks) for c in (cap1, cap2)) > 10)
    session = hub.session_for((await ActiveStream.objects.aget()).user_id)
    assert session.listeners == 2
    ids = {resp1.json()["listen_id"], resp2.json()["listen_id"]}
    assert len(ids) == 2  # one listen_id per listener connection
    # A second listen by the same user replaces the first: tests/live/test_listen_replaced.py


@pytest.mark.parametrize(
    "body",
    [
        {"sdp": "garbage", "type": "offer"},
        {"sdp": "v=0\r\n", "type": "answer"},
        {"type": "offer"},
        {"sdp": 12, "type": "offer"},
        {"sdp": "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n", "type": "offer"},
    ],
)
async def test_bad_offers_are_400(clients, body):
    alice, _, _, _ = clients
    resp = await alice.call("post", "/api/webrtc/offer/", body)
    assert resp.status_code == 400
    assert resp.json()["error"]
    assert not await ActiveStream.objects.aexists()


async def test_malformed_json_is_400(clients):
    alice, _, _, _ = clients
    resp = await alice.call("post", "/api/webrtc/offer/", raw="{nope")
    assert resp.status_code == 400
