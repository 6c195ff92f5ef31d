"""End responses whose client has stopped reading.

The server (Uvicorn) makes an app's ``send`` wait while its write buffer is full, that
is while the client takes nothing. A download whose reader stalls without disconnecting
would hold its coroutine, its open stored file and its decoder until the client went
away. The bundled
nginx ends such a client after its ``send_timeout``; :class:`SendDeadline` does the same
for a server reached directly (``make run``).
"""

from __future__ import annotations

import asyncio
import logging

from asgiref.typing import ASGIReceiveCallable, ASGISendCallable, ASGISendEvent, Scope
from django.conf import settings

from .limits import App

logger = logging.getLogger(__name__)


class SendDeadline:
    """ASGI middleware: every response message must be taken by the client within
    ``settings.SEND_TIMEOUT_S``.

    Past it the send fails as a client disconnect does (``CancelledError`` inside the
    app's send, which Django's handler takes for one: it stops the response, closes the
    streamed iterator and the response as usual). The app then returns with the response
    incomplete, and the server closes the connection (Uvicorn logs that the response was
    incomplete). One warning names the request. What the response held (its stored file,
    its decoder, its coroutine) is freed then; the socket itself lasts until the client
    reads what is buffered for it or goes away, as asyncio closes a transport only once
    its buffer is sent: a proxy in front (the bundled nginx) bounds that too.
    """

    def __init__(self, app: App) -> None:
        self.app = app

    async def __call__(
        self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        timeout = float(settings.SEND_TIMEOUT_S)
        stalled = False

        async def timed_send(message: ASGISendEvent) -> None:
            # Every message: the server waits for its buffer to drain before a response's
            # start too (a pipelined request behind a stalled response). asyncio.timeout, not
            # wait_for: no task per message, and an outer cancel (a disconnect) is never lost.
            nonlocal stalled
            try:
                async with asyncio.timeout(timeout):
                    await send(message)
            except TimeoutError:
                stalled = True
                raise asyncio.CancelledError from None

        await self.app(scope, receive, timed_send)
        if stalled:
            client = scope.get("client") or ("?", 0)
            logger.warning(
                "[http %s %s client=%s] the client read nothing for %g s: response ended",
                scope.get("method", "?"),
                scope.get("path", "?"),
                client[0],
                timeout,
            )
