"""Live sessions and their recordings."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class ActiveStream(models.Model):
    """A user's live broadcast; exists exactly while the user is live."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="active_stream"
    )
    session_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    started_at = models.DateTimeField(auto_now_add=True)
    model = models.CharField(max_length=40, blank=True, default="")
    atten_lim_db = models.FloatField(default=100.0)

    def __str__(self) -> str:
        return f"{self.user} live since {self.started_at:%Y-%m-%d %H:%M}"


def recording_path(instance: StreamRecording, filename: str) -> str:
    return f"recordings/{instance.owner_id}/{filename}"


class StreamRecording(models.Model):
    """The cleaned audio of one live stream (or an import)."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recordings"
    )
    title = models.CharField(max_length=200)
    file = models.FileField(upload_to=recording_path, max_length=255)
    duration = models.FloatField(default=0.0, help_text="Seconds")
    created_at = models.DateTimeField(auto_now_add=True)
    session_id = models.UUIDField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title


class BroadcastSettings(models.Model):
    """A broadcaster's noise-removal settings, used when their next stream starts.

    ``atten_lim_db`` also applies to a running stream immediately.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="broadcast_settings"
    )
    model = models.CharField(max_length=40)
    atten_lim_db = models.FloatField(default=100.0)

    class Meta:
        verbose_name_plural = "broadcast settings"

    def __str__(self) -> str:
        return f"{self.user}: {self.model}, {self.atten_lim_db:g} dB"
