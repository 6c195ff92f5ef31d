"""Presence sockets follow the login: logging out, deactivation or a new password
(for the sessions it invalidates) closes them with 4401.

Connected in :meth:`users.apps.UsersConfig.ready`.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.db.models.signals import post_save
from django.http import HttpRequest

from .consumers import SESSION_ENDED_MESSAGE_TYPE
from .events import send_after_commit, user_group
from .logins import remember_session, session_names, tag_login
from .models import User


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
    for name in names or [None]:
        _close_sockets(user.pk, name)


def _user_saved(sender: type[User], instance: User, created: bool, **kwargs: Any) -> None:
    fields = kwargs.get("update_fields")
    if created or (fields is not None and not {"is_active", "password"} & set(fields)):
        return
    if not instance.is_active:
        _close_sockets(instance.pk, None)  # every session of the account ended
    elif getattr(instance, "_password", None) is not None:
        # A new password (AbstractBaseUser.save clears _password after post_save):
        # the other sessions no longer log in; each socket checks its own login.
        _close_sockets(instance.pk, None, recheck=True)


def connect_receivers() -> None:
    """Hook presence sockets to logins, logouts, deactivations and session saves (called
    once, at app start)."""
    user_logged_in.connect(_logged_in, dispatch_uid="users.signals.login")
    user_logged_out.connect(_logged_out, dispatch_uid="users.signals.logout")
    post_save.connect(_user_saved, sender=User, dispatch_uid="users.signals.user")
    store = import_module(settings.SESSION_ENGINE).SessionStore
    if hasattr(store, "get_model_class"):  # database-backed engines (db, cached_db)
        post_save.connect(
            remember_session, sender=store.get_model_class(), dispatch_uid="users.signals.session"
        )
