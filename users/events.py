"""Push events to users' presence sockets through the channel layer.

Every user's sockets join the group ``user.<id>``; the server never sends an
event to a group it did not compute from the friendship table, so outsiders
never receive anything about a user. Events are sent after the surrounding
transaction commits, so a socket never hears about a state it cannot read.

Callers must be in synchronous code (views, services run via
``database_sync_to_async``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

EVENT_MESSAGE_TYPE = "presence.event"
"""Channel-layer message type; PresenceConsumer.presence_event relays it."""


def user_group(user_id: int) -> str:
    """Channel-layer group for all of one user's sockets."""
    return f"user.{user_id}"


def publish(user_ids: Iterable[int], event: dict[str, Any]) -> None:
    """Send ``event`` to every socket of ``user_ids`` once the transaction commits."""
    targets = sorted(set(user_ids))
    if not targets:
        return

    def send() -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        message = {"type": EVENT_MESSAGE_TYPE, "event": event}
        for uid in targets:
            try:
                async_to_sync(layer.group_send)(user_group(uid), message)
            except Exception:  # a broken layer must not break the request that changed state
                logger.exception("could not publish %s to user %s", event.get("type"), uid)

    transaction.on_commit(send)
