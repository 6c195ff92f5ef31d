"""The database side of server processes' liveness: heartbeats (:func:`do_node_beat`),
the placement rows other processes read, and the sweep that ends a dead process's streams
and saves its spool files. :class:`streams.node.ProcessNode` calls these on its own thread
lanes; the ``clear_stale_state`` command calls them at start.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.utils import timezone

from fc25_denoise.threads import refreshed_while
from recordings.recovery import RetryBackoff, recover_spool
from users.presence import clear_connections_of

from . import services
from .models import ActiveStream, LiveNode
from .placement import NodeLoad

logger = logging.getLogger(__name__)


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


def rowless(session_ids: list[uuid.UUID]) -> list[uuid.UUID]:
    """The streams of ``session_ids`` that have no ``ActiveStream`` row."""
    present = set(
        ActiveStream.objects.filter(session_id__in=session_ids).values_list("session_id", flat=True)
    )
    return [session_id for session_id in session_ids if session_id not in present]


def other_nodes(channel: str, max_age_s: float) -> list[NodeLoad]:
    """The loads of the other live server processes (heartbeat within ``max_age_s``)."""
    cutoff = timezone.now() - timedelta(seconds=max_age_s)
    rows = LiveNode.objects.filter(heartbeat__gte=cutoff).exclude(channel=channel)
    return [
        NodeLoad(n.channel, n.streams, n.listeners, n.capacity, n.behind_ms)
        for n in rows.order_by("channel")
    ]


def running_nodes(confirm_s: float, poll_s: float) -> int:
    """How many server processes are running, as their ``LiveNode`` rows show.

    A process counts once its row beats again, looked for every ``poll_s`` for up to
    ``confirm_s`` (a running process beats at least every heartbeat). Every row is
    watched, a stale one too: a row beaten moments ago may be a process killed just now,
    which never beats again, and after a database outage every running process's row is
    stale until its next beat, so age alone would take running processes for dead.
    Blocks for up to ``confirm_s`` when any row exists (none after clean shutdowns):
    meant for commands, never for the event loop.
    """
    seen = dict(LiveNode.objects.values_list("channel", "heartbeat"))
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
    dead = list(stale.values_list("user_id", "session_id", "user__username"))
    ended = 0
    for user_id, session_id, username in dead:
        claimed = ActiveStream.objects.filter(session_id=session_id, heartbeat__lt=cutoff).update(
            heartbeat=now
        )
        if not claimed:
            continue  # another process took it
        logger.warning(
            "[stream %s user=%s] held by no live process: ending it", session_id, username
        )
        with _claim_held(session_id, max_age_s / CLAIM_REFRESHES):
            services.do_end_stream(user_id, session_id)
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


def recover_orphan_spool(idle_s: float, backoff: RetryBackoff | None = None) -> int:
    """Save this machine's spool files of streams that are no longer live (their
    process died, or storage failed when they ended) as recordings.

    Files written to within ``idle_s`` seconds are left alone; ``backoff`` spaces the
    tries while saves fail (see :func:`~recordings.recovery.recover_spool`). Returns the
    number saved.
    """

    def active() -> set[uuid.UUID]:
        return set(ActiveStream.objects.values_list("session_id", flat=True))

    return recover_spool(active, idle_s, backoff)
