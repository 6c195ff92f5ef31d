"""Who a WebSocket is, looked up on a lane of threads of its own.

Channels' ``AuthMiddleware`` resolves ``scope["user"]`` with a thread-sensitive call,
and outside a request (every socket) those all share asgiref's one process-wide thread:
one slow query there holds every socket's handshake. :class:`LaneAuthMiddleware` does the
same look-up on :data:`SOCKETS_DB`, which the presence consumer's own database calls use.
"""

from __future__ import annotations

from typing import Any

from channels.auth import AuthMiddleware
from channels.middleware import BaseMiddleware
from channels.sessions import CookieMiddleware, SessionMiddleware

from fc25_denoise.limits import SYNC_GET_USER
from fc25_denoise.threads import ThreadLane, run_on

SOCKETS_DB = ThreadLane("socket-db", 4, keep_queued=True)
"""Database calls of WebSocket handshakes and the presence consumer (calls queued at server
stop still run: a closed socket's presence row is removed)."""


class LaneAuthMiddleware(AuthMiddleware):
    """Channels' ``AuthMiddleware``, resolving the user on :data:`SOCKETS_DB`."""

    async def resolve_scope(self, scope: dict[str, Any]) -> None:
        scope["user"]._wrapped = await run_on(SOCKETS_DB, SYNC_GET_USER, scope)


def auth_stack(inner: Any) -> BaseMiddleware:
    """Channels' ``AuthMiddlewareStack`` (cookies, session, user) with the user looked up
    by :class:`LaneAuthMiddleware`."""
    return CookieMiddleware(SessionMiddleware(LaneAuthMiddleware(inner)))
