"""``/ws/presence/``: pushes friends' presence, live status and friend events.

Close codes: 4401 not logged in (checked again once the socket is in its user's group,
so a logout during the handshake is not missed), or the login stopped logging the user in
while the socket was open (logged out, the account deactivated, or a new password set
from another session); 4429 the user already has ``FC25_MAX_PRESENCE_SOCKETS``
sockets open (the new one is refused, the open ones keep working); 4408 the socket sent
frames faster than ``FRAMES_PER_S`` past a burst of ``FRAME_BURST``, or its user opened
more than ``FC25_PRESENCE_CONNECTS_PER_MINUTE`` sockets in a minute (refused before
anything is announced). A frame that
is not a JSON text frame is answered with ``{"type":"error","error":...}`` and
the socket stays open. 1011: a server-side failure (logged); presence is cleared
first, as on every close. A client that goes away while the server sends to it (a page
left during the handshake) is not a failure: presence is cleared and one info line said.

Behind the "session ended" messages, an open socket checks its login again every
``LOGIN_RECHECK_S`` (the first check between half a period and a period after it opened),
so a message the channel layer lost, or a session that expired before the sweep, still
closes it.

A socket is a member of its user's group (``user.<id>``) from before it is
accepted until it closes, joining again every ``REJOIN_INTERVAL_S``: the page
resyncs on "open", and channel layers drop a member ``group_expiry`` seconds
(a day by default) after it joined.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import random
from typing import Any

from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from fc25_denoise.bucket import TokenBucket
from fc25_denoise.periodic import FailureLog, Periodic
from fc25_denoise.threads import run_on

from . import presence
from .events import user_group
from .logins import login_is_valid, login_key, login_tag, session_name
from .models import User
from .wsauth import SOCKETS_DB

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_TOO_MANY = 4429
CLOSE_TOO_FAST = 4408
"""The socket sent frames faster than ``FRAMES_PER_S`` past ``FRAME_BURST``."""
CLOSE_INTERNAL_ERROR = 1011
CLOSE_CLIENT_GONE = 1006
"""Logged (never sent) for a socket whose client went away while the server sent to it."""
SESSION_END_GRACE_S = 0.5
"""Delay before a logged-out session's socket closes (see ``presence_session_ended``)."""
SESSION_ENDED_MESSAGE_TYPE = "presence.session_ended"
"""Channel-layer message to a user's group: ``session`` (a login's name,
:func:`users.logins.session_name`) or None for all of the user's sockets; matching
sockets close with 4401 (with ``recheck``: only those whose login no longer logs in)."""
LOGIN_RECHECK_S = 30.0
"""How often an open socket checks again that its login still logs its user in. A
logout, a new password or a deleted session closes its sockets through a "session ended"
message at once; the recheck closes those whose message the channel layer lost, and those
of a session that expired (before the minute's sweep tells them). The first check comes
after a random half to whole period, so sockets opened together do not check together."""
REJOIN_INTERVAL_S = 3600.0
"""How often an open socket joins its user's group again. Channel layers (in-memory and
channels-redis alike) drop a member ``group_expiry`` (86400 s by default) after its last
``group_add``; an hour leaves a day's margin for a layer that is briefly unreachable."""


FRAMES_PER_S = 1.0
FRAME_BURST = 20
"""Client frames a socket may send: the page pings every 25 s; a socket past this rate
is closed with 4408, so no client keeps the event loop answering it (answered pings had
taken 0.9 of a core from one socket)."""

MAX_FRAME_CHARS = 1024
"""Longest client frame parsed. The page only pings (about 20 characters); a longer frame
gets an error reply unparsed, so no frame can hold the event loop in ``json.loads``.
The server's own cap (Uvicorn ``--ws-max-size``, ``WS_MAX_BYTES``) bounds what is read."""


_RECHECK_FAILURES = FailureLog(
    "presence user=%s: could not check the login again (failures of every socket)", logger
)
"""Shared by every socket: a database away logs a line a minute, not one per socket."""


class ClientGone(Exception):
    """A send found the client gone: the ASGI server raised its ``OSError`` subclass
    (uvicorn's ``ClientDisconnected``), as the ASGI spec asks of a send on a closed socket."""


class PresenceConsumer(AsyncJsonWebsocketConsumer):
    """One browser tab's presence socket.

    State: ``self.user``, its login's name and group membership only; the online
    set lives in the database so every server process agrees.
    """

    user: User | None = None
    """Set once admitted (recorded online, in the group); None again once closed."""
    session: str = ""
    _session_key: str | None = None
    _login_tag: str | None = None
    _accepted = False
    _closing: asyncio.Future[None] | None = None
    _timers: tuple[Periodic, ...] = ()
    """The group rejoin and the login recheck, running while the socket is admitted."""
    _frames: TokenBucket | None = None
    _flooded = False

    async def accept(self, subprotocol: str | None = None, headers: Any = None) -> None:
        self._accepted = True
        await super().accept(subprotocol, headers)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Channels' consumer, its every send turning the ASGI server's "client gone"
        ``OSError`` into :class:`ClientGone`.

        Only the server's own ``send`` is wrapped: an ``OSError`` from anything else (a
        channel layer, a database) stays a failure.
        """

        async def send_or_gone(message: dict[str, Any]) -> None:
            try:
                await send(message)
            except OSError as exc:
                raise ClientGone(str(exc) or type(exc).__name__) from exc

        await super().__call__(scope, receive, send_or_gone)

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.accept()  # only an accepted socket can carry a close code
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        per_minute = settings.PRESENCE_CONNECTS_PER_MINUTE
        if not await run_on(SOCKETS_DB, presence.connect_allowed, user.pk, per_minute):
            # Before anything friends would hear of: an open and a close reach them all.
            logger.info(
                "presence refused user=%s: over %d opens a minute", user.username, per_minute
            )
            await self.accept()
            await self.send_json(
                {"type": "error", "error": "Reconnecting too often. Wait a minute."}
            )
            await self.close(code=CLOSE_TOO_FAST)
            return
        group = user_group(user.pk)
        session = self.scope.get("session")  # loaded already: the user was read from it
        session_key = getattr(session, "session_key", None)
        tag = login_tag(session)
        # In the group before the page hears "open" (and resyncs): nothing published after
        # that is lost. Left again on every path that does not admit the socket.
        limit = settings.MAX_PRESENCE_SOCKETS
        await self.channel_layer.group_add(group, self.channel_name)
        try:
            # The user was read from the session before this socket was a member: a logout
            # (or new password, or deactivation) in between sent its "session ended" to a
            # group without it. Checked once a member, so any later one reaches it.
            logged_in = await run_on(SOCKETS_DB, login_is_valid, session_key, tag, user.pk)
            admitted = logged_in and await run_on(
                SOCKETS_DB, presence.do_connect, user, self.channel_name, limit
            )
        except BaseException:
            await self.channel_layer.group_discard(group, self.channel_name)
            raise
        if not admitted:
            await run_on(SOCKETS_DB, presence.connect_not_admitted, user.pk)
        if not logged_in:
            await self.channel_layer.group_discard(group, self.channel_name)
            logger.info("presence refused user=%s: the login ended", user.username)
            await self.accept()  # only an accepted socket can carry a close code
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        if not admitted:
            await self.channel_layer.group_discard(group, self.channel_name)
            logger.info("presence refused user=%s: %d sockets open", user.username, limit)
            await self.accept()
            await self.send_json({"type": "error", "error": f"At most {limit} open tabs."})
            await self.close(code=CLOSE_TOO_MANY)
            return
        self.user = user
        self._session_key = session_key
        self._login_tag = tag
        self.session = session_name(session) or ""
        self._timers = (
            Periodic(
                "presence-rejoin",
                functools.partial(self.channel_layer.group_add, group, self.channel_name),
                lambda: REJOIN_INTERVAL_S,
                # The membership made before lasts group_expiry, much longer than an interval.
                failed=f"presence user={user.username} could not join {group} again",
            ),
            Periodic(
                "presence-recheck",
                self._recheck_login,
                lambda: LOGIN_RECHECK_S,
                first=lambda: random.uniform(0.5, 1.0) * LOGIN_RECHECK_S,
            ),
        )
        for timer in self._timers:
            timer.start()
        await self.accept()
        logger.info("presence connected user=%s channel=%s", user.username, self.channel_name)

    async def _recheck_login(self) -> None:
        """One recheck (see :data:`LOGIN_RECHECK_S`): a login that no longer logs the
        user in closes the socket as its "session ended" message would have (on its own
        future, after the same grace and a second check). The rechecks go on until the
        socket closes (:meth:`disconnect` stops them): a close that the second check
        calls off leaves them running. A renewed key the check finds is kept, so a
        record the cache loses later cannot end this login. A failed check is logged
        (at most once a minute across all sockets) and tried a period later."""
        user = self.user
        if user is None or self._closing is not None:  # closed, or a close under way
            return
        try:
            goes_on = await self._login_goes_on(user.pk)
        except Exception:
            _RECHECK_FAILURES.failed(user.username)
            return
        _RECHECK_FAILURES.succeeded()
        if goes_on:
            return
        if self.user is None or self._closing is not None:  # closed meanwhile
            return
        logger.info("presence user=%s: the login ended (found by the recheck)", user.username)
        await self.presence_session_ended({"session": None, "recheck": True})

    async def _login_goes_on(self, user_id: int) -> bool:
        """Whether this socket's login still logs ``user_id`` in; a renewed key it finds
        is kept (:func:`users.logins.login_key`). Raises what the check raised."""
        key = await run_on(SOCKETS_DB, login_key, self._session_key, self._login_tag, user_id)
        if key is not None:
            self._session_key = key
        return key is not None

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        """Channels' own, without its closing of stale database connections on asgiref's
        one shared thread (this consumer's queries run on :data:`SOCKETS_DB`).

        The Channels original this replaces (and ``dispatch``'s and ``__call__``'s) is
        pinned by tests/presence/test_channels_copies.py, so an upgrade is read first."""
        for group in self.groups:
            await self.channel_layer.group_discard(group, self.channel_name)
        await self.disconnect(message.get("code", 1005))
        raise StopConsumer()

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Run a handler; one that fails still leaves presence cleared.

        An exception escaping a handler would end the consumer without
        ``disconnect()``, leaving the user shown online for good; instead the
        failure is logged, presence cleared and the socket closed with 1011.
        """
        try:
            handler = getattr(self, get_handler_name(message), None)
            if handler is None:
                raise ValueError(f"No handler for message type {message.get('type')!r}")
            # Channels' own dispatch first closes stale database connections on asgiref's
            # one shared thread, so every socket's every message would wait behind any slow
            # call there. This consumer's queries run on SOCKETS_DB, which does that itself.
            await handler(message)
        except StopConsumer:
            raise
        except ClientGone:
            logger.info(
                "presence socket user=%s: the client went away during %s",
                self._who(),
                message.get("type"),
            )
            await self.disconnect(CLOSE_CLIENT_GONE)
            raise StopConsumer from None
        except Exception:
            logger.exception(
                "presence socket user=%s failed handling %s", self._who(), message.get("type")
            )
            await self.disconnect(CLOSE_INTERNAL_ERROR)
            if not self._accepted:  # failed in connect(): a refused handshake has no code
                await self.accept()
            await self.close(code=CLOSE_INTERNAL_ERROR)
            raise StopConsumer from None

    def _who(self) -> str:
        """The socket's user for log lines: once admitted, its user; before (connect()
        failed), the user the session named, if any; else "-"."""
        user = self.user or self.scope.get("user")
        return getattr(user, "username", "") or "-"

    async def disconnect(self, code: int) -> None:
        if self._closing is not None and self._closing is not asyncio.current_task():
            self._closing.cancel()
        if self.user is None:
            return
        user, self.user = self.user, None  # runs once even if a close races a disconnect
        timers, self._timers = self._timers, ()
        for timer in timers:  # waited for: no join may follow the discard below (a close
            await timer.stop()  # found by the recheck runs on a task of its own)
        try:
            await self.channel_layer.group_discard(user_group(user.pk), self.channel_name)
        finally:
            await run_on(SOCKETS_DB, presence.do_disconnect, user, self.channel_name)
        logger.info("presence disconnected user=%s code=%s", user.username, code)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Parse a client frame; a bad one gets an error reply, never a crash. A socket
        sending past :data:`FRAMES_PER_S` is closed (4408) and its later frames ignored."""
        if self._flooded:
            return
        if self._frames is None:
            self._frames = TokenBucket(FRAMES_PER_S, FRAME_BURST)
        if not self._frames.take():
            self._flooded = True
            logger.warning("presence user=%s: frames too fast; closing", self._who())
            await self.close(code=CLOSE_TOO_FAST)
            return
        if bytes_data is not None or text_data is None:
            await self.send_json({"type": "error", "error": "Binary frames are not accepted."})
            return
        if len(text_data) > MAX_FRAME_CHARS:
            await self.send_json({"type": "error", "error": "Frame too long."})
            return
        try:
            content = json.loads(text_data)
        except (ValueError, RecursionError):  # not JSON, or nested too deep to parse
            await self.send_json({"type": "error", "error": "Frames must be JSON objects."})
            return
        await self.receive_json(content)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        # The client only pings (keeps proxies from closing an idle socket).
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def presence_event(self, message: dict[str, Any]) -> None:
        """Relay an event published by :func:`users.events.publish` (only while admitted:
        a refused or closed socket may still have some queued)."""
        if self.user is not None:
            await self.send_json(message["event"])

    async def presence_session_ended(self, message: dict[str, Any]) -> None:
        """Close with 4401 if this socket's session ended (see ``SESSION_ENDED_MESSAGE_TYPE``).

        The close waits ``SESSION_END_GRACE_S``: the same logout ends the user's
        listening elsewhere (:mod:`streams.access`), and those ``listen_ended``
        events should reach the page first; events keep being relayed meanwhile.
        With ``recheck`` (a new password) the socket closes only if its login no
        longer logs the user in (the session that changed the password keeps it, under
        the new key it was given: :func:`users.logins.login_is_valid`).
        """
        if self.user is None or self._closing is not None:
            return
        if message.get("session") not in (None, self.session):
            return
        user_id = self.user.pk

        async def close_soon() -> None:
            await asyncio.sleep(SESSION_END_GRACE_S)
            try:
                if message.get("recheck") and await self._login_goes_on(user_id):
                    self._closing = None
                    return
            except Exception:
                # Not decided: the socket stays open, the next message or recheck decides.
                logger.exception("presence user=%s: could not check the login", self._who())
                self._closing = None
                return
            try:
                await self.disconnect(CLOSE_UNAUTHENTICATED)  # offline before the page hears it
            except Exception:
                logger.exception("presence user=%s: could not clear presence", self._who())
            with contextlib.suppress(ClientGone):  # gone already: nothing left to close
                await self.close(code=CLOSE_UNAUTHENTICATED)

        self._closing = asyncio.ensure_future(close_soon())
