"""The recordings quota: ``RECORDINGS_QUOTA_MB`` stored megabytes per user (0 = unlimited),
counting both versions of every recording, and a reservation for each cleaned version
still being made."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Q, Sum

from fc25_denoise.api import ApiError

from .models import StreamRecording


def storage_used(user_id: int) -> int:
    """Bytes ``user_id``'s recordings take, counting each one still waiting for its first
    cleaned version (PROCESSING without one: an import, or the re-clean of an import
    whose cleaning failed) twice, as that version will be about as large as the raw
    one: imports and re-cleans in flight cannot pass the quota together."""
    awaiting_cleaned = Q(status=StreamRecording.Status.PROCESSING, file="")
    sums = StreamRecording.objects.filter(owner_id=user_id).aggregate(
        stored=Sum("size_bytes"), reserved=Sum("size_bytes", filter=awaiting_cleaned)
    )
    return int(sums["stored"] or 0) + int(sums["reserved"] or 0)


def quota_usage(user_id: int) -> tuple[int, int]:
    """``(quota, used)`` in bytes for ``user_id`` (quota 0: unlimited)."""
    return settings.RECORDINGS_QUOTA_BYTES, storage_used(user_id)


def check_quota(user_id: int, extra_bytes: int, *, status: int = 413) -> None:
    """Raise unless ``extra_bytes`` more fit in the user's quota (0 = unlimited).

    Raises:
        ApiError: with ``status`` (413 for uploads, 409 for going live and re-cleans).
    """
    quota = settings.RECORDINGS_QUOTA_BYTES
    if not quota:
        return
    used = storage_used(user_id)
    if used + extra_bytes > quota:
        raise quota_full(used, quota, status)


def quota_full(used: int, quota: int, status: int = 413) -> ApiError:
    """The error saying a quota of ``quota`` bytes, ``used`` of them, has no room."""
    mb = 1024 * 1024
    return ApiError(
        status,
        f"Your recordings use {used / mb:.1f} MB of your {quota / mb:.0f} MB quota; "
        "delete some recordings to make room.",
    )
