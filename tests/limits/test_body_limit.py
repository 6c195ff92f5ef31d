"""The ASGI entry bounds every request body before Django reads it.

Declared-too-large bodies get a 413 and anonymous bodies on login-only routes
a 401, with nothing read; a chunked body is counted as Django reads it and cut
off with a 413 once past the route's limit.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.test import Client

from fc25_denoise.asgi import application
from tests.asgi_scopes import http_scope

CHUNK = 64 * 1024


def scope_for(path: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return http_scope(path, method="POST", headers=headers)


async def call(
    path: str,
    length: int | None,
    session: str | None = None,
    chunks: Iterator[bytes] | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """Serve one POST; returns the messages sent and how many body reads were made.

    ``length``: the declared Content-Length (None: chunked, body from ``chunks``).
    """
    headers = [(b"content-length", str(length).encode())] if length is not None else []
    if length is None:
        headers.append((b"transfer-encoding", b"chunked"))
    if session:
        headers.append((b"cookie", f"sessionid={session}".encode()))
    body = chunks or iter([b""])
    more = chunks is not None
    reads = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal reads
        reads += 1
        chunk = next(body, None)
        if chunk is None:  # after the body the server only waits for a disconnect
            await asyncio.Event().wait()
        return {"type": "http.request", "body": chunk, "more_body": more}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await application(scope_for(path, headers), receive, send)
    return sent, reads


def endless() -> Iterator[bytes]:
    block = b"\0" * CHUNK
    while True:
        yield block


@pytest.fixture
async def alice_session(transactional_db, django_user_model) -> str:
    @database_sync_to_async
    def login() -> str:
        user = django_user_model.objects.create_user("alice", password="correct-horse-9")
        client = Client()
        client.force_login(user)
        return str(client.cookies["sessionid"].value)

    return await login()


async def test_oversized_import_is_refused_unread(settings):
    settings.UPLOAD_MAX_BYTES = 1024 * 1024
    sent, reads = await call("/api/recordings/import/", 50 * 1024 * 1024)
    assert reads == 0
    assert sent[0]["status"] == 413
    assert b"1 MB limit" in sent[1]["body"]


async def test_oversized_json_body_is_refused_unread(settings):
    settings.API_MAX_BODY_BYTES = 4096
    sent, reads = await call("/api/auth/login/", 50 * 1024 * 1024)
    assert reads == 0
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"]) == {"error": "Request body is larger than 4096 bytes."}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", ["/api/recordings/import/", "/api/friends/requests/"])
async def test_anonymous_body_on_login_routes_is_refused_unread(path):
    for length in (1000, None):  # declared or chunked
        sent, reads = await call(path, length, session="not-a-session", chunks=endless())
        assert reads == 0
        assert sent[0]["status"] == 401
        assert dict(sent[0]["headers"])[b"content-type"] == b"application/json"
        assert json.loads(sent[1]["body"]) == {"error": "You are not logged in."}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", ["/api/auth/login/", "/api/auth/register/", "/api/auth/logout/"])
async def test_open_routes_take_small_anonymous_bodies(path):
    # Reaches Django, which checks CSRF first (the client sent no token).
    sent, reads = await call(path, 100)
    assert reads >= 1 and sent[0]["status"] == 403


async def test_logged_in_small_body_reaches_django(alice_session):
    sent, reads = await call("/api/recordings/import/", 1000, session=alice_session)
    assert reads >= 1 and sent[0]["status"] == 403  # Django's CSRF check, not ours


async def test_chunked_body_is_cut_off_past_the_limit(settings, alice_session):
    settings.UPLOAD_MAX_BYTES = 1024 * 1024
    sent, reads = await call("/api/recordings/import/", None, alice_session, endless())
    limit_reads = (1024 * 1024 + 64 * 1024) // CHUNK
    assert limit_reads < reads <= limit_reads + 2  # stopped right past the limit
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"]) == {"error": "The file is larger than the 1 MB limit."}


async def test_chunked_json_body_is_cut_off_past_the_limit(settings, alice_session):
    settings.API_MAX_BODY_BYTES = 4096
    sent, reads = await call("/api/friends/requests/", None, alice_session, endless())
    assert reads <= 3
    assert sent[0]["status"] == 413
