"""``/ws/presence/``: pushes friends' presence, live status and friend events.

Close codes: 4401 not logged in, or the session stopped logging the user in
while the socket was open (logged out, the account deactivated, or a new
password set from another session); 4429 the user already has
``FC25_MAX_PRESENCE_SOCKETS`` sockets open (the new one is refused, the open
ones keep working). A frame that is not a JSON text frame is answered with
``{"type":"error","error":...}`` and the socket stays open. 1011: a server-side
failure (logged); presence is cleared first, as on every close.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from typing import Any

from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from . import presence
from .events import user_group
from .models import User
from .services import session_is_valid

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_TOO_MANY = 4429
CLOSE_INTERNAL_ERROR = 1011
SESSION_END_GRACE_S = 0.5
"""Delay before a logged-out session's socket closes (see ``presence_session_ended``)."""
SESSION_ENDED_MESSAGE_TYPE = "presence.session_ended"
"""Channel-layer message to a user's group: ``session`` (see :func:`session_tag`) or
None for all of the user's sockets; matching sockets close with 4401 (with
``recheck``: only those whose session is no longer valid)."""


def session_tag(session_key: str | None) -> str:
    """A session's name in channel messages (a hash: the key itself is a secret)."""
    return hashlib.sha256((session_key or "").encode()).hexdigest()[:32]


MAX_FRAME_CHARS = 1024
"""Longest client frame parsed. The page only pings (about 20 characters); a longer frame
gets an error reply unparsed, so no frame can hold the event loop in ``json.loads``.
The server's own cap (Uvicorn ``--ws-max-size``, ``WS_MAX_BYTES``) bounds what is read."""


class PresenceConsumer(AsyncJsonWebsocketConsumer):
    """One browser tab's presence socket.

    State: ``self.user``, its session tag and group membership only; the online
    set lives in the database so every server process agrees.
    """

    user: User | None = None
    session: str = ""
    _session_key: str | None = None
    _closing: asyncio.Future[None] | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        await self.accept()
        if user is None or not user.is_authenticated:
            # Accept first: only an accepted socket can carry a close code.
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        limit = settings.MAX_PRESENCE_SOCKETS
        if not await database_sync_to_async(presence.do_connect)(user, self.channel_name, limit):
            logger.info("presence refused user=%s: %d sockets open", user.username, limit)
            await self.send_json({"type": "error", "error": f"At most {limit} open tabs."})
            await self.close(code=CLOSE_TOO_MANY)
            return
        self.user = user
        session = self.scope.get("session")
        self._session_key = getattr(session, "session_key", None)
        self.session = session_tag(self._session_key)
        await self.channel_layer.group_add(user_group(user.pk), self.channel_name)
        logger.info("presence connected user=%s channel=%s", user.username, self.channel_name)

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Run a handler; one that fails still leaves presence cleared.

        An exception escaping a handler would end the consumer without
        ``disconnect()``, leaving the user shown online for good; instead the
        failure is logged, presence cleared and the socket closed with 1011.
        """
        try:
            await super().dispatch(message)
        except StopConsumer:
            raise
        except Exception:
            logger.exception("presence socket failed handling %s", message.get("type"))
            await self.disconnect(CLOSE_INTERNAL_ERROR)
            await self.close(code=CLOSE_INTERNAL_ERROR)
            raise StopConsumer from None

    async def disconnect(self, code: int) -> None:
        if self._closing is not None and self._closing is not asyncio.current_task():
            self._closing.cancel()
        if self.user is None:
            return
        user, self.user = self.user, None  # runs once even if a close races a disconnect
        try:
            await self.channel_layer.group_discard(user_group(user.pk), self.channel_name)
        finally:
            await database_sync_to_async(presence.do_disconnect)(user, self.channel_name)
        logger.info("presence disconnected user=%s code=%s", user.username, code)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Parse a client frame; a bad one gets an error reply, never a crash."""
        if bytes_data is not None or text_data is None:
            await self.send_json({"type": "error", "error": "Binary frames are not accepted."})
            return
        if len(text_data) > MAX_FRAME_CHARS:
            await self.send_json({"type": "error", "error": "Frame too long."})
            return
        try:
            content = json.loads(text_data)
        except (ValueError, RecursionError):  # not JSON, or nested too deep to parse
            await self.send_json({"type": "error", "error": "Frames must be JSON objects."})
            return
        await self.receive_json(content)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        # The client only pings (keeps proxies from closing an idle socket).
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def presence_event(self, message: dict[str, Any]) -> None:
        """Relay an event published by :func:`users.events.publish`."""
        await self.send_json(message["event"])

    async def presence_session_ended(self, message: dict[str, Any]) -> None:
        """Close with 4401 if this socket's session ended (see ``SESSION_ENDED_MESSAGE_TYPE``).

        The close waits ``SESSION_END_GRACE_S``: the same logout ends the user's
        listening elsewhere (:mod:`streams.access`), and those ``listen_ended``
        events should reach the page first; events keep being relayed meanwhile.
        With ``recheck`` (a new password) the socket closes only if its session no
        longer logs the user in (the session that changed the password keeps it).
        """
        if message.get("session") not in (None, self.session) or self._closing is not None:
            return
        user_id = self.user.pk if self.user else 0

        async def close_soon() -> None:
            await asyncio.sleep(SESSION_END_GRACE_S)
            if message.get("recheck") and await database_sync_to_async(session_is_valid)(
                self._session_key, user_id
            ):
                self._closing = None
                return
            await self.disconnect(CLOSE_UNAUTHENTICATED)  # offline before the page hears it
            await self.close(code=CLOSE_UNAUTHENTICATED)

        self._closing = asyncio.ensure_future(close_soon())
