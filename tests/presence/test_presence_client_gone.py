"""A page left during the presence handshake: the server's send raises its ``OSError``
(uvicorn's ``ClientDisconnected``). That is the client going away, not a server failure:
no error is logged, presence is cleared and the consumer ends on its own."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from tests.presence.helpers import session_cookie
from users.models import PresenceConnection

pytestmark = pytest.mark.django_db(transaction=True)


class ClientDisconnected(OSError):
    """What an ASGI server raises for a send on a socket whose client has gone."""


def ws_scope(cookie: str) -> dict[str, Any]:
    return {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "path": "/ws/presence/",
        "raw_path": b"/ws/presence/",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"origin", b"http://127.0.0.1"),
            (b"cookie", f"sessionid={cookie}".encode()),
        ],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
        "subprotocols": [],
    }


async def test_a_client_gone_before_the_accept_is_not_an_error(alice, caplog):
    from fc25_denoise.asgi import application

    cookie = await session_cookie("alice")
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await inbox.put({"type": "websocket.connect"})
    sent: list[str] = []

    async def receive() -> dict[str, Any]:
        return await inbox.get()

    async def send(message: dict[str, Any]) -> None:
        sent.append(message["type"])
        raise ClientDisconnected()

    caplog.set_level(logging.INFO, logger="users.consumers")
    # The consumer ends by itself: nothing more is ever received.
    await asyncio.wait_for(application(ws_scope(cookie), receive, send), 10)

    assert sent == ["websocket.accept"]  # nothing sent after the client was found gone
    errors = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert not errors, [r.getMessage() for r in errors]
    said = [r.getMessage() for r in caplog.records]
    assert any("went away during websocket.connect" in m and "alice" in m for m in said), said
    rows = PresenceConnection.objects.filter(user=alice)
    assert not await sync_to_async(rows.exists, thread_sensitive=False)()  # not left online


async def test_another_os_error_is_still_a_failure(alice, caplog, monkeypatch):
    """Only the server's send is the client going away: an OSError from elsewhere (here
    the presence row's write) is logged as a failure and the socket closed with 1011."""
    from fc25_denoise.asgi import application
    from users import presence

    def broken(*args: Any, **kwargs: Any) -> bool:
        raise OSError("disk gone")

    monkeypatch.setattr(presence, "do_connect", broken)
    cookie = await session_cookie("alice")
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await inbox.put({"type": "websocket.connect"})
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return await inbox.get()

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    caplog.set_level(logging.INFO, logger="users.consumers")
    await asyncio.wait_for(application(ws_scope(cookie), receive, send), 10)

    assert [m.get("code") for m in sent if m["type"] == "websocket.close"] == [1011]
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert failures and "failed handling websocket.connect" in failures[0].getMessage()
