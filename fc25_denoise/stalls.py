"""End responses whose client has stopped reading.

The server (Uvicorn) makes an app's ``send`` wait while its write buffer is full, that
is while the client takes nothing. A download whose reader stalls without disconnecting
would hold its coroutine, its open stored file and its decoder until the client went
away, and enough of them would exhaust the process's file descriptors. The bundled
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
    """ASGI middleware: every response body message must be taken by the client within
    ``settings.SEND_TIMEOUT_S``.

    Past it the send fails as a client disconnect does (``CancelledError`` inside the
    app's send, which Django's handler takes for one: it stops the response, closes the
    streamed iterator and the response as usual). The app then returns with the response
    incomplete, and the server closes the connection. One warning names the request.
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
            nonlocal stalled
            if message["type"] != "http.response.body":
                await send(message)
                return
            try:
                await asyncio.wait_for(send(message), timeout)
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
