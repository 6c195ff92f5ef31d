"""A malformed SDP offer is a 400 naming the reason, and leaves nothing behind.

aiortc's parser raises whatever it trips on (KeyError for ``a=setup:bogus``,
AssertionError for a short ``a=candidate:`` line); either route answers 400
``The SDP offer was rejected: ...`` and closes every peer connection it opened,
frees the hub's slot, the batch scheduler's registration and the ActiveStream row.
"""

from __future__ import annotations

import pytest

from streams.models import ActiveStream
from tests.live.chrome_offer import (
    CHROME_LISTEN_OFFER,
    CHROME_OFFER,
    with_line,
)

pytestmark = pytest.mark.django_db(transaction=True)

SHORT_CANDIDATE = "a=candidate:1467250027 1 udp 2122260223"
BAD_LINES = [
    ("a=setup:", "a=setup:bogus"),
    ("a=candidate:", SHORT_CANDIDATE),
    ("a=fingerprint:", "a=fingerprint:sha-256"),
    ("a=rtpmap:111 ", "a=rtpmap:111"),
    ("m=audio ", "m=audio nine UDP/TLS/RTP/SAVPF 111"),
]


@pytest.fixture(autouse=True)
def _identity_model(settings):
    settings.DENOISE_MODEL = "identity"


def _rejected(resp) -> None:
    assert resp.status_code == 400, resp.content
    assert resp["Content-Type"] == "application/json"
    assert resp.json()["error"].startswith("The SDP offer was rejected: ")


async def _state(hub) -> tuple[int, int, int]:
    scheduler = hub.runtime.inference
    return (
        len(hub._sessions),
        scheduler.active_streams if scheduler is not None else 0,
        await ActiveStream.objects.acount(),
    )


@pytest.mark.parametrize(("prefix", "bad"), BAD_LINES)
async def test_broadcast_offer_rejected_and_cleaned_up(clients, hub, peers, prefix, bad):
    alice = clients[0]
    before = await _state(hub)
    resp = await alice.call(
        "post", "/api/webrtc/offer/", {"sdp": with_line(CHROME_OFFER, prefix, bad), "type": "offer"}
    )
    _rejected(resp)
    assert await _state(hub) == before == (0, 0, 0)
    assert peers.open_ones() == []
    # Nothing holds the slot: the real offer goes live.
    resp = await alice.call("post", "/api/webrtc/offer/", {"sdp": CHROME_OFFER, "type": "offer"})
    assert resp.status_code == 200, resp.content


@pytest.mark.parametrize(("prefix", "bad"), BAD_LINES)
async def test_listen_offer_rejected_and_cleaned_up(clients, hub, peers, prefix, bad):
    alice, bob, _, _ = clients
    live = await alice.call("post", "/api/webrtc/offer/", {"sdp": CHROME_OFFER, "type": "offer"})
    assert live.status_code == 200, live.content
    before = await _state(hub)
    opened = len(peers.pcs)
    resp = await bob.call(
        "post",
        "/api/webrtc/listen/alice/",
        {"sdp": with_line(CHROME_LISTEN_OFFER, prefix, bad), "type": "offer"},
    )
    _rejected(resp)
    assert await _state(hub) == before
    assert hub.listeners(alice.user.pk) == 0
    assert all(pc.connectionState == "closed" for pc in peers.pcs[opened:])
    resp = await bob.call(
        "post", "/api/webrtc/listen/alice/", {"sdp": CHROME_LISTEN_OFFER, "type": "offer"}
    )
    assert resp.status_code == 200, resp.content


@pytest.mark.parametrize("line", ["garbage", "a", "x:y", "a=mid:0\x07"])
async def test_line_that_is_not_sdp_rejected_before_aiortc(clients, hub, peers, line):
    alice = clients[0]
    sdp = CHROME_OFFER.replace("a=mid:0", line)
    resp = await alice.call("post", "/api/webrtc/offer/", {"sdp": sdp, "type": "offer"})
    _rejected(resp)
    assert "is not <type>=<value>" in resp.json()["error"]
    assert peers.pcs == []  # refused before any session was made


@pytest.mark.model
async def test_rejected_batched_offer_leaves_the_scheduler(clients, hub, peers, settings):
    settings.DENOISE_MODEL = "dfn3-onnx"
    alice = clients[0]
    scheduler = hub.runtime.inference
    assert scheduler is not None
    resp = await alice.call(
        "post",
        "/api/webrtc/offer/",
        {"sdp": with_line(CHROME_OFFER, "a=setup:", "a=setup:bogus"), "type": "offer"},
    )
    _rejected(resp)
    assert scheduler.active_streams == 0
    assert peers.open_ones() == []
    resp = await alice.call("post", "/api/webrtc/offer/", {"sdp": CHROME_OFFER, "type": "offer"})
    assert resp.status_code == 200, resp.content
    assert scheduler.active_streams == 1
    assert (await alice.call("post", "/api/streams/stop/")).status_code == 200
    assert scheduler.active_streams == 0
