"""WebSocket handshakes only from this site's own pages.

Channels' ``AllowedHostsOriginValidator`` compares the ``Origin`` header's host name with
``ALLOWED_HOSTS`` and ignores its port: a page served by another program on another port
of the same host (``http://127.0.0.1:6666``) would open an authenticated presence socket
(browsers send the session cookie across ports) and read friends' events. Here the
``Origin`` must also name the host and port the request was sent to (its ``Host``
header), as a same-origin page's always does; and behind https (``FC25_PUBLIC_URL``), the
https scheme: a page served over plain http on the same host and port (forged by someone on
the network path, say) is another origin.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from asgiref.typing import ASGIReceiveCallable, ASGISendCallable, Scope
from channels.security.websocket import AllowedHostsOriginValidator, WebsocketDenier
from django.conf import settings


def _header(scope: Scope, name: bytes) -> str | None:
    headers: list[tuple[bytes, bytes]] = list(scope.get("headers", []))  # type: ignore[call-overload]
    for key, value in headers:
        if key == name:
            return bytes(value).decode("latin1")
    return None


def same_origin(scope: Scope) -> bool:
    """Whether the handshake's ``Origin`` names the authority in its ``Host`` header.

    A handshake without a ``Host`` header (no browser sends one) is left to the
    allowed-hosts check alone.
    """
    host = _header(scope, b"host")
    if host is None:
        return True
    origin = _header(scope, b"origin")
    if origin is None:
        return False
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    if settings.PUBLIC_HTTPS and parts.scheme.lower() != "https":
        return False
    return parts.netloc.lower() == host.strip().lower()


class SameOriginWebSocket:
    """ASGI middleware: :func:`same_origin`, then Channels' allowed-hosts check."""

    def __init__(self, application: Any) -> None:
        self.application = AllowedHostsOriginValidator(application)

    async def __call__(
        self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        if not same_origin(scope):
            await WebsocketDenier()(scope, receive, send)
            return
        await self.application(scope, receive, send)
