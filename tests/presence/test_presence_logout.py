"""Logging out closes that session's presence sockets (4401); deactivation closes all."""

import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from tests.conftest import PASSWORD
from tests.presence.helpers import events
from users.models import PresenceConnection, User

pytestmark = pytest.mark.django_db(transaction=True)


def login() -> Client:
    client = Client(enforce_csrf_checks=True)
    client.get("/api/auth/csrf/")
    body = json.dumps({"username": "alice", "password": PASSWORD})
    token = client.cookies["csrftoken"].value
    resp = client.post(
        "/api/auth/login/", body, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert resp.status_code == 200
    return client


def logout(client: Client) -> int:
    token = client.cookies["csrftoken"].value
    return client.post(
        "/api/auth/logout/", "", content_type="application/json", HTTP_X_CSRFTOKEN=token
    ).status_code


async def socket_for(client: Client) -> WebsocketCommunicator:
    from fc25_denoise.asgi import application

    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    comm = WebsocketCommunicator(
        application,
        "/ws/presence/",
        headers=[(b"origin", b"http://127.0.0.1"), (b"cookie", cookie)],
    )
    assert (await comm.connect())[0]
    return comm


async def test_logout_closes_only_that_sessions_sockets(alice):
    laptop, phone = await database_sync_to_async(login)(), await database_sync_to_async(login)()
    tab1, tab2, other = await socket_for(laptop), await socket_for(laptop), await socket_for(phone)
    assert await database_sync_to_async(logout)(laptop) == 204
    for tab in (tab1, tab2):
        assert await tab.receive_output(timeout=2) == {"type": "websocket.close", "code": 4401}
        await tab.disconnect()  # as a browser answers the close (see test_presence_auth)
    await other.send_json_to({"type": "ping"})
    assert await other.receive_json_from(timeout=2) == {"type": "pong"}
    count = PresenceConnection.objects.filter(user__username="alice").acount
    assert await count() == 1  # the closed sockets are no longer counted online
    await other.disconnect()


def deactivate() -> None:
    user = User.objects.get(username="alice")
    user.is_active = False
    user.save()


async def test_deactivation_closes_every_socket(alice):
    phone = await database_sync_to_async(login)()
    laptop = await database_sync_to_async(login)()
    sockets = [await socket_for(phone), await socket_for(laptop)]
    await database_sync_to_async(deactivate)()
    for ws in sockets:
        assert await ws.receive_output(timeout=2) == {"type": "websocket.close", "code": 4401}
        await ws.disconnect()


async def test_other_logouts_leave_the_socket_open(alice, bob):
    from tests.presence.helpers import connect

    alice_ws = await connect("alice")
    bob_client = await database_sync_to_async(Client)()
    assert await database_sync_to_async(bob_client.login)(username="bob", password=PASSWORD)
    await database_sync_to_async(bob_client.logout)()
    assert await events(alice_ws) == []
    await alice_ws.send_json_to({"type": "ping"})
    assert await alice_ws.receive_json_from(timeout=2) == {"type": "pong"}
    await alice_ws.disconnect()


def change_password_keeping(client: Client) -> None:
    """A new password set from ``client``'s session, which stays logged in (as Django's
    password-change views do with update_session_auth_hash)."""
    from django.contrib.auth import HASH_SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    user = User.objects.get(username="alice")
    user.set_password("a-new-password-42")
    user.save()
    store = SessionStore(client.cookies["sessionid"].value)
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.save()


async def test_password_change_closes_the_other_sessions_sockets(alice):
    mine, stolen = await database_sync_to_async(login)(), await database_sync_to_async(login)()
    my_tab, other_tab = await socket_for(mine), await socket_for(stolen)
    await database_sync_to_async(change_password_keeping)(mine)
    assert await other_tab.receive_output(timeout=2) == {"type": "websocket.close", "code": 4401}
    await other_tab.disconnect()
    assert await my_tab.receive_nothing(timeout=1)  # its session still logs in
    await my_tab.send_json_to({"type": "ping"})
    assert await my_tab.receive_json_from(timeout=2) == {"type": "pong"}
    await my_tab.disconnect()
