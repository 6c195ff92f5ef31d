"""Log lines about a listener name its listen id and its user id (``listener=<id>``), under
the stream's prefix (``[stream <id> user=<name>]``), and so does the warning about a
receive buffer that cannot be tuned: one listen's story can be followed in the log."""

from __future__ import annotations

import logging

import pytest

from streams.hub import LiveHub
from streams.webrtc import peer
from tests.live.conftest import ArrayTrack, LiveClient
from tests.live.test_listener_codec import tone

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("identity_model")]

SESSION_LOGGER = "streams.webrtc.session"


def lines(caplog: pytest.LogCaptureFixture, *words: str) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == SESSION_LOGGER and all(w in r.getMessage() for w in words)
    ]


async def test_joined_ended_and_left_name_the_listen_and_user(
    clients: list[LiveClient], hub: LiveHub, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    alice, bob, _, _ = clients
    resp, _ = await alice.go_live(ArrayTrack(tone(30.0)))
    assert resp.status_code == 200, resp.content
    session_id = hub.session_for(alice.user.pk).session_id
    listening, _ = await bob.listen("alice")
    assert listening.status_code == 200, listening.content
    listen_id = listening.json()["listen_id"]
    stopped = await bob.call("delete", f"/api/webrtc/listen/{listen_id}/")
    assert stopped.status_code in (200, 204), stopped.content

    who = f"listener={bob.user.pk}"
    for event in ("joined", "ended: stopped", "left"):
        found = lines(caplog, listen_id, who, event)
        assert len(found) == 1, (event, [r.getMessage() for r in caplog.records])
        assert found[0].startswith(f"[stream {session_id} user=alice] "), found[0]


async def test_untunable_receive_buffer_is_logged_for_the_stream(
    clients: list[LiveClient],
    hub: LiveHub,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """aiortc internals that changed (here: a buffer class the tuner does not know)."""
    monkeypatch.setattr(peer, "JitterBuffer", type("Unknown", (), {}))
    alice = clients[0]
    resp, _ = await alice.go_live(ArrayTrack(tone(30.0)))
    assert resp.status_code == 200, resp.content
    session_id = hub.session_for(alice.user.pk).session_id
    found = [r for r in caplog.records if "cannot tune aiortc jitter buffer" in r.getMessage()]
    assert len(found) == 1, [r.getMessage() for r in caplog.records]
    assert found[0].levelno == logging.WARNING
    assert found[0].getMessage().startswith(f"[stream {session_id} user=alice] ")
