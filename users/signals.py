"""Presence sockets follow the login: logging out, deactivation, a new or disabled
password (for the sessions it invalidates) or the account's deletion closes them with 4401.

Friendship and friend-request events follow the rows, whichever way they go: a friendship
deleted (``DELETE /api/friends/USERNAME/``, the admin, the cascade of a deleted account)
tells both sides ``removed``; a pending request deleted (cancelled, or its sender's or
addressee's account deleted) tells both sides it is closed.

Connected in :meth:`users.apps.UsersConfig.ready`.
"""

from __future__ import annotations

import threading
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.db.models.signals import post_delete, post_save, pre_delete, pre_save
from django.http import HttpRequest

from .consumers import SESSION_ENDED_MESSAGE_TYPE
from .events import publish, send_after_commit, user_group
from .logins import (
    EndedLogin,
    deleted_session_ended,
    forget_login,
    login_ended,
    remember_session,
    session_names,
    tag_login,
)
from .models import FriendRequest, Friendship, PresenceConnection, User


def _close_sockets(user_id: int, session: str | None, *, recheck: bool = False) -> None:
    message = {"type": SESSION_ENDED_MESSAGE_TYPE, "session": session, "recheck": recheck}
    send_after_commit([user_group(user_id)], message, group=True)


def _logged_in(
    sender: type, request: HttpRequest | None = None, user: User | None = None, **kwargs: Any
) -> None:
    if request is not None and user is not None and hasattr(request, "session"):
        tag_login(request.session, user.pk)


def _logged_out(
    sender: type, request: HttpRequest | None = None, user: User | None = None, **kwargs: Any
) -> None:
    if user is None or user.pk is None:
        return
    # Sent before the session is flushed: it still names the closing login. No name
    # (no request, or a session without key or tag): every socket of the user closes.
    names: list[str | None] = []
    if request is not None:
        names.extend(session_names(request.session))
        forget_login(request.session)
        # The flush that follows on this thread deletes the row: not a login ended anew.
        _logging_out.session_key = request.session.session_key
    for name in names or [None]:
        _close_sockets(user.pk, name)


_logging_out = threading.local()
"""``session_key``: the session a logout on this thread is about to flush."""


def _session_deleted(sender: type, instance: Any, **kwargs: Any) -> None:
    # A login's current row deleted (an administrator ended it): the login has ended. A
    # renewed key's old row (Django cycling the key) is not: deleted_session_ended says so.
    if instance.session_key == getattr(_logging_out, "session_key", None):
        _logging_out.session_key = None
        return  # a logout's flush: the logout has told everyone already
    login = deleted_session_ended(instance)
    if login is not None:
        login_ended.send(sender=EndedLogin, logins=[login])


def _login_ended(sender: type, logins: list[EndedLogin], **kwargs: Any) -> None:
    # Their sockets check their login again (a name may be shared by an older socket of
    # the same login under a renewed key, which stays) and close with 4401 if it ended.
    # Only users with a socket open anywhere are told (one query: a sweep's many
    # expired logins mostly have none).
    online = set(
        PresenceConnection.objects.filter(
            user_id__in={login.user_id for login in logins}
        ).values_list("user_id", flat=True)
    )
    for login in logins:
        if login.user_id in online:
            for name in login.names:
                _close_sockets(login.user_id, name, recheck=True)


PASSWORD_CHANGED = "_fc25_password_changed"
"""Attribute :func:`_user_saving` sets on a user being saved (see :func:`password_changed`)."""


def _user_saving(
    sender: type[User],
    instance: User,
    raw: bool = False,
    update_fields: frozenset[str] | None = None,
    **kwargs: Any,
) -> None:
    """pre_save: note whether this save changes the stored password hash. A session's
    login hash is derived from it, so any change ends the other sessions' logins: a new
    password, a disabled one (``set_unusable_password``), a hash upgraded at login. One
    query, only for saves that may write the password."""
    changed = False
    writes_password = update_fields is None or "password" in update_fields
    if not raw and instance.pk is not None and writes_password:
        stored = User.objects.filter(pk=instance.pk).values_list("password", flat=True).first()
        changed = stored is not None and stored != instance.password
    setattr(instance, PASSWORD_CHANGED, changed)


def password_changed(user: User) -> bool:
    """In a post_save receiver: whether that save changed ``user``'s password hash."""
    return bool(getattr(user, PASSWORD_CHANGED, False))


def _user_saved(sender: type[User], instance: User, created: bool, **kwargs: Any) -> None:
    fields = kwargs.get("update_fields")
    if created or (fields is not None and not {"is_active", "password"} & set(fields)):
        return
    if not instance.is_active:
        _close_sockets(instance.pk, None)  # every session of the account ended
    elif password_changed(instance):
        # The sessions whose login hash no longer matches stop logging in; each socket
        # checks its own login (the session that set a new password keeps its sockets).
        _close_sockets(instance.pk, None, recheck=True)


def _user_deleted(sender: type[User], instance: User, **kwargs: Any) -> None:
    # pre_delete: the primary key is still set. The sessions stay in the store but log
    # nobody in; the sockets would stay open (and counted) without this.
    if instance.pk is not None:
        _close_sockets(instance.pk, None)


def _friendship_deleted(sender: type[Friendship], instance: Friendship, **kwargs: Any) -> None:
    # Sent for every deleted row, also in a cascade (Django deletes the friendships before
    # the account they point to, so both names are still readable here).
    names = dict(
        User.objects.filter(pk__in=(instance.user_low_id, instance.user_high_id)).values_list(
            "pk", "username"
        )
    )
    for me, other in (
        (instance.user_low_id, instance.user_high_id),
        (instance.user_high_id, instance.user_low_id),
    ):
        if other in names:
            publish([me], {"type": "friendship", "username": names[other], "status": "removed"})


def _request_deleted(sender: type[FriendRequest], instance: FriendRequest, **kwargs: Any) -> None:
    if instance.status != FriendRequest.Status.PENDING:
        return  # answered requests are history; their close was told when answered
    event = {"type": "friend_request_closed", "id": instance.pk, "status": "cancelled"}
    publish([instance.from_user_id, instance.to_user_id], event)


def connect_receivers() -> None:
    """Hook presence sockets to logins, logouts, deactivations, deletions and session
    saves, and friend events to deleted rows (called once, at app start)."""
    user_logged_in.connect(_logged_in, dispatch_uid="users.signals.login")
    user_logged_out.connect(_logged_out, dispatch_uid="users.signals.logout")
    pre_save.connect(_user_saving, sender=User, dispatch_uid="users.signals.user_saving")
    post_save.connect(_user_saved, sender=User, dispatch_uid="users.signals.user")
    pre_delete.connect(_user_deleted, sender=User, dispatch_uid="users.signals.user_deleted")
    post_delete.connect(
        _friendship_deleted, sender=Friendship, dispatch_uid="users.signals.friendship_deleted"
    )
    post_delete.connect(
        _request_deleted, sender=FriendRequest, dispatch_uid="users.signals.request_deleted"
    )
    login_ended.connect(_login_ended, dispatch_uid="users.signals.login_ended")
    store = import_module(settings.SESSION_ENGINE).SessionStore
    if hasattr(store, "get_model_class"):  # database-backed engines (db, cached_db)
        post_save.connect(
            remember_session, sender=store.get_model_class(), dispatch_uid="users.signals.session"
        )
        post_delete.connect(
            _session_deleted,
            sender=store.get_model_class(),
            dispatch_uid="users.signals.session_deleted",
        )
