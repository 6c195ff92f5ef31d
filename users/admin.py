from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from . import services, throttle
from .models import FriendRequest, Friendship, PresenceConnection, User


class ThrottledAdminLoginForm(AdminAuthenticationForm):
    """The admin login form, saying so plainly when the login throttle refused the attempt
    (the throttle itself runs in authenticate(): users.throttle), and logging out whoever
    else is logged in on this browser before the admin's ``login()`` replaces them."""

    def confirm_login_allowed(self, user: User) -> None:
        """Django's staff check; then, the login going ahead, the previous user of this
        browser is logged out properly (``login()`` alone would drop their session without
        ``user_logged_out``, so their sockets would stay open and their listens go on).

        Raises:
            ValidationError: an inactive or non-staff account (nobody is logged out).
        """
        super().confirm_login_allowed(user)
        if self.request is not None:
            services.log_out_other(self.request, user)

    def get_invalid_login_error(self) -> ValidationError:
        if self.request is not None and throttle.was_refused(self.request):
            return ValidationError(throttle.REFUSED_MESSAGE, code="throttled")
        return super().get_invalid_login_error()


admin.site.login_form = ThrottledAdminLoginForm


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "is_streaming", "last_seen", "is_staff", "date_joined")
    list_filter = ("is_streaming", "is_staff", "is_active")
    fieldsets = (
        *(BaseUserAdmin.fieldsets or ()),
        ("Presence", {"fields": ("is_streaming", "last_seen")}),
    )


@admin.register(FriendRequest)
class FriendRequestAdmin(admin.ModelAdmin):
    list_display = ("from_user", "to_user", "status", "created_at", "responded_at")
    list_filter = ("status",)
    search_fields = ("from_user__username", "to_user__username")
    raw_id_fields = ("from_user", "to_user")


@admin.register(Friendship)
class FriendshipAdmin(admin.ModelAdmin):
    """Friendships are added or deleted here, never re-pointed: changing a side of a row
    would end the old pair's friendship without a deletion, and it is the deletion that
    ends their listening (``streams.access``) and tells them (``users.signals``)."""

    list_display = ("user_low", "user_high", "created_at")
    search_fields = ("user_low__username", "user_high__username")
    raw_id_fields = ("user_low", "user_high")

    def get_readonly_fields(
        self, request: HttpRequest, obj: Friendship | None = None
    ) -> list[str] | tuple[str, ...]:
        """Both sides (and the date) are read-only on an existing row; a new one sets them."""
        if obj is not None:
            return ("user_low", "user_high", "created_at")
        return super().get_readonly_fields(request, obj)


@admin.register(PresenceConnection)
class PresenceConnectionAdmin(admin.ModelAdmin):
    list_display = ("user", "channel_name", "connected_at")
    search_fields = ("user__username",)
