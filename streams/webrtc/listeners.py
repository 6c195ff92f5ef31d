"""The listeners of one live broadcast: their peer connections, levels and slots.

A :class:`ListenerSet` belongs to one :class:`~.session.BroadcastSession`. It
answers each listener's offer with a track subscribed to the session's
:class:`~.fanout.Fanout`, bounds an unconnected listener by the connect timeout,
and closes every peer connection it opened once that listener is ended or
dropped (``end_all`` when the stream stops). It logs through the session's
:class:`~.stream.StreamLog`, so its lines carry the stream's prefix and logger.

The peer connections come from the session (``open_peer``, ``answer``): the
session is the one place this process makes its peers.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Collection

from aiortc import RTCPeerConnection, RTCSessionDescription

from .fanout import Fanout, offers_opus, prefer_opus
from .levels import Level
from .stream import Listener, ListenerEnded, SessionClosed, StreamLog

AnswerOffer = Callable[[RTCPeerConnection, RTCSessionDescription], Awaitable[RTCSessionDescription]]
"""``(pc, offer) -> answer``: applies a client's offer to ``pc`` (``peer.apply_client_offer``)."""


def _named(item: Listener) -> str:
    """How log lines name a listener connection: its listen id and its user's id."""
    return f"listen {item.listen_id} listener={item.user_id}"


class ListenerSet:
    """One stream's listener connections, by listen id. Used on the event loop only."""

    def __init__(
        self,
        fanout: Fanout,
        log: StreamLog,
        *,
        connect_timeout: float,
        open_peer: Callable[[], RTCPeerConnection],
        answer: AnswerOffer,
        on_ended: ListenerEnded | None = None,
    ) -> None:
        """``open_peer`` makes a new peer connection and ``answer`` applies an offer to
        it; ``on_ended`` hears of every listener ended on purpose (:meth:`end`), not of
        those whose connection failed."""
        self._fanout = fanout
        self._log = log
        self._connect_timeout = connect_timeout
        self._open_peer = open_peer
        self._answer = answer
        self._on_ended = on_ended
        self._items: dict[uuid.UUID, Listener] = {}

    def __len__(self) -> int:
        """Listener connections, those still being answered included."""
        return len(self._items)

    def confirmed_users(self) -> list[int]:
        """The user ids of the confirmed listeners (see :meth:`confirm`), once each."""
        return sorted({i.user_id for i in self._items.values() if i.confirmed})

    def confirmed(self) -> list[tuple[uuid.UUID, int, str | None]]:
        """``(listen_id, listener user id, login name)`` of the confirmed connections."""
        return [(lid, i.user_id, i.login) for lid, i in self._items.items() if i.confirmed]

    def ids_of(self, user_id: int, logins: Collection[str] | None = None) -> list[uuid.UUID]:
        """The listen ids of ``user_id``'s connections to this stream (at most one);
        with ``logins``, only one opened from one of those logins."""
        return [
            lid
            for lid, item in self._items.items()
            if item.user_id == user_id and (logins is None or item.login in logins)
        ]

    def setting_up(self, user_id: int) -> int:
        """How many of ``user_id``'s connections to this stream are still being answered
        (no watchdog yet: each holds a peer connection, its certificate and its ICE)."""
        return sum(
            1 for item in self._items.values() if item.user_id == user_id and item.watchdog is None
        )

    async def add(
        self,
        offer: RTCSessionDescription,
        user_id: int,
        level: Level = "full",
        login: str | None = None,
    ) -> tuple[uuid.UUID, RTCSessionDescription]:
        """Answer a listener's receive-only offer with the live stream at ``level``
        (``login``: the name of the login it comes from, see :attr:`Listener.login`).

        Returns the new connection's listen id and the answer. A listener has at
        most one connection per stream: ``user_id``'s previous one is ended
        (reason ``"replaced"``) once the new one is answered. A connection that has
        not reached "connected" within the connect timeout is dropped.

        Raises:
            SessionClosed: :meth:`end_all` ran while the offer was being answered.
            ValueError: the offer lists no Opus, or aiortc rejected the SDP (whatever
            its parser raised); the listener's peer is closed. If the call fails or
            is cancelled before the answer, the listener is dropped (its peer
            closed, its slot freed) before the exception goes on.
        """
        if not offers_opus(offer.sdp):
            raise ValueError("the listener's offer has no Opus codec, the only one sent")
        pc = self._open_peer()
        item = Listener(
            uuid.uuid4(), user_id, pc, self._fanout.subscribe(level), level, login=login
        )
        self._items[item.listen_id] = item

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState in ("failed", "closed"):
                await self._drop(item.listen_id)

        try:
            # The transceiver exists before the offer is applied: aiortc picks the
            # codec while applying it, in the offer's order unless preferences say.
            prefer_opus(pc.addTransceiver(item.track, direction="sendonly"))
            await pc.setLocalDescription(await self._answer(pc, offer))
        except BaseException:
            # Cancelled too (the client went away and Django cancelled the view): the
            # listener has no watchdog yet, so nothing else would ever free its slot.
            # Shielded: a second cancellation must not interrupt the peer's closing.
            await asyncio.shield(self._drop(item.listen_id))
            raise
        if item.listen_id not in self._items:  # the stream stopped meanwhile
            raise SessionClosed
        # Answered ones only: a concurrent listen still being answered replaces this one.
        answered = [lid for lid in self.ids_of(user_id) if self._items[lid].watchdog is not None]
        # Before the awaits below: from here on the connect timeout bounds this listener,
        # even if this call is cancelled while the old one is being ended.
        item.watchdog = asyncio.create_task(self._watchdog(item))
        for old in answered:
            await self.end(old, "replaced")
        self._log.info("%s joined (%d listening)", _named(item), len(self._items))
        return item.listen_id, pc.localDescription

    def get(self, listen_id: uuid.UUID) -> Listener | None:
        return self._items.get(listen_id)

    def confirm(self, listen_id: uuid.UUID) -> None:
        """Mark a listener whose access was checked once connected: only confirmed
        listeners get the stream's telemetry."""
        item = self._items.get(listen_id)
        if item is not None:
            item.confirmed = True

    def at_level(self, level: Level) -> list[tuple[uuid.UUID, int]]:
        """``(listen_id, listener user id)`` of the connections hearing ``level``."""
        return [(lid, i.user_id) for lid, i in self._items.items() if i.level == level]

    def set_level(self, listen_id: uuid.UUID, level: Level) -> bool:
        """Switch one listener to ``level`` from the next 20 ms frame on (same connection,
        same RTP timeline). False if that listener is gone."""
        item = self._items.get(listen_id)
        if item is None:
            return False
        if item.level != level:
            self._fanout.move(item.track, level)
            item.level = level
            self._log.info("%s now hears %s", _named(item), level)
        return True

    async def _watchdog(self, item: Listener) -> None:
        # A listener whose ICE never completes would otherwise hold a slot for minutes.
        await asyncio.sleep(self._connect_timeout)
        if item.pc.connectionState != "connected":
            self._log.info("%s never connected; dropped", _named(item))
            await self._drop(item.listen_id)

    async def end(self, listen_id: uuid.UUID, reason: str) -> bool:
        """Close one listener connection on purpose and tell ``on_ended``.

        Returns False if no such listener is connected.
        """
        item = self._items.get(listen_id)
        if item is None:
            return False
        await self._drop(listen_id)
        self._log.info("%s ended: %s", _named(item), reason)
        if self._on_ended is not None:
            try:
                await self._on_ended(item.user_id, listen_id, reason)
            except Exception:
                self._log.exception("could not report the end of %s", _named(item))
        return True

    async def end_all(self, reason: str) -> None:
        """:meth:`end` every listener, those still being answered included (their
        :meth:`add` then raises :class:`SessionClosed`)."""
        for listen_id in list(self._items):
            await self.end(listen_id, reason)

    async def _drop(self, listen_id: uuid.UUID) -> None:
        item = self._items.pop(listen_id, None)
        if item is None:
            return
        if item.watchdog is not None and item.watchdog is not asyncio.current_task():
            item.watchdog.cancel()
        self._fanout.unsubscribe(item.track)
        self._log.info(
            "%s left (%d listening; it lagged and lost %d packets)",
            _named(item),
            len(self._items),
            item.track.dropped,
        )
        await item.pc.close()
