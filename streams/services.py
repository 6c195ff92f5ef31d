"""Business rules for live streams (database side).

The WebRTC objects live in :mod:`streams.hub`; these functions keep the
database (``ActiveStream``, ``User.is_streaming``) in step with them, turn a
finished stream into a recording (:mod:`recordings.services`), tell friends
through :func:`users.presence.do_set_streaming` and tell the broadcaster's own pages
(``live_ended``) when a stream ends.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from fc25_denoise.api import Conflict, Forbidden, NotFound
from recordings.models import StreamRecording
from recordings.recovery import recover_spool
from recordings.services import LiveDetails, do_save_live_recording, kept_details
from recordings.storage import spool_paths
from users.events import publish
from users.logins import ended_logins
from users.models import Friendship, User
from users.presence import do_set_streaming
from users.services import are_friends, friend_ids, get_user

from .models import ActiveStream, BroadcastSettings, LiveListen
from .reasons import LOGGED_OUT, NOT_FRIENDS

logger = logging.getLogger(__name__)


def broadcast_settings(user: User) -> BroadcastSettings:
    """The user's stream settings (created with the server defaults on first use)."""
    obj, _ = BroadcastSettings.objects.get_or_create(
        user=user,
        defaults={"model": settings.DENOISE_MODEL, "atten_lim_db": settings.DENOISE_ATTEN_LIM_DB},
    )
    return obj


def engine_defaults(user: User) -> tuple[str, float]:
    """``(model, atten_lim_db)`` of the user's stream settings: also the defaults for
    cleaning an imported or re-cleaned recording."""
    prefs = broadcast_settings(user)
    return prefs.model, prefs.atten_lim_db


def do_update_settings(
    user: User,
    atten_lim_db: float | None,
    model: str | None,
    record_raw: bool | None = None,
    share_raw: bool | None = None,
    low_latency: bool | None = None,
) -> BroadcastSettings:
    """Store settings; the live stream (if any) is updated by the caller.

    ``model``, ``record_raw`` and ``low_latency`` apply from the next stream on.
    """
    obj = broadcast_settings(user)
    given = {
        "atten_lim_db": atten_lim_db,
        "model": model,
        "record_raw": record_raw,
        "share_raw": share_raw,
        "low_latency": low_latency,
    }
    changed = [name for name, value in given.items() if value is not None]
    for name in changed:
        setattr(obj, name, given[name])
    # Only the fields sent: two changes at once (the slider and a checkbox) must not
    # write back each other's old values (a share_raw turned off, turned on again).
    obj.save(update_fields=changed)
    if atten_lim_db is not None:  # the live row's copy, which its recording keeps
        ActiveStream.objects.filter(user=user).update(atten_lim_db=atten_lim_db)
    return obj


def stored_live_settings(user_ids: Collection[int]) -> dict[int, tuple[float, bool]]:
    """``user id -> (atten_lim_db, share_raw)`` as stored, for those of ``user_ids`` who
    have settings (one query): what their live streams must run with."""
    rows = BroadcastSettings.objects.filter(user_id__in=user_ids)
    return {
        uid: (atten, share)
        for uid, atten, share in rows.values_list("user_id", "atten_lim_db", "share_raw")
    }


def do_begin_stream(
    user: User, session_id: uuid.UUID, model: str, atten_lim_db: float, node_channel: str = ""
) -> ActiveStream:
    """Record that ``user`` is live and tell their friends.

    Raises:
        Conflict: the user is already live (in this or another server process).
    """
    try:
        with transaction.atomic():
            stream = ActiveStream.objects.create(
                user=user,
                session_id=session_id,
                model=model,
                atten_lim_db=atten_lim_db,
                node_channel=node_channel,
            )
            do_set_streaming(user, True)
    except IntegrityError:
        raise Conflict("You are already live.") from None
    return stream


def do_end_stream(
    user_id: int,
    session_id: uuid.UUID,
    gap_seconds: float | None = None,
    db_removed: list[float] | None = None,
    went_live: bool = True,
) -> StreamRecording | None:
    """Save the recording (if any audio was recorded), clear live state, tell friends
    (``streaming_status``) and the broadcaster's pages (``live_ended``, once the row is gone).

    ``gap_seconds``: recorded audio the live process could not write in time
    (replaced by silence); ``db_removed``: dB of noise removed per second; the recording
    keeps both. None (a stream whose process died: the figures were in its memory): the
    figures that process kept beside the spool while it ran (:func:`_live_details`).
    ``went_live`` False: a start that failed before its offer was answered; its
    broadcaster's pages never knew of it and get no ``live_ended``.

    The recording's length is read from its spool file. If storing fails (storage
    down), the spool files stay for :func:`~recordings.recovery.recover_spool`
    and live state is still cleared.
    """
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        # The account was deleted while live (streams.access ends its stream): its
        # recordings went with it, so the spool files go too; its row went in the cascade.
        spool_paths(user_id, session_id).remove()
        logger.info("[stream %s user=%s] account deleted: nothing saved", session_id, user_id)
        return None
    recording = None
    try:
        details = _live_details(user_id, session_id, gap_seconds, db_removed)
        recording = do_save_live_recording(user, session_id, details)
    except Exception:
        logger.exception(
            "[stream %s user=%s] could not store the recording; spool kept for recovery",
            session_id,
            user.username,
        )
    with transaction.atomic():
        deleted, _ = ActiveStream.objects.filter(session_id=session_id).delete()
        if not ActiveStream.objects.filter(user_id=user_id).exists():
            do_set_streaming(user, False)
        if deleted and went_live:
            # The broadcaster's pages: one whose stream this was leaves the live state at once
            # (a Stop in another tab, the quota, a shutdown, the media timeout) and can link
            # to the recording; friends learn of it through ``streaming_status``.
            publish(
                [user_id],
                {
                    "type": "live_ended",
                    "session_id": str(session_id),
                    "recording_id": recording.pk if recording else None,
                },
            )
    return recording


def _live_details(
    user_id: int, session_id: uuid.UUID, gap_seconds: float | None, db_removed: list[float] | None
) -> LiveDetails:
    """What a live session's recording is saved with: its start, model and attenuation
    from its live row (the attenuation the latest the broadcaster chose), else from the
    details its process kept beside the spool; its figures as given, else as kept (a
    process that died: up to its last few seconds), else none."""
    stream = ActiveStream.objects.filter(session_id=session_id).first()
    kept = None
    if stream is None or gap_seconds is None or db_removed is None:
        kept = kept_details(spool_paths(user_id, session_id))
    if stream is not None:
        start, model, atten = stream.started_at, stream.model, stream.atten_lim_db
    elif kept is not None:
        start, model, atten = kept.started_at, kept.model, kept.atten_lim_db
    else:
        start, model, atten = timezone.now(), "", settings.DENOISE_ATTEN_LIM_DB
    if gap_seconds is None:
        gap_seconds = kept.gap_seconds if kept is not None else 0.0
    if db_removed is None:
        db_removed = kept.db_removed if kept is not None else []
    return LiveDetails(start, model, atten, gap_seconds, list(db_removed))


def clear_stale_streams() -> tuple[int, int]:
    """At server start: turn left-over live state into recordings, clear flags.

    A server that died mid-stream leaves its spool WAVs valid up to the last
    header sync (see :mod:`streams.webrtc.spool`); they are saved as a
    recording, as are spool files a storage outage left behind.
    Returns (streams cleared, recordings recovered).
    """
    cleared = recovered = 0
    for stream in ActiveStream.objects.select_related("user"):
        if do_end_stream(stream.user_id, stream.session_id) is not None:
            recovered += 1
        cleared += 1
    for user in User.objects.filter(is_streaming=True):
        do_set_streaming(user, False)
    recovered += recover_spool(
        lambda: set(ActiveStream.objects.values_list("session_id", flat=True))
    )
    return cleared, recovered


@dataclass(frozen=True)
class LiveRow:
    """Where a live stream runs: its session, and its host's channel (``""``: a process
    with no channel layer, which can only be this one)."""

    host: str
    session_id: uuid.UUID
    username: str
    """The broadcaster's, for log lines."""


def live_stream(user_id: int) -> LiveRow | None:
    """Where ``user_id``'s live stream runs (None: not live)."""
    row = (
        ActiveStream.objects.filter(user_id=user_id)
        .values_list("node_channel", "session_id", "user__username")
        .first()
    )
    return None if row is None else LiveRow(row[0], row[1], row[2])


@dataclass(frozen=True)
class StreamEnd:
    """What is known of a stream whose end another process was asked for."""

    ended: bool
    """Its row is gone: the stream ended and its recording (if any) was saved."""
    recording_id: int | None = None
    duration: float = 0.0


def stream_end(session_id: uuid.UUID, max_age_s: float) -> StreamEnd | None:
    """Whether stream ``session_id`` has ended, for a stop that its host did not answer in
    time.

    None while its row exists and was refreshed within ``max_age_s`` seconds: its host is
    alive and still holds it (a stopped stream's row stays fresh while its recording is
    saved). ``StreamEnd(ended=False)``: the row went stale, its host stopped beating.
    ``StreamEnd(ended=True, ...)``: the row is gone, with the recording saved from that
    session (``recording_id`` None: nothing was recorded, or saving failed and the spool
    waits for recovery).
    """
    cutoff = timezone.now() - timedelta(seconds=max_age_s)
    heartbeat = (
        ActiveStream.objects.filter(session_id=session_id)
        .values_list("heartbeat", flat=True)
        .first()
    )
    if heartbeat is not None:
        return None if heartbeat >= cutoff else StreamEnd(ended=False)
    recording = (
        StreamRecording.objects.filter(session_id=session_id).values_list("pk", "duration").first()
    )
    if recording is None:
        return StreamEnd(ended=True)
    return StreamEnd(ended=True, recording_id=recording[0], duration=recording[1])


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


def may_listen(listener_id: int, broadcaster_id: int) -> bool:
    """Whether ``listener_id`` may hear ``broadcaster_id`` now: an active account
    that is the broadcaster or a friend of theirs."""
    listener = User.objects.filter(pk=listener_id, is_active=True).first()
    if listener is None:
        return False
    if listener_id == broadcaster_id:
        return True
    broadcaster = User.objects.filter(pk=broadcaster_id).first()
    return broadcaster is not None and are_friends(listener, broadcaster)


def access_to_end(
    pairs: Collection[tuple[int, int]], logins: Collection[tuple[int, str]]
) -> tuple[dict[tuple[int, int], str], set[str]]:
    """The live access check's answer (:class:`streams.accesswatch.AccessWatch`): the
    ``(broadcaster id, listener id)`` pairs to end, with the reason
    (:func:`listens_to_end`), and of the ``(listener id, login name)`` pairs the names of
    the logins that ended (:func:`users.logins.ended_logins`). A failure of the login half
    is logged and ends no login, so the friendship half still counts.

    Raises:
        DatabaseError: the friendship half's queries failed.
    """
    to_end = listens_to_end(pairs)
    try:
        ended = ended_logins(logins)
    except Exception:
        logger.exception("could not check %d listens' logins", len(logins))
        ended = set()
    return to_end, ended


def listens_to_end(pairs: Collection[tuple[int, int]]) -> dict[tuple[int, int], str]:
    """Of these ``(broadcaster id, listener id)`` pairs, those whose listener may no longer
    hear the broadcaster (:func:`may_listen`), with the reason: ``"logged_out"`` (the
    listener's account is inactive or gone) or ``"not_friends"``. Two queries however
    many pairs."""
    if not pairs:
        return {}
    listeners = {listener for _, listener in pairs}
    active = set(User.objects.filter(pk__in=listeners, is_active=True).values_list("pk", flat=True))
    ordered = {(min(pair), max(pair)) for pair in pairs if pair[0] != pair[1]}
    # The rows of these pairs (and at most a few more between the same users), not every
    # friendship of every broadcaster.
    friends = set(
        Friendship.objects.filter(
            user_low_id__in={low for low, _ in ordered},
            user_high_id__in={high for _, high in ordered},
        ).values_list("user_low_id", "user_high_id")
    )
    ended: dict[tuple[int, int], str] = {}
    for broadcaster, listener in pairs:
        if listener not in active:
            ended[(broadcaster, listener)] = LOGGED_OUT
        elif (
            listener != broadcaster
            and (
                min(broadcaster, listener),
                max(broadcaster, listener),
            )
            not in friends
        ):
            ended[(broadcaster, listener)] = NOT_FRIENDS
    return ended


def do_record_listen(
    listen_id: uuid.UUID, broadcaster_id: int, listener_id: int, level: str
) -> None:
    """Remember a listener connection the host answered (so any process finds its host)."""
    stream = ActiveStream.objects.filter(user_id=broadcaster_id).first()
    if stream is not None:
        LiveListen.objects.update_or_create(
            listen_id=listen_id,
            defaults={"stream": stream, "listener_id": listener_id, "level": level},
        )


def do_set_listen_level(listen_id: uuid.UUID, level: str) -> None:
    LiveListen.objects.filter(listen_id=listen_id).update(level=level)


def do_forget_listen(listen_id: uuid.UUID) -> None:
    LiveListen.objects.filter(listen_id=listen_id).delete()


def own_listen(listener: User, listen_id: uuid.UUID) -> tuple[int, str]:
    """``(broadcaster id, host channel)`` of ``listener``'s live connection ``listen_id``.

    Raises:
        NotFound: no such live connection of this user (another user's is not revealed).
    """
    row = (
        LiveListen.objects.filter(listen_id=listen_id, listener=listener)
        .values_list("stream__user_id", "stream__node_channel")
        .first()
    )
    if row is None:
        raise NotFound("No such live listening connection.")
    return row[0], row[1]


def live_friends(user: User) -> list[ActiveStream]:
    """Live streams of ``user``'s friends (and the user's own), oldest first."""
    ids = [*friend_ids(user), user.pk]
    return list(
        ActiveStream.objects.filter(Q(user_id__in=ids))
        .select_related("user")
        .order_by("started_at")
    )
