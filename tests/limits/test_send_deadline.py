"""SendDeadline against a client that takes nothing: whichever message the server cannot
hand over (a response's start, behind a stalled response on the same connection, or a
piece of its body), the app's call ends after ``SEND_TIMEOUT_S`` with one warning, and
Django closes the response as it does for a disconnect. A client that reads is untouched."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from fc25_denoise.errors import JsonErrorsASGIHandler
from fc25_denoise.stalls import SendDeadline
from tests.asgi_scopes import http_scope

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT_S = 0.3


class StalledClient:
    """The server side of a connection whose client reads nothing once ``stall_at``
    messages have been handed over (None: it reads everything)."""

    def __init__(self, stall_at: int | None) -> None:
        self.stall_at = stall_at
        self.sent: list[dict[str, Any]] = []
        self.never = asyncio.Event()

    async def receive(self) -> dict[str, Any]:
        if not getattr(self, "_asked", False):
            self._asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self.never.wait()  # connected, and silent
        raise AssertionError("unreachable")

    async def send(self, message: dict[str, Any]) -> None:
        if self.stall_at is not None and len(self.sent) >= self.stall_at:
            await self.never.wait()  # the buffer never drains
        self.sent.append(message)


@pytest.mark.parametrize("stall_at", [0, 1], ids=["at the start", "in the body"])
async def test_a_message_the_client_never_takes_ends_the_call(settings, caplog, stall_at):
    settings.SEND_TIMEOUT_S = TIMEOUT_S
    client = StalledClient(stall_at)
    app = SendDeadline(JsonErrorsASGIHandler())
    with caplog.at_level(logging.WARNING, logger="fc25_denoise.stalls"):
        await asyncio.wait_for(app(http_scope("/healthz"), client.receive, client.send), 10)
    assert len(client.sent) == stall_at  # nothing after the stalled message
    warning = "[http GET /healthz client=127.0.0.1] the client read nothing for 0.3 s"
    assert warning in caplog.text


async def test_a_client_that_reads_gets_the_whole_response(settings, caplog):
    settings.SEND_TIMEOUT_S = TIMEOUT_S
    client = StalledClient(None)
    app = SendDeadline(JsonErrorsASGIHandler())
    with caplog.at_level(logging.WARNING, logger="fc25_denoise.stalls"):
        await asyncio.wait_for(app(http_scope("/healthz"), client.receive, client.send), 10)
    assert client.sent[0]["type"] == "http.response.start" and client.sent[0]["status"] == 200
    assert b"".join(m.get("body", b"") for m in client.sent[1:]) == b'{"status": "ok"}'
    assert not client.sent[-1].get("more_body") and "read nothing" not in caplog.text
