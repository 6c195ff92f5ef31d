"""The recordings quota: ``RECORDINGS_QUOTA_MB`` stored megabytes per user (0 = unlimited),
counting both versions of every recording, and a reservation for each cleaned version
still being made.

Writes checked against it hold the owner's row lock (:func:`lock_owner`), taken before
any recording's, so concurrent ones cannot pass it together.
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import Q, Sum

from fc25_denoise.api import ApiError
from users.models import User

from .models import StreamRecording


def lock_owner(user_id: int) -> None:
    """Serialise ``user_id``'s quota-checked writes until the transaction ends (the owner's
    row lock: take it before any recording's, the order every such write keeps)."""
    User.objects.select_for_update().filter(pk=user_id).values_list("pk", flat=True).first()


def _counted(rec: StreamRecording) -> int:
    """The bytes :func:`storage_used` counts for ``rec`` (its cleaned version reserved
    while it waits for the first one)."""
    awaiting = rec.status == StreamRecording.Status.PROCESSING and not rec.file
    return 2 * rec.size_bytes if awaiting else rec.size_bytes


def check_new_version(rec: StreamRecording, new_size: int) -> None:
    """Raise unless ``rec`` may take ``new_size`` bytes (both versions) in its owner's
    quota in place of what it is counted for now. A new cleaned version is most often
    about as large as the one it replaces (or as the reservation made for it), and then
    passes; one larger (a lighter re-clean compresses worse) must fit. Call under
    :func:`lock_owner`.

    Raises:
        ApiError: 409 with the quota's message.
    """
    growth = new_size - _counted(rec)
    if growth > 0:
        check_quota(rec.owner_id, growth, status=409)


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
