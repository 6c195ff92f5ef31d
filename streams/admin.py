from django.contrib import admin

from .models import ActiveStream, BroadcastSettings, LiveNode


@admin.register(ActiveStream)
class ActiveStreamAdmin(admin.ModelAdmin):
    list_display = ("user", "session_id", "started_at", "model", "atten_lim_db")
    search_fields = ("user__username",)
    readonly_fields = ("session_id", "started_at")


@admin.register(BroadcastSettings)
class BroadcastSettingsAdmin(admin.ModelAdmin):
    list_display = ("user", "model", "atten_lim_db", "record_raw")
    search_fields = ("user__username",)
    raw_id_fields = ("user",)


@admin.register(LiveNode)
class LiveNodeAdmin(admin.ModelAdmin):
    """Server processes and their load as of their last heartbeat (written by them)."""

    list_display = ("name", "address", "streams", "capacity", "listeners", "behind_ms", "heartbeat")
    readonly_fields = (
        "channel",
        "name",
        "address",
        "started_at",
        "heartbeat",
        "streams",
        "listeners",
        "capacity",
        "behind_ms",
    )
