from django.contrib import admin

from .models import ActiveStream, BroadcastSettings


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
