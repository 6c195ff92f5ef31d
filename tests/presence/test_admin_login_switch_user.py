"""Logging in through ``/admin/login/`` as someone else, from a browser that is logged in,
logs the previous user out first, as the API's login does: ``user_logged_out`` is sent for
them and their presence sockets in that browser close with 4401. A refused admin login
(not staff) logs nobody out."""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.test import Client

from tests.conftest import PASSWORD, make_user
from tests.presence.helpers import api_login, socket_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def root(friends: Any) -> Any:
    user = make_user("root")
    user.is_staff = True
    user.is_superuser = True
    user.save()
    return user


def admin_login(client: Client, username: str) -> int:
    client.get("/admin/login/")
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": username, "password": PASSWORD, "next": "/admin/"},
        HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value,
    ).status_code


async def test_admin_login_as_another_user_closes_the_previous_users_sockets(root, logged_out):
    browser = await database_sync_to_async(api_login)("alice")
    alice_ws = await socket_for(browser)
    assert await database_sync_to_async(admin_login)(browser, "root") == 302
    assert await alice_ws.receive_output(timeout=3) == {"type": "websocket.close", "code": 4401}
    await alice_ws.disconnect()
    assert logged_out == ["alice"]


async def test_a_refused_admin_login_logs_nobody_out(root, logged_out):
    browser = await database_sync_to_async(api_login)("alice")
    alice_ws = await socket_for(browser)
    assert await database_sync_to_async(admin_login)(browser, "bob") == 200  # bob is no staff
    assert await alice_ws.receive_nothing(timeout=1)
    await alice_ws.send_json_to({"type": "ping"})
    assert await alice_ws.receive_json_from(timeout=2) == {"type": "pong"}
    await alice_ws.disconnect()
    assert logged_out == []
