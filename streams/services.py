"""Business rules for live streams and recordings (database side).

The WebRTC objects live in :mod:`streams.hub`; these functions keep the
database (``ActiveStream``, ``User.is_streaming``, ``StreamRecording``) in
step with them and tell friends through :func:`users.presence.do_set_streaming`.
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

import soundfile as sf
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from fc25_denoise.api import Conflict, Forbidden
from users.models import User
from users.presence import do_set_streaming
from users.services import are_friends, friend_ids, get_user

from .models import ActiveStream, BroadcastSettings, StreamRecording

logger = logging.getLogger(__name__)


def recording_relpath(user_id: int, session_id: uuid.UUID) -> str:
    """Storage name of a live stream's recording (relative to MEDIA_ROOT)."""
    return f"recordings/{user_id}/{session_id}.wav"


def recording_abspath(user_id: int, session_id: uuid.UUID) -> Path:
    return Path(settings.MEDIA_ROOT) / recording_relpath(user_id, session_id)


def broadcast_settings(user: User) -> BroadcastSettings:
    """The user's stream settings (created with the server defaults on first use)."""
    obj, _ = BroadcastSettings.objects.get_or_create(
        user=user,
        defaults={"model": settings.DENOISE_MODEL, "atten_lim_db": settings.DENOISE_ATTEN_LIM_DB},
    )
    return obj


def do_update_settings(
    user: User, atten_lim_db: float | None, model: str | None
) -> BroadcastSettings:
    """Store settings; the live stream (if any) is updated by the caller."""
    obj = broadcast_settings(user)
    if atten_lim_db is not None:
        obj.atten_lim_db = atten_lim_db
    if model is not None:
        obj.model = model
    obj.save()
    ActiveStream.objects.filter(user=user).update(atten_lim_db=obj.atten_lim_db)
    return obj


def do_begin_stream(
    user: User, session_id: uuid.UUID, model: str, atten_lim_db: float
) -> ActiveStream:
    """Record that ``user`` is live and tell their friends.

    Raises:
        Conflict: the user is already live (in this or another server process).
    """
    try:
        with transaction.atomic():
            stream = ActiveStream.objects.create(
                user=user, session_id=session_id, model=model, atten_lim_db=atten_lim_db
            )
            do_set_streaming(user, True)
    except IntegrityError:
        raise Conflict("You are already live.") from None
    return stream


def do_end_stream(user_id: int, session_id: uuid.UUID, duration: float) -> StreamRecording | None:
    """Save the recording (if any audio was recorded), clear live state, tell friends."""
    user = User.objects.get(pk=user_id)
    path = recording_abspath(user_id, session_id)
    with transaction.atomic():
        recording = None
        if duration > 0 and path.exists():
            started = (
                ActiveStream.objects.filter(session_id=session_id)
                .values_list("started_at", flat=True)
                .first()
                or timezone.now()
            )
            recording = StreamRecording.objects.create(
                owner=user,
                title=f"Live {timezone.localtime(started):%Y-%m-%d %H:%M}",
                file=recording_relpath(user_id, session_id),
                duration=round(duration, 3),
                session_id=session_id,
            )
        elif path.exists():
            path.unlink()
        ActiveStream.objects.filter(session_id=session_id).delete()
        if not ActiveStream.objects.filter(user_id=user_id).exists():
            do_set_streaming(user, False)
    return recording


def clear_stale_streams() -> tuple[int, int]:
    """At server start: turn left-over live rows into recordings, clear flags.

    A server that died mid-stream leaves its WAV valid up to the last header
    sync (see :mod:`streams.webrtc.recorder`); it is saved as a recording.
    Returns (streams cleared, recordings recovered).
    """
    cleared = recovered = 0
    for stream in ActiveStream.objects.select_related("user"):
        path = recording_abspath(stream.user_id, stream.session_id)
        duration = 0.0
        if path.exists():
            try:
                duration = sf.info(str(path)).duration
            except (sf.LibsndfileError, RuntimeError):
                logger.warning("unreadable partial recording %s", path)
        if do_end_stream(stream.user_id, stream.session_id, duration) is not None:
            recovered += 1
        cleared += 1
    for user in User.objects.filter(is_streaming=True):
        do_set_streaming(user, False)
    return cleared, recovered


def check_can_listen(listener: User, username: str) -> User:
    """The broadcaster ``listener`` may listen to.

    Raises:
        NotFound: unknown user. Forbidden: not a friend (and not yourself).
        Conflict: the user is not live.
    """
    broadcaster = get_user(username)
    if broadcaster.pk != listener.pk and not are_friends(listener, broadcaster):
        raise Forbidden(f"Only {broadcaster.username}'s friends can listen.")
    if not ActiveStream.objects.filter(user=broadcaster).exists():
        raise Conflict(f"{broadcaster.username} is not live.")
    return broadcaster


def live_friends(user: User) -> list[ActiveStream]:
    """Live streams of ``user``'s friends (and the user's own), oldest first."""
    ids = [*friend_ids(user), user.pk]
    return list(
        ActiveStream.objects.filter(Q(user_id__in=ids))
        .select_related("user")
        .order_by("started_at")
    )
