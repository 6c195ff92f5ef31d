"""``/ws/presence/``: pushes friends' presence, live status and friend events."""

from __future__ import annotations

import logging
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from . import presence
from .events import user_group
from .models import User

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401


class PresenceConsumer(AsyncJsonWebsocketConsumer):
    """One browser tab's presence socket.

    State: ``self.user`` and its group membership only; the online set lives
    in the database so every server process agrees.
    """

    user: User | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        await self.accept()
        if user is None or not user.is_authenticated:
            # Accept first: only an accepted socket can carry a close code.
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.user = user
        await self.channel_layer.group_add(user_group(user.pk), self.channel_name)
        await database_sync_to_async(presence.do_connect)(user, self.channel_name)
        logger.info("presence connected user=%s channel=%s", user.username, self.channel_name)

    async def disconnect(self, code: int) -> None:
        if self.user is None:
            return
        await self.channel_layer.group_discard(user_group(self.user.pk), self.channel_name)
        await database_sync_to_async(presence.do_disconnect)(self.user, self.channel_name)
        logger.info("presence disconnected user=%s code=%s", self.user.username, code)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        # The client only pings (keeps proxies from closing an idle socket).
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def presence_event(self, message: dict[str, Any]) -> None:
        """Relay an event published by :func:`users.events.publish`."""
        await self.send_json(message["event"])
