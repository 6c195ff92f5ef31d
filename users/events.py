"""Push events to users' presence sockets through the channel layer.

Every user's sockets join the group ``user.<id>``; the server never sends an
event to a group it did not compute from the friendship table, so outsiders
never receive anything about a user. Events are sent after the surrounding
transaction commits, so a socket never hears about a state it cannot read.

Callers must be in synchronous code: views, services run via
``database_sync_to_async``, or plain worker threads (recording jobs). Events
are sent on the server's event loop when it is known (see :func:`remember_loop`),
because the in-memory channel layer's queues belong to that loop: a send from
another loop would enqueue without waking the receiving socket.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

EVENT_MESSAGE_TYPE = "presence.event"
"""Channel-layer message type; PresenceConsumer.presence_event relays it."""


_server_loop: asyncio.AbstractEventLoop | None = None
SEND_TIMEOUT = 5.0


def remember_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Record the server's event loop (called by the ASGI entry point on every connection)."""
    global _server_loop
    _server_loop = loop


def _foreign_thread(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is not loop
    except RuntimeError:
        return True


def user_group(user_id: int) -> str:
    """Channel-layer group for all of one user's sockets."""
    return f"user.{user_id}"


def _deliver(
    send_all: Callable[[], Coroutine[Any, Any, None]], what: object, to: Iterable[object]
) -> None:
    """Run ``send_all()`` on the server loop when known (see the module docstring); ``to``
    (its targets) is named in the log line of a failure."""
    loop = _server_loop
    try:
        if loop is not None and loop.is_running() and _foreign_thread(loop):
            asyncio.run_coroutine_threadsafe(send_all(), loop).result(SEND_TIMEOUT)
        else:
            async_to_sync(send_all)()
    except Exception:
        logger.exception("could not publish %s to %s", what, ", ".join(map(str, to)))


async def publish_now(user_ids: Iterable[int], event: dict[str, Any]) -> None:
    """Send ``event`` to every socket of ``user_ids`` now (async code on the server loop,
    which has no transaction to wait for)."""
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": EVENT_MESSAGE_TYPE, "event": event}
    for uid in sorted(set(user_ids)):
        try:
            await layer.group_send(user_group(uid), message)
        except Exception:  # a broken layer must not break the change that was made
            logger.exception("could not publish %s to user %s", event.get("type"), uid)


def publish(user_ids: Iterable[int], event: dict[str, Any]) -> None:
    """Send ``event`` to every socket of ``user_ids`` once the transaction commits."""
    targets = sorted(set(user_ids))
    if not targets:
        return

    async def send_all() -> None:
        await publish_now(targets, event)

    transaction.on_commit(lambda: _deliver(send_all, event.get("type"), targets))


def send_after_commit(
    channels: Iterable[str], message: dict[str, Any], *, group: bool = False
) -> None:
    """Send a channel-layer ``message`` to each channel (or group) once the transaction
    commits; delivery problems are logged, never raised."""
    targets = sorted(set(channels))
    if not targets:
        return

    async def send_all() -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        for target in targets:
            try:
                if group:
                    await layer.group_send(target, message)
                else:
                    await layer.send(target, message)
            except Exception:
                logger.exception("could not send %s to %s", message.get("type"), target)

    transaction.on_commit(lambda: _deliver(send_all, message.get("type"), targets))
