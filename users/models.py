"""Accounts, friend requests, friendships and presence connections."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Greatest, Least


class User(AbstractUser):
    """A person. ``is_streaming`` mirrors whether an ActiveStream exists."""

    is_streaming = models.BooleanField(default=False)
    last_seen = models.DateTimeField(null=True, blank=True)

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
