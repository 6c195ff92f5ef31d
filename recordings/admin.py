"""The recordings admin: recordings (title and owner editable, deletion takes the files,
:mod:`.signals`) and their jobs, which only the app changes (see :class:`RecordingJobAdmin`).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from . import services
from .models import RecordingJob, StreamRecording

JOB_FIELDS = ("recording", "kind", "status", "progress", "model", "atten_lim_db", "error",
              "created_at", "updated_at")  # fmt: skip


class RecordingJobInline(admin.TabularInline):
    model = RecordingJob
    extra = 0
    readonly_fields = ("kind", "status", "progress", "model", "atten_lim_db", "error", "created_at")
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Jobs are queued by the API only (quota and open-job checks; a kind and a model).
        return False


@admin.register(StreamRecording)
class StreamRecordingAdmin(admin.ModelAdmin):
    list_display = ("title", "owner", "source", "status", "duration", "size_bytes", "created_at")
    search_fields = ("title", "owner__username")
    list_filter = ("source", "status", "created_at")
    raw_id_fields = ("owner",)
    inlines = [RecordingJobInline]
    # What the app keeps consistent is shown, not edited: files go only with their row
    # (.signals), stored files are checked FLAC, and size_bytes (the quota) and the status
    # follow them. Title and owner stay editable; recordings come from live streams and
    # imports only (no add).
    readonly_fields = ("file", "raw_file", "duration", "created_at", "session_id", "source",
                       "status", "error", "model", "atten_lim_db", "size_bytes", "gap_seconds",
                       "db_removed")  # fmt: skip

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(RecordingJob)
class RecordingJobAdmin(admin.ModelAdmin):
    """Jobs can be looked at and deleted, not added or edited.

    A job is queued by the API (quota, open-job limit) and its row is driven by the job
    runner: a status edited here ran a job twice (running -> queued) or stranded its
    recording (-> done). Deleting one goes through :func:`.services.do_delete_jobs`, so
    an import whose open job is deleted is FAILED, not PROCESSING for good.
    """

    list_display = ("id", "recording", "kind", "status", "progress", "model", "created_at")
    list_filter = ("kind", "status")
    readonly_fields = JOB_FIELDS

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def delete_model(self, request: HttpRequest, obj: RecordingJob) -> None:
        services.do_delete_jobs([obj.pk])

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[RecordingJob]) -> None:
        services.do_delete_jobs(list(queryset.values_list("pk", flat=True)))
