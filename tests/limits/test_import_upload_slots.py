"""One account has at most ``MAX_OPEN_JOBS`` import bodies in flight, counted at the ASGI
entry before any body is read.

Django reads a whole import body to a temporary file (and the multipart parser copies it)
before the view's open-jobs and quota checks run, so without this one account's parallel
uploads could fill the host's disk. An import over the cap gets a 429 JSON error with
nothing read; an upload that ends, completed or cut off, gives its slot back. The cap is
per account: Bob's upload is never refused for Alice's.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.test import Client

from fc25_denoise.asgi import application
from tests.limits.test_body_limit import CHUNK, scope_for

pytestmark = pytest.mark.django_db(transaction=True)

IMPORT = "/api/recordings/import/"
LENGTH = 10 * CHUNK


class Upload:
    """One import POST driven straight through the ASGI app. Its client sends the first
    chunk, then stalls until :meth:`disconnect` (or sends the rest at once: ``stall=False``);
    ``chunked``: no declared length."""

    def __init__(self, session: str, *, stall: bool = True, chunked: bool = False) -> None:
        self.session = session
        self.stall = stall
        self.chunked = chunked
        self.reads = 0
        self.sent: list[dict[str, Any]] = []
        self.started = asyncio.Event()
        self._gone = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def _receive(self) -> dict[str, Any]:
        self.reads += 1
        self.started.set()
        if self.reads == 1:
            body = b"\0" * (CHUNK if self.stall else LENGTH)
            return {"type": "http.request", "body": body, "more_body": self.stall}
        await self._gone.wait()  # stalled mid-body, or finished: waits for the client to go
        return {"type": "http.disconnect"}

    async def _send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)

    def start(self) -> Upload:
        framing = (
            (b"transfer-encoding", b"chunked")
            if self.chunked
            else (b"content-length", str(LENGTH).encode())
        )
        headers = [
            framing,
            (b"content-type", b"application/octet-stream"),
            (b"cookie", f"sessionid={self.session}".encode()),
        ]
        self.task = asyncio.create_task(
            application(scope_for(IMPORT, headers), self._receive, self._send)
        )
        return self

    async def held(self) -> Upload:
        """Started and stalled in its body (Django is reading it)."""
        await asyncio.wait_for(self.started.wait(), 10)
        assert self.task is not None and not self.task.done()
        return self

    async def finished(self) -> Upload:
        assert self.task is not None
        await asyncio.wait_for(self.task, 10)
        return self

    async def disconnect(self) -> None:
        self._gone.set()
        await self.finished()

    @property
    def status(self) -> int:
        return int(self.sent[0]["status"])

    @property
    def reply(self) -> Any:
        return json.loads(self.sent[1]["body"])


async def _session(django_user_model: Any, username: str) -> str:
    @database_sync_to_async
    def login() -> str:
        user = django_user_model.objects.create_user(username, password="correct-horse-9")
        client = Client()
        client.force_login(user)
        return str(client.cookies["sessionid"].value)

    return await login()


async def test_an_import_past_the_cap_is_429_unread(settings, django_user_model):
    settings.MAX_OPEN_JOBS = 2
    alice = await _session(django_user_model, "alice")
    bob = await _session(django_user_model, "bob")
    held = [await Upload(alice).start().held() for _ in range(2)]
    try:
        third = await Upload(alice, stall=False).start().finished()
        assert third.reads == 0
        assert third.status == 429
        assert dict(third.sent[0]["headers"])[b"content-type"] == b"application/json"
        assert third.reply == {
            "error": "Too many uploads at once (at most 2); wait for one to finish."
        }

        # Per account: Bob's upload reaches Django (its CSRF check answers).
        bobs = await Upload(bob, stall=False).start().finished()
        assert bobs.reads >= 1 and bobs.status == 403
    finally:
        for upload in held:
            await upload.disconnect()


async def test_a_cut_off_upload_gives_its_slot_back(settings, django_user_model):
    settings.MAX_OPEN_JOBS = 1
    alice = await _session(django_user_model, "alice")
    first = await Upload(alice).start().held()
    assert (await Upload(alice, stall=False).start().finished()).status == 429
    await first.disconnect()  # the client went away mid-body
    again = await Upload(alice, stall=False).start().finished()
    assert again.reads >= 1 and again.status == 403  # reached Django


async def test_a_completed_upload_gives_its_slot_back(settings, django_user_model):
    settings.MAX_OPEN_JOBS = 1
    alice = await _session(django_user_model, "alice")
    for _ in range(3):
        done = await Upload(alice, stall=False).start().finished()
        assert done.reads >= 1 and done.status == 403  # Django answered; slot returned


async def test_an_oversized_upload_gives_its_slot_back(settings, django_user_model):
    settings.MAX_OPEN_JOBS = 1
    settings.UPLOAD_MAX_BYTES = 0  # the first chunk is already past the limit
    alice = await _session(django_user_model, "alice")
    cut = await Upload(alice, stall=False, chunked=True).start().finished()  # cut off when read
    assert cut.reads == 1 and cut.status == 413
    settings.UPLOAD_MAX_BYTES = LENGTH
    again = await Upload(alice, stall=False).start().finished()
    assert again.reads >= 1 and again.status == 403
