"""Live access follows the account at every moment, not only when a listen starts.

A listener loses a live stream the moment they may no longer hear it:

* the friendship ends (either side; both directions: each may be listening to
  the other), reason ``"not_friends"``;
* the listener logs out, is deactivated or has their password changed or disabled, or
  the login the listen was opened from ends otherwise (its session deleted by an
  administrator, or expired: :data:`users.logins.login_ended`), reason ``"logged_out"``;
* the broadcaster's account is deleted: the stream ends (``live.end``), reason
  ``"ended"``.

Sessions live in the process that accepted the broadcaster's offer, so the
rule is applied by sending ``live.revoke`` (broadcaster id or None, listener id,
reason) to the control channel of every process that may hold such a listener
(``ActiveStream.node_channel``), after the transaction commits; the hub there
ends the connections (:meth:`streams.hub.LiveHub.revoke`) and the listener's
presence sockets get ``listen_ended``. The receivers are connected in
:meth:`streams.apps.StreamsConfig.ready` (users/ knows nothing of streams/).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import post_delete, post_save, pre_delete
from django.http import HttpRequest

from users.events import send_after_commit
from users.logins import EndedLogin, login_ended, session_names
from users.models import Friendship, User
from users.signals import password_changed

from .models import ActiveStream, LiveListen
from .reasons import LOGGED_OUT, NOT_FRIENDS

REVOKE_MESSAGE_TYPE = "live.revoke"
END_MESSAGE_TYPE = "live.end"
"""Notice to a stream's host: end ``user_id``'s stream (its account is being deleted)."""
ACCOUNT_DELETED = "account deleted"


def _revoke(
    channels: list[str],
    broadcaster_id: int | None,
    listener_id: int,
    reason: str,
    logins: list[str] | None = None,
) -> None:
    message = {
        "type": REVOKE_MESSAGE_TYPE,
        "broadcaster_id": broadcaster_id,
        "listener_id": listener_id,
        "reason": reason,
        "logins": logins,
    }
    send_after_commit([c for c in channels if c], message)


def revoke_between(a_id: int, b_id: int) -> None:
    """End listening between two users who are no longer friends (both directions)."""
    rows = ActiveStream.objects.filter(user_id__in=(a_id, b_id)).values_list(
        "user_id", "node_channel"
    )
    for broadcaster_id, channel in rows:
        listener_id = b_id if broadcaster_id == a_id else a_id
        _revoke([channel], broadcaster_id, listener_id, NOT_FRIENDS)


def revoke_listener(user_id: int, logins: list[str] | None = None) -> None:
    """End the live listening of ``user_id`` (logged out, deactivated, new password) in
    every process holding a live stream: every listen, or with ``logins`` (a logout) only
    those opened from one of those logins (:func:`users.logins.session_names`)."""
    channels = list(ActiveStream.objects.values_list("node_channel", flat=True).distinct())
    _revoke(channels, None, user_id, LOGGED_OUT, logins)


def _friendship_deleted(sender: type[Friendship], instance: Friendship, **kwargs: Any) -> None:
    revoke_between(instance.user_low_id, instance.user_high_id)


def _logged_out(
    sender: type, request: HttpRequest | None = None, user: User | None = None, **kwargs: Any
) -> None:
    if user is None or user.pk is None:
        return
    # Sent before the session is flushed: it still names the login that ends. Without a
    # request (or a name) every listen of the user ends.
    logins = session_names(request.session) if request is not None else []
    revoke_listener(user.pk, logins or None)


def _login_ended(sender: type, logins: list[EndedLogin], **kwargs: Any) -> None:
    # Only the processes hosting a listen of these users are told, one query for a
    # sweep's many logins (mostly with no listen at all). A listen still being answered
    # has no row yet: its request checks the login itself once registered (views).
    hosts: dict[int, set[str]] = {}
    rows = LiveListen.objects.filter(
        listener_id__in={login.user_id for login in logins}
    ).values_list("listener_id", "stream__node_channel")
    for listener_id, channel in rows:
        hosts.setdefault(listener_id, set()).add(channel)
    for login in logins:
        if login.user_id in hosts:
            _revoke(
                sorted(hosts[login.user_id]), None, login.user_id, LOGGED_OUT, list(login.names)
            )


def _user_saved(sender: type[User], instance: User, created: bool, **kwargs: Any) -> None:
    if created:
        return
    fields = kwargs.get("update_fields")
    if fields is not None and not {"is_active", "password"} & set(fields):
        return  # e.g. last_seen: neither the account's state nor its password changed
    # A new or disabled password (any change of the stored hash) ends the account's logins.
    if not instance.is_active or password_changed(instance):
        revoke_listener(instance.pk)


def _user_deleting(sender: type[User], instance: User, **kwargs: Any) -> None:
    """An account being deleted: its live stream ends (its listeners with it, whatever
    order the deletion takes the friendship and stream rows in) and so does its listening."""
    if instance.pk is None:
        return
    hosts = list(
        ActiveStream.objects.filter(user_id=instance.pk).values_list("node_channel", flat=True)
    )
    send_after_commit(
        [c for c in hosts if c],
        {"type": END_MESSAGE_TYPE, "user_id": instance.pk, "reason": ACCOUNT_DELETED},
    )
    revoke_listener(instance.pk)


def connect_receivers() -> None:
    """Hook the rule to the events that end access (called once, at app start)."""
    post_delete.connect(_friendship_deleted, sender=Friendship, dispatch_uid="streams.access.f")
    user_logged_out.connect(_logged_out, dispatch_uid="streams.access.logout")
    login_ended.connect(_login_ended, dispatch_uid="streams.access.login_ended")
    post_save.connect(_user_saved, sender=User, dispatch_uid="streams.access.user")
    pre_delete.connect(_user_deleting, sender=User, dispatch_uid="streams.access.user_deleted")
