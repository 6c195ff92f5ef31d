"""The recordings library: stored recordings and the jobs that (re)clean them.

The tables were created by the ``streams`` app, which held these models before;
``recordings/migrations/0001_initial.py`` explains how they moved.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


def recording_path(instance: StreamRecording, filename: str) -> str:
    """Storage name for a recording's files: ``recordings/<owner id>/<filename>``."""
    return f"recordings/{instance.owner_id}/{filename}"


class StreamRecording(models.Model):
    """One recording: the cleaned audio and (optionally) the raw audio, time-aligned.

    Both files are FLAC in the default storage (see docs/recordings.md). A
    recording being imported has ``status`` PROCESSING and no cleaned file yet.
    """

    class Source(models.TextChoices):
        LIVE = "live"
        IMPORT = "import"

    class Status(models.TextChoices):
        READY = "ready"
        PROCESSING = "processing"
        FAILED = "failed"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recordings"
    )
    title = models.CharField(max_length=200)
    file = models.FileField(
        upload_to=recording_path, max_length=255, blank=True, help_text="Cleaned audio"
    )
    raw_file = models.FileField(
        upload_to=recording_path, max_length=255, blank=True, help_text="Raw audio"
    )
    duration = models.FloatField(default=0.0, help_text="Seconds")
    created_at = models.DateTimeField(auto_now_add=True)
    session_id = models.UUIDField(null=True, blank=True, editable=False)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.LIVE)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.READY)
    error = models.CharField(max_length=500, blank=True, default="")
    model = models.CharField(max_length=40, blank=True, default="")
    atten_lim_db = models.FloatField(default=100.0)
    size_bytes = models.BigIntegerField(default=0, help_text="Stored bytes of both versions")
    gap_seconds = models.FloatField(
        default=0.0,
        help_text="Seconds of a live recording lost to a slow spool disk (stored as silence)",
    )
    db_removed = models.JSONField(
        default=list,
        blank=True,
        help_text="dB of noise removed in each second of a live recording (its telemetry)",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # A live session's save can run again (a restart after a kill, a recovery
            # pass): it must find the recording, never add a second (recordings.livesave).
            models.UniqueConstraint(
                fields=["session_id"],
                condition=models.Q(session_id__isnull=False),
                name="recording_one_per_session",
            )
        ]

    def __str__(self) -> str:
        return self.title


class RecordingJob(models.Model):
    """A background job that (re)creates a recording's cleaned version from its raw one."""

    class Kind(models.TextChoices):
        IMPORT = "import"
        RECLEAN = "reclean"

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    recording = models.ForeignKey(StreamRecording, on_delete=models.CASCADE, related_name="jobs")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress = models.FloatField(default=0.0)
    model = models.CharField(max_length=40)
    atten_lim_db = models.FloatField(default=100.0)
    error = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, help_text="Heartbeat while running")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # At most one unfinished job per recording.
            models.UniqueConstraint(
                fields=["recording"],
                condition=models.Q(status__in=["queued", "running"]),
                name="one_open_job_per_recording",
            )
        ]
        indexes = [
            # The recordings list asks for each recording's newest job (a window over
            # recording, newest first); without this the database sorts every job row
            # of the user's recordings on each list.
            models.Index(
                fields=["recording", "-created_at", "-id"], name="job_newest_per_recording"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} of recording {self.recording_id}: {self.status}"
