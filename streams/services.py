"""Business rules for live streams (database side).

The WebRTC objects live in :mod:`streams.hub`; these functions keep the
database (``ActiveStream``, ``User.is_streaming``) in step with them, turn a
finished stream into a recording (:mod:`recordings.services`), tell friends
through :func:`users.presence.do_set_streaming` and tell the broadcaster's own pages
(``live_ended``) when a stream ends.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from fc25_denoise.api import Conflict, Forbidden, NotFound
from fc25_denoise.threads import refreshed_while
from recordings.models import StreamRecording
from recordings.recovery import recover_spool
from recordings.services import do_save_live_recording
from users.events import publish
from users.models import User
from users.presence import clear_connections_of, do_set_streaming
from users.services import are_friends, friend_ids, get_user

from .models import ActiveStream, BroadcastSettings, LiveListen, LiveNode
from .placement import NodeLoad

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
    if atten_lim_db is not None:
        obj.atten_lim_db = atten_lim_db
    if model is not None:
        obj.model = model
    if record_raw is not None:
        obj.record_raw = record_raw
    if share_raw is not None:
        obj.share_raw = share_raw
    if low_latency is not None:
        obj.low_latency = low_latency
    obj.save()
    ActiveStream.objects.filter(user=user).update(atten_lim_db=obj.atten_lim_db)
    return obj


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
    gap_seconds: float = 0.0,
    db_removed: list[float] | None = None,
) -> StreamRecording | None:
    """Save the recording (if any audio was recorded), clear live state, tell friends
    (``streaming_status``) and the broadcaster's pages (``live_ended``, once the row is gone).

    ``gap_seconds``: recorded audio the live process could not write in time
    (replaced by silence); the recording keeps it.

    The recording's length is read from its spool file. If storing fails (storage
    down), the spool files stay for :func:`~recordings.recovery.recover_spool`
    and live state is still cleared.
    """
    user = User.objects.get(pk=user_id)
    stream = ActiveStream.objects.filter(session_id=session_id).first()
    recording = None
    try:
        recording = do_save_live_recording(
            user,
            session_id,
            stream.started_at if stream else timezone.now(),
            stream.model if stream else "",
            stream.atten_lim_db if stream else settings.DENOISE_ATTEN_LIM_DB,
            gap_seconds,
            db_removed,
        )
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
        if deleted:
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


def live_stream(user_id: int) -> LiveRow | None:
    """Where ``user_id``'s live stream runs (None: not live)."""
    row = (
        ActiveStream.objects.filter(user_id=user_id)
        .values_list("node_channel", "session_id")
        .first()
    )
    return None if row is None else LiveRow(row[0], row[1])


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


def do_node_beat(
    load: NodeLoad, name: str, address: str, listeners: dict[uuid.UUID, int]
) -> list[uuid.UUID]:
    """Mark this process alive with its ``load``, and its live sessions with their
    listener counts (``listeners``: session id -> count).

    Returns the sessions of ``listeners`` that have no row (any more): ended meanwhile,
    not begun yet, or taken over by another process's sweep while this one was stalled.
    """
    now = timezone.now()
    fields = {
        "name": name,
        "address": address,
        "heartbeat": now,
        "streams": load.streams,
        "listeners": load.listeners,
        "capacity": load.capacity,
        "behind_ms": load.behind_ms,
    }
    if load.channel:
        LiveNode.objects.update_or_create(channel=load.channel, defaults=fields)
    missing = []
    for session_id, count in listeners.items():
        if not ActiveStream.objects.filter(session_id=session_id).update(
            heartbeat=now, listeners=count
        ):
            missing.append(session_id)
    return missing


def other_nodes(channel: str, max_age_s: float) -> list[NodeLoad]:
    """The loads of the other live server processes (heartbeat within ``max_age_s``)."""
    cutoff = timezone.now() - timedelta(seconds=max_age_s)
    rows = LiveNode.objects.filter(heartbeat__gte=cutoff).exclude(channel=channel)
    return [
        NodeLoad(n.channel, n.streams, n.listeners, n.capacity, n.behind_ms)
        for n in rows.order_by("channel")
    ]


def running_nodes(max_age_s: float, confirm_s: float, poll_s: float) -> int:
    """How many server processes are running, as their ``LiveNode`` rows show.

    A row beaten within ``max_age_s`` may be a process killed moments ago: its row stays
    fresh until it ages, but it never beats again. So a fresh row counts only once it
    beats again, looked for every ``poll_s`` for up to ``confirm_s`` (a running process
    beats at least every heartbeat). Blocks for up to ``confirm_s``, only when a fresh
    row exists: meant for commands, never for the event loop.
    """
    cutoff = timezone.now() - timedelta(seconds=max_age_s)
    seen = dict(LiveNode.objects.filter(heartbeat__gte=cutoff).values_list("channel", "heartbeat"))
    deadline = time.monotonic() + confirm_s
    beating: set[str] = set()
    while seen and time.monotonic() < deadline:
        time.sleep(poll_s)
        rows = LiveNode.objects.filter(channel__in=seen).values_list("channel", "heartbeat")
        beating |= {channel for channel, beat in rows if beat > seen[channel]}
        if beating:
            return len(beating)
    return 0


def forget_node(channel: str) -> None:
    """This process stops (its streams are already ended): remove it from placement."""
    LiveNode.objects.filter(channel=channel).delete()


IN_MEMORY_CHANNELS = ".inmemory!"
"""What the in-memory channel layer puts in every channel name, in every process."""


def channel_prefix(channel: str) -> str:
    """The part of a channel name every channel of the same process shares
    (channels-redis names them ``specific.<process>!<id>``); "" if there is none.

    The in-memory layer (the embedded default) names them ``specific..inmemory!<id>`` in
    every process: that part names no process, so it gives "" too (another process's
    sockets must never be taken for a dead one's).
    """
    head, sep, _ = channel.partition("!")
    if not sep or IN_MEMORY_CHANNELS in head + sep:
        return ""
    return head + sep


def stale_channels(max_age_s: float, own_channel: str) -> list[str]:
    """Channels of the other processes that look dead: their ``LiveNode`` row, or a live
    stream's row naming them, was not refreshed within ``max_age_s`` seconds."""
    cutoff = timezone.now() - timedelta(seconds=max_age_s)
    nodes = LiveNode.objects.filter(heartbeat__lt=cutoff).values_list("channel", flat=True)
    streams = ActiveStream.objects.filter(heartbeat__lt=cutoff).values_list(
        "node_channel", flat=True
    )
    return sorted({c for c in (*nodes, *streams) if c and c != own_channel})


def clear_dead_streams(
    max_age_s: float,
    own_channel: str = "",
    own_sessions: Collection[uuid.UUID] = (),
    alive_channels: Collection[str] = (),
) -> int:
    """End live streams whose server process stopped sending heartbeats (it died).

    Every live process runs this; each dead stream is claimed by exactly one of
    them (a conditional update), which saves its recording from the spool when
    the spool is on this machine (else the spool is saved by that machine's
    process when it next starts, :func:`recover_orphan_spool`), clears the live
    state and tells friends. Dead processes' placement rows are removed, and the
    presence sockets they held are forgotten (their users go offline unless
    connected elsewhere); ``own_channel`` (this process's) is never taken for theirs.

    ``own_sessions``: the streams the calling process holds (live, being set up, or
    being saved), or that an alive process holds, never ended here however late their
    last beat. A row of the caller's own channel that it no longer holds (its end failed
    halfway, e.g. a database error) is ended like a dead process's, so it does not stay
    live until a restart.

    ``alive_channels``: processes whose rows are stale but that answered the caller just
    now (late to beat, e.g. a slow database connection, but alive): their placement rows
    and presence sockets are kept; pass the streams they hold in ``own_sessions``.
    Returns the number of streams ended.
    """
    now = timezone.now()
    cutoff = now - timedelta(seconds=max_age_s)
    own = channel_prefix(own_channel)
    stale_nodes = LiveNode.objects.filter(heartbeat__lt=cutoff)
    for node in stale_nodes.exclude(channel__in=list(alive_channels)):
        claimed, _ = LiveNode.objects.filter(pk=node.pk, heartbeat__lt=cutoff).delete()
        prefix = channel_prefix(node.channel)
        if claimed and prefix and prefix != own:
            clear_connections_of(prefix)
    # The caller is alive (it is sweeping): its streams' rows may only lag behind because
    # its own beat was late (a stalled loop or database), never because it died.
    stale = ActiveStream.objects.filter(heartbeat__lt=cutoff).exclude(
        session_id__in=list(own_sessions)
    )
    dead = list(stale.values_list("user_id", "session_id"))
    ended = 0
    for user_id, session_id in dead:
        claimed = ActiveStream.objects.filter(session_id=session_id, heartbeat__lt=cutoff).update(
            heartbeat=now
        )
        if not claimed:
            continue  # another process took it
        logger.warning(
            "[stream %s user=%s] held by no live process: ending it", session_id, user_id
        )
        with _claim_held(session_id, max_age_s / CLAIM_REFRESHES):
            do_end_stream(user_id, session_id)
        ended += 1
    return ended


CLAIM_REFRESHES = 4
"""A claimed dead stream's row is refreshed this many times per dead threshold while its
recording is saved, so no other sweep takes it for dead again meanwhile."""


@contextmanager
def _claim_held(session_id: uuid.UUID, every_s: float) -> Iterator[None]:
    """Keep ``session_id``'s row fresh (its heartbeat now) every ``every_s`` seconds until
    the block ends: saving a long recording can outlast the dead threshold, and another
    process's sweep would then claim it and save the same spool again.

    The refreshing thread is this block's: stopped and joined when it ends.
    """

    def refresh() -> None:
        ActiveStream.objects.filter(session_id=session_id).update(heartbeat=timezone.now())

    with refreshed_while(refresh, every_s, f"claim-{session_id}"):
        yield


def recover_orphan_spool(idle_s: float) -> int:
    """Save this machine's spool files of streams that are no longer live (their
    process died, or storage failed when they ended) as recordings.

    Files written to within ``idle_s`` seconds are left alone. Returns the number saved.
    """

    def active() -> set[uuid.UUID]:
        return set(ActiveStream.objects.values_list("session_id", flat=True))

    return recover_spool(active, idle_s)


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
