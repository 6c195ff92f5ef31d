"""A presence socket opens only from this site's own pages: the Origin must name the host
and port the handshake was sent to, not only an allowed host name."""

from __future__ import annotations

import pytest
from channels.testing import WebsocketCommunicator

from fc25_denoise.asgi import application

from .helpers import session_cookie

pytestmark = pytest.mark.django_db(transaction=True)

HOST = b"127.0.0.1:8000"


async def opens(origin: bytes | None, host: bytes | None = HOST) -> bool:
    headers = [(b"cookie", f"sessionid={await session_cookie('alice')}".encode())]
    if origin is not None:
        headers.append((b"origin", origin))
    if host is not None:
        headers.append((b"host", host))
    comm = WebsocketCommunicator(application, "/ws/presence/", headers=headers)
    connected, _ = await comm.connect()
    if connected:
        await comm.send_json_to({"type": "ping"})
        assert await comm.receive_json_from(timeout=2) == {"type": "pong"}
    await comm.disconnect()
    return connected


@pytest.mark.parametrize(
    "origin",
    [b"http://127.0.0.1:8000", b"https://127.0.0.1:8000", b"HTTP://127.0.0.1:8000"],
)
async def test_the_sites_own_page_opens_it(alice, origin):
    assert await opens(origin)


@pytest.mark.parametrize(
    "origin",
    [
        b"http://127.0.0.1:6666",  # another program on the same host
        b"http://localhost:8000",  # another allowed name: another origin to the browser
        b"http://127.0.0.1",
        b"http://evil.example",
        b"null",
        None,
    ],
)
async def test_another_origin_is_refused(alice, origin):
    assert not await opens(origin)


async def test_without_a_host_header_the_allowed_hosts_decide(alice):
    assert await opens(b"http://127.0.0.1", host=None)
    assert not await opens(b"http://evil.example", host=None)


async def test_behind_https_an_http_page_of_the_same_host_is_refused(alice, settings):
    settings.PUBLIC_HTTPS = True
    assert await opens(b"https://127.0.0.1:8000")
    assert not await opens(b"http://127.0.0.1:8000")
