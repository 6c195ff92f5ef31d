"""Shared steps for the live-access tests: Alice live, Bob listening, Bob's presence socket."""

from __future__ import annotations

import asyncio

import numpy as np
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.sessions.models import Session
from django.db.models import QuerySet

from streams.hub import LiveHub
from streams.models import ActiveStream
from tests.live.conftest import ArrayTrack, Capture, LiveClient, wait_until

ENDED_WITHIN_S = 10.0
"""How long a test waits for access to end: a bound for a loaded machine, not the contract.
The contract (a change that ends access ends it now) is checked by the path instead: with
the periodic checks held off (``no_access_polling``, tests/live/conftest.py) only the
change's own event can end it; with ``fast_access_check`` the test says which path did."""
AUDIT_S = 0.3
"""The access check's period under ``fast_access_check`` (tests/live/conftest.py)."""


def tone(seconds: float = 60.0) -> np.ndarray:
    t = np.arange(int(48_000 * seconds)) / 48_000
    return (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


async def presence_socket(client: LiveClient) -> WebsocketCommunicator:
    """A presence socket on ``client``'s own session (the same cookie as its HTTP calls)."""
    from fc25_denoise.asgi import application

    cookie = f"sessionid={client.http.cookies['sessionid'].value}"
    headers = [(b"origin", b"http://127.0.0.1"), (b"cookie", cookie.encode())]
    comm = WebsocketCommunicator(application, "/ws/presence/", headers=headers)
    connected, _ = await comm.connect()
    assert connected
    return comm


async def listening(
    hub: LiveHub, broadcaster: LiveClient, listener: LiveClient
) -> tuple[str, Capture]:
    """``broadcaster`` goes live, ``listener`` listens until audio flows; returns
    (listen_id, the listener's capture)."""
    if hub.session_for(broadcaster.user.pk) is None:
        resp, _ = await broadcaster.go_live(ArrayTrack(tone()))
        assert resp.status_code == 200, resp.content
    resp, capture = await listener.listen(broadcaster.user.username)
    assert resp.status_code == 200, resp.content
    listen_id = resp.json()["listen_id"]
    assert isinstance(listen_id, str) and len(listen_id) == 36
    await wait_until(lambda: len(capture.chunks) > 10)
    return listen_id, capture


async def assert_audio_stopped(capture: Capture) -> None:
    """No more frames reach the listener (a frame or two may be in flight)."""
    await asyncio.sleep(0.3)
    before = len(capture.chunks)
    await asyncio.sleep(0.6)
    assert len(capture.chunks) == before, "the listener still receives audio"


async def active_listeners(client: LiveClient, broadcaster: str) -> int:
    streams = (await client.call("get", "/api/streams/active/")).json()["streams"]
    return next(s["listeners"] for s in streams if s["username"] == broadcaster)


async def heartbeat_listeners(broadcaster_id: int) -> int:
    """The listener count on the ActiveStream row, as of the next heartbeat."""
    row = await ActiveStream.objects.aget(user_id=broadcaster_id)
    beat = row.heartbeat
    for _ in range(50):
        row = await ActiveStream.objects.aget(user_id=broadcaster_id)
        if row.heartbeat > beat:
            return row.listeners
        await asyncio.sleep(0.05)
    raise AssertionError("no heartbeat")


def session_row(client: LiveClient) -> QuerySet[Session]:
    """``client``'s session row (a query: it may have been deleted)."""
    return Session.objects.filter(session_key=client.http.cookies["sessionid"].value)


async def delete_row(client: LiveClient) -> None:
    """Delete ``client``'s session row, as an administrator ending that login would."""
    deleted, _ = await sync_to_async(session_row(client).delete, thread_sensitive=False)()
    assert deleted == 1
