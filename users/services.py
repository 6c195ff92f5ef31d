"""Business rules for accounts and friends (the ``do_*`` half of views).

Functions here are synchronous and transactional; they raise
:class:`fc25_denoise.api.ApiError` subclasses for rule violations and push
presence events with :func:`users.events.publish`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY, login, logout, password_validation
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from fc25_denoise.api import BadRequest, Conflict, Forbidden, NotFound, TooMany

from .events import publish
from .models import (
    FriendRequest,
    Friendship,
    User,
    username_key,
    username_problems,
    username_taken,
)

SEARCH_LIMIT = 20
MAX_PENDING_SENT = 100
"""Friend requests one user may have waiting for an answer at once (429 past it)."""
MAX_PENDING_RECEIVED = 200
"""Friend requests waiting for one user's answer at once: more are refused (429), so no
crowd of accounts can make one user's request list (sent whole) and events endless."""


def session_is_valid(session_key: str | None, user_id: int) -> bool:
    """True while ``session_key`` still logs in ``user_id`` (as Django's ``get_user``
    decides: the session exists, names the user, the user is active and the
    session's password hash is the current one)."""
    if not session_key:
        return False
    data = import_module(settings.SESSION_ENGINE).SessionStore(session_key).load()
    if not data:  # no such row, or expired
        return False
    user = User.objects.filter(pk=user_id, is_active=True).first()
    return session_logs_in(data, user_id, user.get_session_auth_hash() if user else None)


def session_logs_in(data: Mapping[str, Any], user_id: int, current_hash: str | None) -> bool:
    """Whether session ``data`` (decoded, unexpired) logs in ``user_id``, whose password
    hash for sessions is ``current_hash`` (None: the user is inactive or gone). The rule of
    :func:`session_is_valid`, for callers that load many sessions and users at once."""
    stored = data.get(HASH_SESSION_KEY) or ""
    return (
        str(data.get(SESSION_KEY)) == str(user_id)
        and current_hash is not None
        and constant_time_compare(stored, current_hash)
    )


def get_user(username: str) -> User:
    """The active user with this user name (case-insensitive).

    Raises:
        NotFound: no such user.
    """
    user = User.objects.filter(username_key=username_key(username), is_active=True).first()
    if user is None:
        raise NotFound(f"No user named {username!r}.")
    return user


def do_login(request: HttpRequest, user: User, backend: str | None = None) -> None:
    """Log ``user`` in on ``request``'s session (``backend`` as for Django's ``login``).

    Another user logged in there is logged out first, properly: ``login()`` alone would
    flush their session without ``user_logged_out``, so their presence sockets in this
    browser would stay open and their listens go on. Logging in again as the same user
    is no logout (their sockets stay open).
    """
    log_out_other(request, user)
    login(request, user, backend=backend)


def log_out_other(request: HttpRequest, user: User) -> None:
    """Log out whoever other than ``user`` is logged in on ``request`` (nobody, or
    ``user`` themselves: nothing), sending ``user_logged_out`` for them.

    Every login path calls this before Django's ``login()``: the API's (:func:`do_login`)
    and the admin's (``users.admin.ThrottledAdminLoginForm``).
    """
    current = getattr(request, "user", None)
    if current is not None and current.is_authenticated and current.pk != user.pk:
        # One transaction, as in the logout view: the revocations the signal queues go
        # out once the session is gone.
        with transaction.atomic():
            logout(request)


def do_register(username: str, password: str) -> User:
    """Create an account after Django's user-name and password validators and the name
    rules of :func:`users.models.username_problems`.

    Raises:
        ValidationError: invalid user name (among them one too long as stored, dot-only
            or reserved) or password (field errors).
        Conflict: the user name is taken.
    """
    # Stored NFKC-normalised (create_user): validated and compared in that form, so a
    # full-width twin of a taken name is refused like its case variants.
    username = User.normalize_username(username)
    candidate = User(username=username)
    try:
        User.username_validator(username)
    except ValidationError as exc:
        raise ValidationError({"username": exc.messages}) from None
    problems = username_problems(username)
    if problems:
        raise ValidationError({"username": problems})
    try:
        password_validation.validate_password(password, candidate)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from None
    if username_taken(username):
        raise Conflict("That user name is taken.")
    try:
        with transaction.atomic():
            return User.objects.create_user(username=username, password=password)
    except IntegrityError:
        raise Conflict("That user name is taken.") from None


# --- Friendship queries


def _pair(a: User, b: User) -> tuple[User, User]:
    return (a, b) if a.pk < b.pk else (b, a)


def friend_ids(user: User) -> list[int]:
    """Primary keys of ``user``'s friends."""
    rows = Friendship.objects.filter(Q(user_low=user) | Q(user_high=user)).values_list(
        "user_low_id", "user_high_id"
    )
    return [high if low == user.pk else low for low, high in rows]


def are_friends(a: User, b: User) -> bool:
    low, high = _pair(a, b)
    return Friendship.objects.filter(user_low=low, user_high=high).exists()


def list_friends(user: User) -> list[User]:
    return list(User.objects.filter(pk__in=friend_ids(user)).order_by("username"))


@dataclass(frozen=True)
class SearchResult:
    username: str
    is_friend: bool
    request_pending: bool


def search_users(user: User, query: str) -> list[SearchResult]:
    """Active users whose name contains ``query`` as the site reads names (never ``user``),
    at most ``SEARCH_LIMIT`` of them by name, with relationship flags.

    Matched on :func:`users.models.username_key` (case and Unicode width folded in
    Python), not with ``icontains``: SQLite folds ASCII only ("ärger" would not find
    "Ärger"), and no database folds full-width letters. Younger twins of a name (no key,
    migration 0002) are not listed: a request to that name reaches the oldest account,
    which is listed.
    """
    key = username_key(query.strip())
    if not key:
        return []
    matches = list(
        User.objects.filter(username_key__contains=key, is_active=True)
        .exclude(pk=user.pk)
        .order_by("username")[:SEARCH_LIMIT]
    )
    friends = set(friend_ids(user))
    pending = set()
    for from_id, to_id in FriendRequest.objects.filter(
        Q(from_user=user) | Q(to_user=user), status=FriendRequest.Status.PENDING
    ).values_list("from_user_id", "to_user_id"):
        pending.add(to_id if from_id == user.pk else from_id)
    return [SearchResult(u.username, u.pk in friends, u.pk in pending) for u in matches]


def pending_requests(user: User) -> tuple[list[FriendRequest], list[FriendRequest]]:
    """(incoming, outgoing) pending requests, newest first."""
    base = FriendRequest.objects.filter(status=FriendRequest.Status.PENDING).select_related(
        "from_user", "to_user"
    )
    return list(base.filter(to_user=user)), list(base.filter(from_user=user))


# --- Friendship changes


def _befriend(a: User, b: User) -> None:
    low, high = _pair(a, b)
    Friendship.objects.get_or_create(user_low=low, user_high=high)
    publish([a.pk], {"type": "friendship", "username": b.username, "status": "accepted"})
    publish([b.pk], {"type": "friendship", "username": a.username, "status": "accepted"})


@dataclass(frozen=True)
class RequestOutcome:
    request: FriendRequest
    accepted_crossing: bool
    """True when this call accepted the other user's pending request instead."""


def _pending_from(from_user: User, to_user: User) -> FriendRequest | None:
    """The pending request from ``from_user`` to ``to_user``, locked; None if there is none.
    Call inside a transaction."""
    return (
        FriendRequest.objects.select_for_update()
        .filter(from_user=from_user, to_user=to_user, status=FriendRequest.Status.PENDING)
        .first()
    )


def do_send_friend_request(sender: User, to_username: str) -> RequestOutcome:
    """Ask ``to_username`` to be friends.

    A request crossing a pending one in the other direction accepts it, also when the
    two are sent at the same moment (the one that loses the race accepts the other).

    Raises:
        NotFound: unknown user. BadRequest: yourself, or already friends.
        Conflict: a request from you is already pending. TooMany: ``MAX_PENDING_SENT``
        of yours, or ``MAX_PENDING_RECEIVED`` to ``to_username``, wait for an answer.
    """
    target = get_user(to_username)
    if target.pk == sender.pk:
        raise BadRequest("You cannot send a friend request to yourself.")
    with transaction.atomic():
        if are_friends(sender, target):
            raise BadRequest(f"You and {target.username} are already friends.")
        crossing = _pending_from(target, sender)
        if crossing is not None:
            _close_request(crossing, FriendRequest.Status.ACCEPTED)
            _befriend(sender, target)
            return RequestOutcome(crossing, accepted_crossing=True)
        if FriendRequest.objects.filter(
            from_user=sender, to_user=target, status=FriendRequest.Status.PENDING
        ).exists():
            raise Conflict(f"A friend request to {target.username} is already pending.")
        _check_pending_room(sender, target)
        try:
            with transaction.atomic():
                request = FriendRequest.objects.create(from_user=sender, to_user=target)
        except IntegrityError:
            # A concurrent request for the pair committed first (the unique index made this
            # insert wait for it). If it was the target's request to the sender, the two
            # crossed: accept it, as when it had come a moment earlier. The savepoint above
            # keeps this transaction usable, and the lookup sees the committed row.
            crossing = _pending_from(target, sender)
            if crossing is None:
                raise Conflict(
                    f"A friend request to {target.username} is already pending."
                ) from None
            _close_request(crossing, FriendRequest.Status.ACCEPTED)
            _befriend(sender, target)
            return RequestOutcome(crossing, accepted_crossing=True)
    publish(
        [target.pk],
        {"type": "friend_request", "id": request.pk, "from_user": sender.username},
    )
    return RequestOutcome(request, accepted_crossing=False)


def _check_pending_room(sender: User, target: User) -> None:
    pending = FriendRequest.objects.filter(status=FriendRequest.Status.PENDING)
    if pending.filter(from_user=sender).count() >= MAX_PENDING_SENT:
        raise TooMany(
            f"You have {MAX_PENDING_SENT} friend requests waiting for an answer; cancel some first."
        )
    if pending.filter(to_user=target).count() >= MAX_PENDING_RECEIVED:
        raise TooMany(f"{target.username} has too many friend requests waiting; try later.")


def _close_request(request: FriendRequest, status: str) -> None:
    request.status = status
    request.responded_at = timezone.now()
    request.save(update_fields=["status", "responded_at"])
    event = {"type": "friend_request_closed", "id": request.pk, "status": status}
    publish([request.from_user_id, request.to_user_id], event)


def _pending_for_update(user: User, request_id: int) -> FriendRequest:
    request = (
        FriendRequest.objects.select_for_update()
        .select_related("from_user", "to_user")
        .filter(pk=request_id)
        .filter(Q(from_user=user) | Q(to_user=user))
        .first()
    )
    if request is None:
        raise NotFound("No such friend request.")
    if request.status != FriendRequest.Status.PENDING:
        raise Conflict(f"This friend request was already {request.status}.")
    return request


def do_respond(user: User, request_id: int, accept: bool) -> FriendRequest:
    """Accept or reject a pending request addressed to ``user``.

    Raises:
        NotFound: no such request involving ``user``. Forbidden: ``user`` sent it.
        Conflict: no longer pending.
    """
    with transaction.atomic():
        request = _pending_for_update(user, request_id)
        if request.to_user_id != user.pk:
            raise Forbidden("Only the addressee can answer a friend request.")
        if accept:
            _close_request(request, FriendRequest.Status.ACCEPTED)
            _befriend(request.to_user, request.from_user)
        else:
            _close_request(request, FriendRequest.Status.REJECTED)
    return request


def do_cancel_request(user: User, request_id: int) -> None:
    """Withdraw a pending request ``user`` sent (the row is deleted; both sides are told).

    Raises:
        NotFound: no such request involving ``user``. Forbidden: not the sender.
        Conflict: no longer pending.
    """
    with transaction.atomic():
        request = _pending_for_update(user, request_id)
        if request.from_user_id != user.pk:
            raise Forbidden("Only the sender can cancel a friend request.")
        # Both sides hear "friend_request_closed" ("cancelled") from the row's post_delete
        # (users.signals), as they do when an account's deletion removes it.
        request.delete()


def do_unfriend(user: User, username: str) -> None:
    """End the friendship with ``username`` (both directions: it is one row; both sides
    are told). A deactivated friend can be dropped too: the friend list still shows them.

    Raises:
        NotFound: unknown user (a deactivated account is unknown to anyone but its
            friends), or not friends.
    """
    # Not get_user(): it finds active accounts only.
    other = User.objects.filter(username_key=username_key(username)).first()
    if other is None:
        raise NotFound(f"No user named {username!r}.")
    low, high = _pair(user, other)
    with transaction.atomic():
        deleted, _ = Friendship.objects.filter(user_low=low, user_high=high).delete()
        if not deleted and not other.is_active:
            raise NotFound(f"No user named {username!r}.")
        if not deleted:
            raise NotFound(f"You are not friends with {other.username}.")
        # Both sides hear "removed" from the row's post_delete (users.signals), as they
        # do when the admin or an account's deletion removes it.
