"""Requests through the ASGI app leave no database connection open behind them.

Django's ASGI handler runs each request's sync code on a thread of its own, and a
connection belongs to the thread that opened it: one kept for reuse (``CONN_MAX_AGE`` > 0)
stays open after its thread is gone, until the garbage collector happens to free it
(Django ticket #33497). With the collector off, as between its runs, those connections
pile up until PostgreSQL refuses new ones.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.testing import HttpCommunicator
from django.conf import settings
from django.db import connection
from django.test import Client

from fc25_denoise.asgi import application
from tests.conftest import make_user

REQUESTS = 20
"""Each would leave one connection behind; 20 stays well under max_connections (100),
which other test runs on the same server share."""

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="counts PostgreSQL backends (pg_stat_activity)"
    ),
    pytest.mark.django_db(transaction=True),  # requests on other threads see the session
]


def backends() -> int:
    """Open connections to this test database, this thread's own left out."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        row = cursor.fetchone()
    assert row is not None
    return int(row[0])


@pytest.fixture
def no_gc() -> Iterator[None]:
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect()  # frees (closes) whatever the test left, before the database is flushed


async def get_me(cookie: str) -> dict[str, Any]:
    comm = HttpCommunicator(
        application,
        "GET",
        "/api/auth/me/",
        headers=[(b"host", b"127.0.0.1"), (b"cookie", cookie.encode())],
    )
    response: dict[str, Any] = await comm.get_response(timeout=20)
    await comm.wait(timeout=20)  # the request's end (request_finished) runs after the body
    return response


def test_authenticated_requests_leave_no_connections_open(no_gc: None) -> None:
    client = Client()
    client.force_login(make_user("alice"))
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    before = backends()
    for _ in range(REQUESTS):
        response = async_to_sync(get_me)(cookie)
        assert response["status"] == 200, response["body"]
    assert backends() - before <= 2
