"""Offers a test builds on purpose: the ones real aiortc clients make, and edits of them.

Helpers for the offer-validation tests (tests/live/conftest.py holds the harness).
"""

from __future__ import annotations

from typing import Any

from streams.models import ActiveStream
from tests.rtc import client_pc


async def offer_of(setup: Any) -> str:
    """The offer of a fresh aiortc peer connection after ``setup(pc)`` added its media
    (the peer connection is closed again: only its SDP is wanted)."""
    pc = client_pc()
    try:
        setup(pc)
        await pc.setLocalDescription(await pc.createOffer())
        return pc.localDescription.sdp
    finally:
        await pc.close()


def with_candidates(sdp: str, count: int) -> str:
    """``sdp`` with ``count`` extra loopback host candidates after its first ``a=mid:`` line."""
    extra = [
        f"a=candidate:{900 + i} 1 udp 2122260223 127.0.0.1 {40000 + i} typ host generation 0"
        for i in range(count)
    ]
    lines = sdp.split("\r\n")
    at = next(i for i, line in enumerate(lines) if line.startswith("a=mid:")) + 1
    return "\r\n".join(lines[:at] + extra + lines[at:])


def assert_rejected(resp: Any, *words: str) -> str:
    """``resp`` is a JSON 400 about the offer whose error holds every one of ``words``."""
    assert resp.status_code == 400, resp.content
    assert resp["Content-Type"] == "application/json"
    error: str = resp.json()["error"]
    assert error.startswith("The SDP offer was rejected: "), error
    for word in words:
        assert word.lower() in error.lower(), error
    return error


async def nothing_live(hub: Any) -> bool:
    """No session, slot or ActiveStream row is left in ``hub``."""
    return hub._sessions == {} and not await ActiveStream.objects.aexists()


async def refused_going_live(client: Any, hub: Any, peers: Any, sdp: str, *words: str) -> None:
    """``client``'s go-live with ``sdp`` is a JSON 400 about the offer naming ``words``,
    and nothing of it is kept: no peer connection was made, no session, slot or row."""
    resp = await client.call("post", "/api/webrtc/offer/", {"sdp": sdp, "type": "offer"})
    assert_rejected(resp, *words)
    assert peers.pcs == []
    assert await nothing_live(hub)


async def refused_listening(
    client: Any, broadcaster: Any, hub: Any, peers: Any, sdp: str, *words: str
) -> None:
    """``client``'s listen to live ``broadcaster`` with ``sdp`` is a JSON 400 about the
    offer naming ``words``, and made no peer connection and no listener."""
    opened = len(peers.pcs)
    path = f"/api/webrtc/listen/{broadcaster.user.username}/"
    resp = await client.call("post", path, {"sdp": sdp, "type": "offer"})
    assert_rejected(resp, *words)
    assert len(peers.pcs) == opened  # no peer connection, so no receiver, was made for it
    assert hub.listeners(broadcaster.user.pk) == 0
