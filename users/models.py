"""Accounts, friend requests, friendships and presence connections."""

from __future__ import annotations

import unicodedata
from typing import Any

from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Greatest, Least


def username_key(username: str) -> str:
    """The form two user names share when people would read them as the same name.

    Unicode compatibility forms folded (the full-width letters of "Alice" are "Alice")
    and case folded in Python, not by the database: SQLite's ``LOWER`` and ``LIKE``
    fold ASCII only.
    """
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", username).casefold())


def username_taken(username: str, *, other_than: int | None = None) -> bool:
    """Whether an account (other than pk ``other_than``) has a name that reads as
    ``username`` (:func:`username_key`)."""
    accounts = User.objects.filter(username_key=username_key(username))
    if other_than is not None:
        accounts = accounts.exclude(pk=other_than)
    return accounts.exists()


RESERVED_USERNAMES = frozenset({"requests"})
"""Names (as :func:`username_key`) that are a literal URL segment where a user name goes:
``/api/friends/requests/`` is the requests collection beside ``/api/friends/<username>/``.
tests/api/test_username_route_names.py checks every such segment is listed."""


def column_width(field_name: str) -> int:
    """The ``max_length`` of one of :class:`User`'s text columns."""
    field = User._meta.get_field(field_name)
    assert isinstance(field, models.CharField) and field.max_length is not None
    return field.max_length


def username_problems(username: str) -> list[str]:
    """Why ``username`` (in its stored, NFKC form) cannot name an account: empty if it can.

    Its stored form and its :func:`username_key` must fit their columns (both can be
    longer than the name as typed: NFKC turns "㍿" into four letters, case folding "ß"
    into two), and the URLs built for it must reach it: no dot-only name (browsers
    resolve "." and ".." segments away) and no :data:`RESERVED_USERNAMES`.
    """
    problems = []
    for field, form in (("username", username), ("username_key", username_key(username))):
        limit = column_width(field)
        if len(form) > limit:
            problems.append(
                f"This user name is too long once normalised ({len(form)} characters; "
                f"at most {limit})."
            )
            break
    if username and not username.strip("."):
        problems.append("A user name cannot be made of dots only.")
    if username_key(username) in RESERVED_USERNAMES:
        problems.append(f"{username!r} is part of the site's addresses; choose another name.")
    return problems


class AccountManager(UserManager["User"]):
    """Logs a name in as it is stored: ``create_user`` stores it NFKC-normalised, so
    the name typed in its full-width form finds the account too."""

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(username=self.model.normalize_username(username or ""))


class User(AbstractUser):
    """A person. ``is_streaming`` mirrors whether an ActiveStream exists.

    ``username_key`` (:func:`username_key` of the name, unique) is what lookups by
    name use, so no two accounts have names that read the same.
    """

    is_streaming = models.BooleanField(default=False)
    last_seen = models.DateTimeField(null=True, blank=True)
    # NULL only for the younger twins of an older name (users.migrations.0002).
    username_key = models.CharField(  # noqa: DJ001
        max_length=150, unique=True, null=True, editable=False
    )

    objects = AccountManager()  # type: ignore[misc]

    def _stored_username(self) -> str | None:
        """The name this account has in the database (None for a new one)."""
        if self.pk is None or self._state.adding:
            return None
        return User.objects.filter(pk=self.pk).values_list("username", flat=True).first()

    def clean(self) -> None:
        """Model forms (the admin's) report on the name's field a new name that reads as
        another's, or that cannot name an account (:func:`username_problems`). An account
        whose name is unchanged stays editable under it: one created before a rule
        existed, and a younger twin of a name (no key, users.migrations.0002), which would
        otherwise be refused its own name and could be neither deactivated nor given a new
        password."""
        super().clean()  # stores the name NFKC-normalised
        if self._stored_username() == self.username:
            return
        if username_taken(self.username, other_than=self.pk):
            raise ValidationError({"username": "A user with that user name already exists."})
        problems = username_problems(self.username)
        if problems:
            raise ValidationError({"username": problems})

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Store the name's key with it, except for a younger twin keeping its name: its
        key is the older account's, and writing it would fail the unique index (a full save
        such as the admin's password form would be a 500)."""
        keep_no_key = self.username_key is None and self._stored_username() == self.username
        if not keep_no_key:
            self.username_key = username_key(self.username)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "username" in update_fields:
            kwargs["update_fields"] = {*update_fields, "username_key"}
        super().save(*args, **kwargs)

    def __str__(self) -> str:
        return self.username


class FriendRequest(models.Model):
    """A request from one user to another. At most one pending per (unordered) pair."""

    class Status(models.TextChoices):
        PENDING = "pending"
        ACCEPTED = "accepted"
        REJECTED = "rejected"

    from_user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="sent_requests")
    to_user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="received_requests")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    responded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                Least("from_user", "to_user"),
                Greatest("from_user", "to_user"),
                condition=Q(status="pending"),
                name="one_pending_request_per_pair",
            ),
            models.CheckConstraint(
                condition=~Q(from_user=F("to_user")), name="no_self_friend_request"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.from_user} -> {self.to_user} ({self.status})"


class Friendship(models.Model):
    """A bidirectional friendship stored once: ``user_low.pk < user_high.pk``."""

    user_low = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    user_high = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user_low", "user_high"], name="one_friendship_per_pair"
            ),
            models.CheckConstraint(
                condition=Q(user_low__lt=F("user_high")), name="friendship_ordered"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_low} <-> {self.user_high}"


class PresenceConnection(models.Model):
    """One open /ws/presence/ socket. A user is online while they have one.

    Kept in the database (not in process memory) so that every server process
    agrees on who is online; stale rows are cleared at server start.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="presence_connections")
    channel_name = models.CharField(max_length=255, unique=True)
    connected_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.user} @ {self.channel_name}"
