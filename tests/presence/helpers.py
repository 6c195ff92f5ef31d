"""Open real presence sockets through the full ASGI stack (session cookie auth)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from tests.conftest import PASSWORD


@database_sync_to_async
def session_cookie(username: str) -> str:
    client = Client()
    assert client.login(username=username, password=PASSWORD)
    return client.cookies["sessionid"].value


async def connect(username: str | None) -> WebsocketCommunicator:
    """A connected presence socket for ``username`` (anonymous when None)."""
    from fc25_denoise.asgi import application

    headers = [(b"origin", b"http://127.0.0.1")]
    if username:
        headers.append((b"cookie", f"sessionid={await session_cookie(username)}".encode()))
    comm = WebsocketCommunicator(application, "/ws/presence/", headers=headers)
    connected, _ = await comm.connect()
    assert connected
    return comm


async def events(comm: WebsocketCommunicator, timeout: float = 0.5) -> list[dict[str, Any]]:
    """Every event that arrives within ``timeout`` seconds of quiet."""
    # receive_nothing() polls without cancelling the app (a receive timeout would).
    out = []
    while not await comm.receive_nothing(timeout=timeout):
        out.append(json.loads(await comm.receive_from(timeout=1)))
    return out


async def wait_for(comm: WebsocketCommunicator, type_: str, timeout: float = 3.0) -> dict[str, Any]:
    """The next event of ``type_`` (others are skipped); fails if the socket closes first."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        remaining = deadline - loop.time()
        assert remaining > 0, f"no {type_} event within {timeout}s"
        out = await comm.receive_output(timeout=remaining)
        if out["type"] == "websocket.close":
            raise AssertionError(f"socket closed ({out.get('code')}) before a {type_} event")
        event = json.loads(out["text"])
        if event.get("type") == type_:
            return event


def api_login(username: str, client: Client | None = None) -> Client:
    """``client`` (a new browser when None) logged in as ``username`` through
    ``POST /api/auth/login/``, CSRF token included. Synchronous: wrap it in
    ``database_sync_to_async`` from async tests."""
    client = client or Client(enforce_csrf_checks=True)
    client.get("/api/auth/csrf/")
    resp = client.post(
        "/api/auth/login/",
        json.dumps({"username": username, "password": PASSWORD}),
        content_type="application/json",
        HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value,
    )
    assert resp.status_code == 200, resp.content
    return client


def api_logout(client: Client) -> int:
    """``POST /api/auth/logout/`` from ``client``; the status code."""
    return client.post(
        "/api/auth/logout/",
        "",
        content_type="application/json",
        HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value,
    ).status_code


async def socket_for(client: Client) -> WebsocketCommunicator:
    """A connected presence socket carrying ``client``'s session cookie."""
    from fc25_denoise.asgi import application

    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    comm = WebsocketCommunicator(
        application,
        "/ws/presence/",
        headers=[(b"origin", b"http://127.0.0.1"), (b"cookie", cookie)],
    )
    connected, _ = await comm.connect()
    assert connected
    return comm
