"""A broadcast offer the server cannot use is refused before the stream is reserved: a
JSON 400, and friends are never told the user went live (then not live) for it."""

from __future__ import annotations

from typing import Any

import pytest

from streams.hub import LiveHub
from tests.live.chrome_offer import CHROME_LISTEN_OFFER, CHROME_OFFER, with_line
from tests.live.conftest import LiveClient, PeerLedger
from tests.live.offers import assert_rejected, nothing_live

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("identity_model")]


class RecordedEvents:
    """Stands in for ``users.presence.publish``: keeps what would have been sent."""

    def __init__(self) -> None:
        self.events: list[tuple[list[int], dict[str, Any]]] = []

    def __call__(self, user_ids: Any, event: dict[str, Any]) -> None:
        self.events.append((list(user_ids), event))


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> RecordedEvents:
    recorded = RecordedEvents()
    monkeypatch.setattr("users.presence.publish", recorded)
    return recorded


BAD_OFFERS = {
    "setup_bogus": with_line(CHROME_OFFER, "a=setup:", "a=setup:bogus"),
    "receive_only": CHROME_LISTEN_OFFER,  # no track to broadcast
    "inactive": with_line(CHROME_OFFER, "a=sendrecv", "a=inactive"),
    "no_direction": with_line(CHROME_OFFER, "a=sendrecv", "a=label:none"),
}


@pytest.mark.parametrize("name", sorted(BAD_OFFERS))
async def test_bad_offer_publishes_nothing(
    clients: list[LiveClient], hub: LiveHub, peers: PeerLedger, published: RecordedEvents, name
) -> None:
    alice = clients[0]
    resp = await alice.call(
        "post", "/api/webrtc/offer/", {"sdp": BAD_OFFERS[name], "type": "offer"}
    )
    assert_rejected(resp)
    assert published.events == []
    assert peers.pcs == []  # refused before a session was made
    assert await nothing_live(hub)


async def test_good_offer_still_announced(
    clients: list[LiveClient], hub: LiveHub, published: RecordedEvents
) -> None:
    """The recording stand-in does see a real go-live (the test above is not vacuous)."""
    alice, bob, _, _ = clients
    resp = await alice.call("post", "/api/webrtc/offer/", {"sdp": CHROME_OFFER, "type": "offer"})
    assert resp.status_code == 200, resp.content
    assert [(ids, e["type"], e["is_streaming"]) for ids, e in published.events] == [
        ([bob.user.pk], "streaming_status", True)
    ]
