"""A presence socket's handshake (who it is, whether its login holds, its presence row),
its messages and its goodbye run on the socket lane, not on asgiref's one thread that every
thread-sensitive call outside a request shares: one slow call there (a query waiting on a
lock) no longer holds every socket's handshake."""

from __future__ import annotations

import asyncio
import threading

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from tests.presence.helpers import session_cookie
from users.models import PresenceConnection

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_socket_is_admitted_while_the_shared_thread_is_held(alice):
    from fc25_denoise.asgi import application

    cookie = await session_cookie("alice")  # before the shared thread is held
    release = threading.Event()
    busy = asyncio.ensure_future(sync_to_async(release.wait, thread_sensitive=True)(30))
    try:
        await asyncio.sleep(0.1)
        headers = [(b"origin", b"http://127.0.0.1"), (b"cookie", f"sessionid={cookie}".encode())]
        comm = WebsocketCommunicator(application, "/ws/presence/", headers=headers)
        connected, _ = await asyncio.wait_for(comm.connect(), 5)
        assert connected
        await comm.send_json_to({"type": "ping"})
        assert await comm.receive_json_from(timeout=5) == {"type": "pong"}  # admitted
        rows = PresenceConnection.objects.filter(user=alice)
        assert await asyncio.wait_for(sync_to_async(rows.count, thread_sensitive=False)(), 5)
        await comm.disconnect()  # waits up to 1 s for the consumer, then cancels it
        assert comm.future.done() and not comm.future.cancelled()  # it ended on its own
        assert not await sync_to_async(rows.exists, thread_sensitive=False)()
    finally:
        release.set()
    assert await busy
