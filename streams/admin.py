from django.contrib import admin

from .models import ActiveStream, StreamRecording


@admin.register(ActiveStream)
class ActiveStreamAdmin(admin.ModelAdmin):
    list_display = ("user", "session_id", "started_at", "model", "atten_lim_db")
    search_fields = ("user__username",)
    readonly_fields = ("session_id", "started_at")


@admin.register(StreamRecording)
class StreamRecordingAdmin(admin.ModelAdmin):
    list_display = ("title", "owner", "duration", "created_at")
    search_fields = ("title", "owner__username")
    list_filter = ("created_at",)
    raw_id_fields = ("owner",)
