"""Online presence and live status: who is connected, who is streaming.

A user is online while at least one presence socket is open, in any server
process (rows in :class:`PresenceConnection`). Transitions are announced to
the user's friends only.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from fc25_denoise import cachecount

from .events import publish
from .models import PresenceConnection, User
from .services import friend_ids


def _announce_presence(user: User, online: bool) -> None:
    last_seen = user.last_seen.isoformat() if user.last_seen else None
    publish(
        friend_ids(user),
        {"type": "presence", "username": user.username, "online": online, "last_seen": last_seen},
    )


CONNECTS_WINDOW_S = 60
"""The window :func:`connect_allowed` counts a user's socket openings in."""


def _connects_key(user_id: int) -> str:
    return f"fc25:presence-connects:{user_id}"


def connect_allowed(user_id: int, per_window: int) -> bool:
    """Count one presence socket opening of ``user_id``: whether it is within
    ``per_window`` in the current :data:`CONNECTS_WINDOW_S` window (shared by every
    process when the cache is Redis; the window starts at its first opening). A refused
    opening is not counted. Blocking: a cache round trip or two."""
    key = _connects_key(user_id)
    if cachecount.take(key, CONNECTS_WINDOW_S) <= per_window:
        return True
    cachecount.give_back(key)
    return False


def connect_not_admitted(user_id: int) -> None:
    """Take back the count of an opening :func:`connect_allowed` let through that was not
    admitted after all (too many tabs, a login that ended): it announced nothing, and a
    refused tab's retries must not use up the user's openings."""
    cachecount.give_back(_connects_key(user_id))


def do_connect(user: User, channel_name: str, max_sockets: int | None = None) -> bool:
    """Record an open socket; tell friends if the user just came online.

    Returns False (nothing recorded) when the user already has ``max_sockets``
    sockets open.
    """
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        open_now = PresenceConnection.objects.filter(user=locked).count()
        if max_sockets is not None and open_now >= max_sockets:
            return False
        PresenceConnection.objects.update_or_create(
            channel_name=channel_name, defaults={"user": locked}
        )
        locked.last_seen = timezone.now()
        locked.save(update_fields=["last_seen"])
        if not open_now:
            _announce_presence(locked, online=True)
    return True


def do_disconnect(user: User, channel_name: str) -> None:
    """Forget a socket; tell friends if it was the user's last one. A deleted account's
    socket leaves quietly (its rows went with it, and it has no friends left to tell)."""
    with transaction.atomic():
        locked = User.objects.select_for_update().filter(pk=user.pk).first()
        PresenceConnection.objects.filter(channel_name=channel_name).delete()
        if locked is None:
            return
        locked.last_seen = timezone.now()
        locked.save(update_fields=["last_seen"])
        if not PresenceConnection.objects.filter(user=locked).exists():
            _announce_presence(locked, online=False)


def online_ids(user_ids: list[int]) -> set[int]:
    return set(
        PresenceConnection.objects.filter(user_id__in=user_ids).values_list("user_id", flat=True)
    )


def do_set_streaming(user: User, is_streaming: bool) -> None:
    """Set ``user.is_streaming`` and push ``streaming_status`` to friends.

    The single entry point the live-stream code uses to announce going live or
    stopping; no-op (no event) when the flag already has that value.
    """
    with transaction.atomic():
        changed = (
            User.objects.filter(pk=user.pk)
            .exclude(is_streaming=is_streaming)
            .update(is_streaming=is_streaming)
        )
        user.is_streaming = is_streaming
        if changed:
            publish(
                friend_ids(user),
                {
                    "type": "streaming_status",
                    "username": user.username,
                    "is_streaming": is_streaming,
                },
            )


def clear_connections_of(channel_prefix: str) -> int:
    """Forget the sockets a dead server process held (their channel names start with
    ``channel_prefix``); friends are told of users who are now offline. Returns the count."""
    rows = list(
        PresenceConnection.objects.filter(channel_name__startswith=channel_prefix)
        .select_related("user")
        .values_list("user_id", "channel_name")
    )
    for user_id, channel_name in rows:
        user = User.objects.filter(pk=user_id).first()
        if user is not None:
            do_disconnect(user, channel_name)
    return len(rows)


def clear_stale_connections() -> int:
    """Delete all presence rows (run at server start, before any socket connects)."""
    deleted, _ = PresenceConnection.objects.all().delete()
    return deleted
