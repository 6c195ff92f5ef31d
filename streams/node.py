"""This server process as one node among several: :class:`ProcessNode`.

Every process that serves the app is a node. A node

* has a channel on the channel layer (:class:`~streams.link.NodeLink`): requests
  about a stream hosted elsewhere are forwarded to the host's channel, and calls
  from other nodes arrive on ours;
* beats every ``STREAM_HEARTBEAT_S`` seconds: its ``LiveNode`` row carries its
  load (live streams, listeners, how far its engine is behind) for placement,
  and its streams' ``ActiveStream`` rows stay fresh (also while a stopped
  stream's recording is being saved); a live stream whose row is gone was taken over
  while this process was frozen, and is stopped (``on_lost``);
* sweeps as often, in a task of its own: streams of a node silent for two heartbeats are ended
  (so friends see them end within three heartbeats of a crash) unless it still answers
  on its channel (alive, its beat held up), and spool files
  of streams no longer live on this machine are saved as recordings. Only a node whose
  own beats have succeeded for the whole dead threshold ends others' streams: after a
  database outage every node's rows are stale, and each would otherwise end the others'.

With the in-memory channel layer (the embedded default) there is one process by
design; the same code runs, and every stream is this node's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings

from fc25_denoise.api import ApiError
from recordings.recovery import RetryBackoff

from . import liveness
from .aiotasks import cancel_within
from .dbtask import HEARTBEAT, db
from .link import CLOSE_WAIT_S, Handler, NodeLink, Notice
from .placement import NodeLoad

logger = logging.getLogger(__name__)

DEAD_AFTER_BEATS = 2.0
"""A node silent this many heartbeats is dead (a sweep follows within one more)."""
SLOW_CALLS = 3
"""A forwarded start or stop may take this many times the forwarding timeout."""
HELD = "held"
"""The call a sweep makes to a process whose rows look dead (it answers with the streams
it holds, if it is alive after all)."""
HELD_MIN_WAIT_S = 0.5
"""The shortest wait for a :data:`HELD` answer (heartbeats this short are for tests)."""
SPOOL_IDLE_BEATS = 3.0
"""A spool file untouched this many heartbeats (and not live) is an orphan."""


class ProcessNode:
    """This process's membership of the set of server processes.

    ``load`` reports this process's load now; ``listeners`` the listener counts
    (session id -> count) of every stream it holds: live, being set up, or being saved.
    Their rows are kept fresh by the beat, and only they are spared by its sweep (a row of
    this process that it no longer holds is ended like a dead process's). Owns its link
    and beat task; :meth:`close` stops both and removes the node from placement. Runs on
    the event loop.
    """

    def __init__(
        self,
        serve: Handler,
        on_notice: Notice,
        load: Callable[[str], NodeLoad],
        listeners: Callable[[], dict[uuid.UUID, int]],
        on_lost: Callable[[list[uuid.UUID]], Awaitable[None]] | None = None,
    ) -> None:
        """``on_lost`` is told, after a beat, which of the streams ``listeners`` named have no
        row any more (see :func:`streams.liveness.do_node_beat`)."""
        layer = get_channel_layer()
        self.single = layer is None or isinstance(layer, InMemoryChannelLayer)
        """No other process can exist (no shared channel layer)."""
        self._serve_hub = serve
        self._link = None if layer is None else NodeLink(layer, self._serve, on_notice)
        self._load = load
        self._listeners = listeners
        self._on_lost = on_lost
        self._beat: asyncio.Task[None] | None = None
        self._sweep: asyncio.Task[None] | None = None
        self._unwinding: set[asyncio.Task[None]] = set()
        """Cancelled tasks still unwinding after :meth:`close` (kept referenced)."""
        self._wake = asyncio.Event()
        self._spool_backoff = RetryBackoff()  # across the sweep's recovery passes
        self._beating_since: float | None = None
        """Loop time of the first of this process's current run of successful beats
        (None: none yet, or the last one failed)."""

    @property
    def heartbeat_s(self) -> float:
        return float(settings.STREAM_HEARTBEAT_S)

    async def channel(self) -> str:
        """This process's channel ("" without a channel layer)."""
        return "" if self._link is None else await self._link.channel()

    async def is_local(self, host: str) -> bool:
        """Whether a stream whose row names ``host`` as its channel runs here."""
        return not host or self._link is None or host == await self.channel()

    async def call(
        self, host: str, op: str, args: dict[str, Any], *, slow: bool = False, about: str = ""
    ) -> dict[str, Any]:
        """Run ``op`` on the process reading ``host``, waiting ``NODE_CALL_TIMEOUT_S`` at
        most (see :meth:`NodeLink.call`, which raises as there; ``about`` prefixes its log
        lines); ``slow`` calls (going live loads a model and gathers ICE, stopping saves
        the recording) get ``SLOW_CALLS`` times as long."""
        assert self._link is not None  # is_local() was False
        timeout = settings.NODE_CALL_TIMEOUT_S * (SLOW_CALLS if slow else 1)
        return await self._link.call(host, op, args, timeout, about)

    async def _serve(self, op: str, args: dict[str, Any]) -> dict[str, Any]:
        """A call from another process: :data:`HELD` is the node's to answer (a sweep
        asks before it takes this process for dead), every other op the hub's."""
        if op == HELD:
            return {"sessions": [str(session_id) for session_id in self._listeners()]}
        return await self._serve_hub(op, args)

    async def _answering(self, channels: list[str]) -> dict[str, list[uuid.UUID]]:
        """Which of the processes reading ``channels`` answer now, with the streams each
        holds (asked all at once; within the forwarding timeout and half a heartbeat, so a
        dead process's streams still end about three heartbeats after its last beat)."""
        link = self._link
        if link is None or not channels:
            return {}
        # At least HELD_MIN_WAIT_S: a busy event loop there must not pass for a dead one.
        timeout = max(min(settings.NODE_CALL_TIMEOUT_S, self.heartbeat_s / 2), HELD_MIN_WAIT_S)

        async def held(channel: str) -> list[uuid.UUID] | None:
            try:
                reply = await link.call(channel, HELD, {}, timeout, f"[process {channel}]")
            except ApiError:  # it does not answer (or cannot say): dead, as its rows say
                return None
            return [uuid.UUID(str(s)) for s in reply.get("sessions", [])]

        answers = await asyncio.gather(*(held(c) for c in channels))
        alive = {c: a for c, a in zip(channels, answers, strict=True) if a is not None}
        for channel, sessions in alive.items():
            logger.warning(
                "server process %s is late to beat but answers: its %d streams are kept",
                channel,
                len(sessions),
            )
        return alive

    async def others(self) -> list[NodeLoad]:
        """Other live processes' loads, as of their last heartbeat."""
        if self.single:
            return []
        max_age = DEAD_AFTER_BEATS * self.heartbeat_s
        return await db(liveness.other_nodes, await self.channel(), max_age)

    async def local_load(self) -> NodeLoad:
        return self._load(await self.channel())

    def start(self) -> None:
        """Begin beating and sweeping (idempotent); the first beat is immediate.

        Two tasks: a sweep that saves a dead process's long recordings takes
        time, and must never delay this process's own heartbeat (others would
        then take its live streams for dead)."""
        if self._beat is None or self._beat.done():
            self._beat = asyncio.ensure_future(self._run_beat())
        if self._sweep is None or self._sweep.done():
            self._sweep = asyncio.ensure_future(self._run_sweep())

    def beat_soon(self) -> None:
        """Publish this process's load without waiting for the next beat (a stream
        started or ended), if beating."""
        self._wake.set()

    async def _beat_once(self) -> None:
        try:
            lost = await db(
                liveness.do_node_beat,
                await self.local_load(),
                settings.NODE_NAME,
                settings.PUBLIC_IP,
                self._listeners(),
                lane=HEARTBEAT,
            )
        except Exception:
            self._beating_since = None
            logger.exception("heartbeat failed")
            return
        if self._beating_since is None:
            self._beating_since = asyncio.get_running_loop().time()
        if lost and self._on_lost is not None:
            try:
                await self._on_lost(lost)
            except Exception:
                logger.exception(
                    "stopping streams taken over by another process failed (%s)",
                    ", ".join(str(session_id) for session_id in lost),
                )

    def _may_end_others(self) -> bool:
        """Whether this process's beats have succeeded for the whole dead threshold
        (``DEAD_AFTER_BEATS`` heartbeats), without one failing.

        Only then are other processes' stale rows evidence that they died: had the
        database been unreachable (for everyone) within that time, their beats failed
        too, and they get as long as the threshold to beat again after it is back.
        """
        since = self._beating_since
        if since is None:
            return False
        beating = asyncio.get_running_loop().time() - since
        return beating >= DEAD_AFTER_BEATS * self.heartbeat_s

    async def _run_beat(self) -> None:
        while True:
            self._wake.clear()
            await self._beat_once()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.heartbeat_s)

    async def _run_sweep(self) -> None:
        while True:
            try:
                if self._may_end_others():
                    await self._end_dead()
                # Needs no beat: a spool file is an orphan by its missing row and its age.
                idle_s = SPOOL_IDLE_BEATS * self.heartbeat_s
                await db(liveness.recover_orphan_spool, idle_s, self._spool_backoff)
            except Exception:
                logger.exception("sweeping dead streams failed")
            await asyncio.sleep(self.heartbeat_s)

    async def _end_dead(self) -> None:
        """End the streams of the processes that stopped beating, unless they still answer.

        Stale rows alone do not prove a process dead: a slow database connection can hold
        up its beat while its streams run. Taken for dead, its listeners would be told
        the stream ended while they still hear it, and a sweep on the same machine would
        save (and remove) the spool files it is still writing. So each such process is
        asked first (:data:`HELD`); one that answers keeps the streams it holds.
        """
        max_age = DEAD_AFTER_BEATS * self.heartbeat_s
        channel = await self.channel()
        own = list(self._listeners())  # taken now: a stream started later is fresh
        alive = await self._answering(await db(liveness.stale_channels, max_age, channel))
        held = [session_id for sessions in alive.values() for session_id in sessions]
        await db(liveness.clear_dead_streams, max_age, channel, own + held, list(alive))

    async def close(self) -> None:
        """Stop beating and listening; remove this node from placement (idempotent)."""
        # The sweep may be inside a channel-layer call (telling friends that a dead
        # process's streams ended): closing does not wait for it to unwind.
        await cancel_within((self._beat, self._sweep), CLOSE_WAIT_S, self._unwinding)
        self._beat = self._sweep = None
        if self._link is not None:
            channel = self._link.channel_name
            await self._link.close()
            if channel:
                try:
                    await db(liveness.forget_node, channel)
                except Exception:
                    logger.exception("could not remove this process from placement")
