"""A login's stable name, which presence sockets are matched by instead of the session key.

Django gives a session a new key whenever it cycles it (``update_session_auth_hash`` after
a password change from that session; a login into an anonymous session) and keeps its
data, so a tag stored in the data at login (:func:`tag_login`) names that login for as
long as it lasts, whatever its key. A socket remembers the name of the session it was
opened with (:func:`session_name`): a logout closes the sockets of its login
(:mod:`users.signals`), and after a new password a socket stays open while its login still
logs the user in (:func:`login_is_valid`), under its old key or a new one.

A renewed key is not known to the sockets (it never leaves the request, and keys are not
sent through the channel layer), so each save of a tagged session records, under its tag
in the cache, whose login it is and its current key (:func:`remember_session`, on
``post_save`` of the database session model), which is then checked in the session table
like any key: a login ends when its current row goes, however it goes. Sessions
from before the tags, or whose record left the cache, fall back to their key
(:func:`users.services.session_is_valid`): at worst such a socket closes with 4401 and
the page logs in again, as it did before.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from importlib import import_module
from typing import Any, TypeGuard

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.base import SessionBase
from django.contrib.sessions.base_session import AbstractBaseSession
from django.core.cache import cache
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from .models import User
from .services import session_is_valid, session_logs_in

logger = logging.getLogger(__name__)

LOGIN_TAG_KEY = "_fc25_login"
"""Session-data key of the login tag: ``"<user id>.<random hex>"``."""
RECORD_PREFIX = "users.login."
"""Cache key prefix of a login's record (:func:`remember_session`)."""
RECORD_OUTLIVES_S = 24 * 3600
"""How long a login's record outlives its session's expiry, and how long a logout's
record is kept (:func:`forget_login`): long enough for every later check of that login
(:func:`ended_logins`) to find it ended rather than unknown."""


def session_tag(session_key: str | None) -> str:
    """A session key's name in channel messages (a hash: the key itself is a secret)."""
    return hashlib.sha256((session_key or "").encode()).hexdigest()[:32]


def tag_login(session: SessionBase, user_id: int) -> None:
    """Give ``session`` a login tag for ``user_id`` unless it carries one of theirs
    (called at every login: logging in as the same user again keeps the login)."""
    tag = session.get(LOGIN_TAG_KEY)
    if not (isinstance(tag, str) and tag.startswith(f"{user_id}.")):
        session[LOGIN_TAG_KEY] = f"{user_id}.{secrets.token_hex(16)}"


def login_tag(session: SessionBase | None) -> str | None:
    """The login tag ``session`` carries, or None (not logged in since tags exist)."""
    tag = session.get(LOGIN_TAG_KEY) if session is not None else None
    return tag if isinstance(tag, str) else None


def session_names(session: SessionBase | None) -> list[str]:
    """What session-ended messages may call the login of ``session``: its tag, and
    :func:`session_tag` of its key. The key's name is for sockets opened before the
    session was tagged (a session from before the tags, logged in again as the same
    user); a socket of a tagged session answers to the tag only, whatever its key."""
    return _names(login_tag(session), session.session_key if session is not None else None)


def _names(tag: object, key: str | None) -> list[str]:
    """A login's names: its tag (when it has one), then its key's (when it has a key)."""
    names = [tag] if isinstance(tag, str) else []
    return [*names, session_tag(key)] if key else names


def session_name(session: SessionBase | None) -> str | None:
    """The name a socket opened with ``session`` answers to (the first of
    :func:`session_names`); None for a session with neither tag nor key."""
    names = session_names(session)
    return names[0] if names else None


def remember_session(sender: type, instance: AbstractBaseSession, **kwargs: Any) -> None:
    """``post_save`` receiver of the session model: record a tagged login's user and
    current session key under its tag, for as long as the session lasts and
    :data:`RECORD_OUTLIVES_S` more.

    Never raises: a cache failure is logged (the recheck then falls back to the key),
    and must not fail the request that saved the session (a login).
    """
    user_id: object = None
    try:
        data = instance.get_decoded()  # {} for data that does not verify
        tag, user_id = data.get(LOGIN_TAG_KEY), data.get(SESSION_KEY)
        if not (isinstance(tag, str) and user_id):
            return
        ttl = max(1, int((instance.expire_date - timezone.now()).total_seconds()))
        # The login's current key: server-side only, as the session table holds it. Kept
        # past the expiry so that an expired login is known as ended, not unknown.
        cache.set(
            RECORD_PREFIX + tag, (str(user_id), instance.session_key), ttl + RECORD_OUTLIVES_S
        )
    except Exception:
        # The user's id alone: never the tag or the password hash (secrets).
        logger.exception("could not record a login's session (user id %s)", user_id)


@dataclass(frozen=True)
class EndedLogin:
    """A login that ended without a logout: whose it was and the names its sockets and
    listens answer to (:func:`session_names`)."""

    user_id: int
    tag: str | None
    names: tuple[str, ...]


login_ended = Signal()
"""Sent (``logins``: a list of :class:`EndedLogin`) when logins end without a logout or a
new password: a login's current session row deleted (an administrator, a script; not a key
renewed by Django, whose login goes on) or expired and swept (:mod:`users.sessionstore`).
Receivers end what the login holds open: its presence sockets (:mod:`users.signals`) and
its live listens (:mod:`streams.access`)."""


def session_login(instance: AbstractBaseSession) -> EndedLogin | None:
    """The login a session row holds (its user, tag and names); None for a row of no user.
    Never raises (a row that does not decode is None, logged)."""
    try:
        data = instance.get_decoded()
        user_id, tag = data.get(SESSION_KEY), data.get(LOGIN_TAG_KEY)
        if not user_id:
            return None
        tag = tag if isinstance(tag, str) else None
        return EndedLogin(int(user_id), tag, tuple(_names(tag, instance.session_key)))
    except Exception:
        logger.exception("could not read a session's login")
        return None


def deleted_session_ended(instance: AbstractBaseSession) -> EndedLogin | None:
    """The login a deleted session row ended, or None: a row of no user, one expired
    already (the sweep tells those itself), or a login that goes on under a renewed key.

    Django deletes a login's old row when it renews its key (a new password set from that
    browser: ``update_session_auth_hash``, whose renewed row still holds the old password
    hash at this point). The login goes on if its record names another key whose row
    exists and names the same user; the hash is not looked at, since a new password ends
    what it must for its own reason (:mod:`users.signals`, :mod:`streams.access`).
    A logout's own row is not passed here (:mod:`users.signals` skips it: the logout has
    told everyone already). Never raises (a failure is logged and counts as ended).

    Nothing needs forgetting: a login's record names its current key, which
    :func:`login_is_valid` checks against the session table, so a deleted row ends the
    login however it was deleted (an administrator, raw SQL, another process).
    """
    try:
        if instance.expire_date <= timezone.now():
            return None
    except Exception:  # a row without a usable expiry: decided by its login alone
        logger.exception("could not read a deleted session's expiry")
    login = session_login(instance)
    if login is None:
        return None
    try:
        renewed = _recorded_key(login.tag, login.user_id)
        if (
            renewed is not None
            and renewed != instance.session_key
            and _names_user(renewed, login.user_id)
        ):
            return None
    except Exception:
        logger.exception("could not look for a renewed key (user id %s)", login.user_id)
    return login


def forget_login(session: SessionBase | None) -> None:
    """Record that the login ``session`` carries logged out (at its logout): its record
    names no key any more, so a socket opened with it finds it ended
    (:func:`login_is_valid`) and so does a later check of its listens
    (:func:`ended_logins`), for :data:`RECORD_OUTLIVES_S`. Written when the transaction
    the logout runs in commits (at once outside one). Never raises (a cache failure is
    logged)."""
    tag = login_tag(session)
    if tag is None:
        return

    def forget() -> None:
        try:
            cache.set(RECORD_PREFIX + tag, (tag.partition(".")[0], None), RECORD_OUTLIVES_S)
        except Exception:
            logger.exception("user=%s: could not record a login's logout", tag.partition(".")[0])

    # Once the logout's flush is committed: a logout that fails leaves the login going.
    transaction.on_commit(forget)


def ended_logins(logins: Collection[tuple[int, str]]) -> set[str]:
    """Of these ``(user id, login name)`` pairs, the names of the logins known to have
    ended: their record says they logged out (:func:`forget_login`), or the session key
    it names no longer logs the user in (the row deleted, expired, or holding another
    user or an old password hash; the user inactive or gone).

    A login not known to have ended is left out: a name that is no tag (a session from
    before the tags, named by its key's hash), or a tag whose record the cache does not
    hold (lost with the cache, or of another user). A cache failure is logged and leaves
    every login out; never raises for it. One cache read and two queries however many.
    """
    tags = {(user_id, name) for user_id, name in logins if name.startswith(f"{user_id}.")}
    if not tags:
        return set()
    try:
        records = cache.get_many([RECORD_PREFIX + tag for _, tag in tags])
    except Exception:
        logger.exception("could not read %d logins' records", len(tags))
        return set()
    ended: set[str] = set()
    keys: dict[str, tuple[int, str]] = {}
    for user_id, tag in tags:
        record = records.get(RECORD_PREFIX + tag)
        if not _is_record_of(record, user_id):
            continue  # not known
        if isinstance(record[1], str):
            keys[record[1]] = (user_id, tag)
        else:
            ended.add(tag)  # logged out
    current = _keys_logging_in(keys)
    ended.update(tag for key, (_, tag) in keys.items() if key not in current)
    return ended


def _keys_logging_in(keys: dict[str, tuple[int, str]]) -> set[str]:
    """Of these session keys (each with the user it should log in), those that still do,
    as :func:`users.services.session_is_valid` decides, in two queries (every key, with a
    session engine that keeps no rows)."""
    if not keys:
        return set()
    store_class = import_module(settings.SESSION_ENGINE).SessionStore
    if not hasattr(store_class, "get_model_class"):
        # Not a database engine (the settings changed under older records): no row to
        # look at, so none is known to have ended.
        return set(keys)
    rows = store_class.get_model_class().objects.filter(
        session_key__in=list(keys), expire_date__gt=timezone.now()
    )
    hashes = {
        user.pk: user.get_session_auth_hash()
        for user in User.objects.filter(pk__in={u for u, _ in keys.values()}, is_active=True)
    }
    store = store_class()
    return {
        row.session_key
        for row in rows
        # decode: {} for data that does not verify
        if session_logs_in(
            store.decode(row.session_data),
            keys[row.session_key][0],
            hashes.get(keys[row.session_key][0]),
        )
    }


def login_is_valid(session_key: str | None, tag: str | None, user_id: int) -> bool:
    """True while the login a socket was opened with still logs in ``user_id``: its
    session under the key the socket knows, or under the renewed key its latest save
    recorded (:func:`remember_session`); either checked in the session table
    (:func:`users.services.session_is_valid`: the row exists, names the user, who is
    active, with the current password hash).

    A cache failure, or no record (an older record's shape included), counts as no
    renewed key (logged), never raises.
    """
    return login_key(session_key, tag, user_id) is not None


def login_key(session_key: str | None, tag: str | None, user_id: int) -> str | None:
    """The key under which the login still logs in ``user_id`` (``session_key`` itself,
    or the renewed key its record names), None once it does not (as
    :func:`login_is_valid`). A socket keeps the key it gets, so a record the cache loses
    later cannot make its renewed login look ended."""
    if session_is_valid(session_key, user_id):
        return session_key
    renewed = _recorded_key(tag, user_id)
    if renewed is not None and renewed != session_key and session_is_valid(renewed, user_id):
        return renewed
    return None


def _recorded_key(tag: str | None, user_id: int) -> str | None:
    """The current key :func:`remember_session` recorded for login ``tag`` of ``user_id``;
    None without a tag or a record of that user, or when the cache fails (logged)."""
    if tag is None:
        return None
    try:
        record = cache.get(RECORD_PREFIX + tag)
    except Exception:
        logger.exception("user=%s: could not read a login's record", user_id)
        return None
    if not _is_record_of(record, user_id):
        return None
    return record[1] if isinstance(record[1], str) else None


def _is_record_of(record: object, user_id: int) -> TypeGuard[tuple[str, str | None]]:
    """Whether a cache value is a login record (:func:`remember_session`,
    :func:`forget_login`) of ``user_id``: ``(user id, current key or None)``."""
    return isinstance(record, tuple) and len(record) == 2 and record[0] == str(user_id)


def _names_user(session_key: str, user_id: int) -> bool:
    """Whether an unexpired session row ``session_key`` exists and names ``user_id``."""
    data = import_module(settings.SESSION_ENGINE).SessionStore(session_key).load()
    return str(data.get(SESSION_KEY)) == str(user_id)
