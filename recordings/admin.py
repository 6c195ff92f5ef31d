from django.contrib import admin

from .models import RecordingJob, StreamRecording


class RecordingJobInline(admin.TabularInline):
    model = RecordingJob
    extra = 0
    readonly_fields = ("kind", "status", "progress", "model", "atten_lim_db", "error", "created_at")
    can_delete = False


@admin.register(StreamRecording)
class StreamRecordingAdmin(admin.ModelAdmin):
    list_display = ("title", "owner", "source", "status", "duration", "size_bytes", "created_at")
    search_fields = ("title", "owner__username")
    list_filter = ("source", "status", "created_at")
    raw_id_fields = ("owner",)
    inlines = [RecordingJobInline]


@admin.register(RecordingJob)
class RecordingJobAdmin(admin.ModelAdmin):
    list_display = ("id", "recording", "kind", "status", "progress", "model", "created_at")
    list_filter = ("kind", "status")
    raw_id_fields = ("recording",)
