"""Live sessions and broadcasters' stream settings (recordings: :mod:`recordings.models`)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class ActiveStream(models.Model):
    """A user's live broadcast; exists exactly while the user is live."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="active_stream"
    )
    session_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    started_at = models.DateTimeField(auto_now_add=True)
    model = models.CharField(max_length=40, blank=True, default="")
    atten_lim_db = models.FloatField(default=100.0)
    heartbeat = models.DateTimeField(
        default=timezone.now, help_text="Refreshed by the owning server process while live"
    )
    listeners = models.PositiveIntegerField(default=0, help_text="As of the last heartbeat")
    node_channel = models.CharField(
        max_length=120, blank=True, default="", help_text="Channel of the process holding it"
    )

    def __str__(self) -> str:
        return f"{self.user} live since {self.started_at:%Y-%m-%d %H:%M}"


class LiveListen(models.Model):
    """One listener connection to a live stream (``listen_id`` in the API).

    Written by the stream's host when it answers the listen; requests about the
    listen (level switch, stop) find the stream, and so its host, through it.
    Ends with the stream (cascade) or when the listen ends.
    """

    listen_id = models.UUIDField(primary_key=True, editable=False)
    stream = models.ForeignKey(ActiveStream, on_delete=models.CASCADE, related_name="listens")
    listener = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="live_listens"
    )
    level = models.CharField(max_length=8, default="full")
    started_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.listener} listening to {self.stream.user} ({self.level})"


class LiveNode(models.Model):
    """A running server process that can host live streams, with its load.

    Written by the process's heartbeat (:func:`streams.liveness.do_node_beat`);
    other processes read it to place new streams and delete it once the
    heartbeat stops (the process died). ``channel`` is its channel-layer
    channel: requests about its streams are forwarded there.
    """

    channel = models.CharField(max_length=120, unique=True)
    name = models.CharField(max_length=120, blank=True, default="", help_text="FC25_NODE_NAME")
    address = models.CharField(
        max_length=64, blank=True, default="", help_text="Address its ICE candidates carry"
    )
    started_at = models.DateTimeField(auto_now_add=True)
    heartbeat = models.DateTimeField(default=timezone.now)
    streams = models.PositiveIntegerField(default=0)
    listeners = models.PositiveIntegerField(default=0)
    capacity = models.PositiveIntegerField(default=0, help_text="Most live streams it takes")
    behind_ms = models.FloatField(default=0.0, help_text="Its most lagging stream's delay")

    def __str__(self) -> str:
        return f"{self.name or self.channel}: {self.streams}/{self.capacity} streams"


class BroadcastSettings(models.Model):
    """A broadcaster's noise-removal settings, used when their next stream starts.

    ``atten_lim_db`` also applies to a running stream immediately.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="broadcast_settings"
    )
    model = models.CharField(max_length=40)
    atten_lim_db = models.FloatField(default=100.0)
    record_raw = models.BooleanField(
        default=True, help_text="Also keep the raw microphone audio of each stream"
    )
    share_raw = models.BooleanField(
        default=False, help_text="Friends may listen to the unprocessed microphone"
    )
    low_latency = models.BooleanField(
        default=False,
        help_text="10 ms Opus packets on both legs: about 10 ms less delay, more server CPU",
    )

    class Meta:
        verbose_name_plural = "broadcast settings"

    def __str__(self) -> str:
        return f"{self.user}: {self.model}, {self.atten_lim_db:g} dB"
