"""Calls between server processes over the channel layer: :class:`NodeLink`.

Each server process has one channel-layer channel (created on first use, with
one receive loop). Other processes send it two kinds of message:

* a *call* (``live.call``): ``op`` and ``args``, the caller's channel and a call
  id; the handler runs in its own task (a slow call never holds up the receive
  loop) and its result, or its :class:`~fc25_denoise.api.ApiError`, goes back to
  the caller as ``live.reply``;
* a *notice* (any other type, e.g. ``live.revoke``): handed to ``on_notice``,
  nothing is sent back.

:meth:`NodeLink.call` waits at most ``timeout`` seconds for the reply; a process
that does not answer (it hangs, or it died and nobody reads its channel) gives
503 with a clear message, never a hang. Messages are plain dicts of str, int,
float, bool, None, lists and dicts: what every channel layer can carry.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from channels.layers import BaseChannelLayer

from fc25_denoise.api import ApiError, BadRequest, Conflict, Forbidden, NotFound, TooMany

from .aiotasks import cancel_within

logger = logging.getLogger(__name__)

CLOSE_WAIT_S = 2.0
"""How long :meth:`NodeLink.close` waits for its cancelled tasks."""
CALL = "live.call"
REPLY = "live.reply"

Handler = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]
"""Serves one call: ``(op, args) -> result``; raises ApiError to answer with an error."""
Notice = Callable[[dict[str, Any]], Awaitable[None]]

LOGGED_IDS = ("session_id", "user_id", "broadcaster_id", "listener_id", "listen_id")
"""The fields of a notice or of a call's args that its log lines name. Only these: the
rest may hold an SDP (its ICE credentials) or a login's tag, a per-login secret."""


def _ids(fields: object) -> str:
    """`` (session_id=… user_id=…)``: the :data:`LOGGED_IDS` that ``fields`` (a notice, or a
    call's args) holds; ``""`` if none."""
    if not isinstance(fields, dict):
        return ""
    found = [
        f"{key}={str(fields[key])[:64]}"
        for key in LOGGED_IDS
        if isinstance(fields.get(key), (int, str, uuid.UUID))
    ]
    return f" ({' '.join(found)})" if found else ""


class NodeUnavailable(ApiError):
    """The process hosting a stream did not answer (503)."""

    def __init__(self, message: str) -> None:
        super().__init__(503, message)


class NoReply(NodeUnavailable):
    """The call was sent, but no answer came in time: the process may still be doing it."""


_ERRORS: dict[int, Callable[[str], ApiError]] = {
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    429: TooMany,
}


def remote_error(status: int, message: str, errors: dict[str, list[str]] | None) -> ApiError:
    """The error a remote handler answered with, as the class a local one raises for that
    status: callers catch :class:`~fc25_denoise.api.TooMany` (a full process: the next is
    tried) or :class:`~fc25_denoise.api.NotFound` alike wherever the work ran."""
    if status == 400:
        return BadRequest(message, errors)
    make = _ERRORS.get(status)
    return ApiError(status, message, errors) if make is None else make(message)


class NodeLink:
    """This process's end of the process-to-process channel.

    Owns its receive loop and the tasks serving calls; :meth:`close` stops them.
    All methods run on the server's event loop.
    """

    def __init__(self, layer: BaseChannelLayer, handler: Handler, on_notice: Notice) -> None:
        self._layer = layer
        self._handler = handler
        self._on_notice = on_notice
        self._channel: str | None = None
        self._receiver: asyncio.Task[None] | None = None
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._serving: set[asyncio.Task[None]] = set()
        self._unwinding: set[asyncio.Task[Any]] = set()
        """Cancelled tasks still unwinding after :meth:`close` (kept referenced)."""

    async def channel(self) -> str:
        """This process's channel name (created, with its receive loop, on first use)."""
        if self._channel is None:
            # The layer's default prefix on purpose: channels-redis serves all of a
            # process's "specific." channels from one receive loop; a channel with
            # another prefix would hold that loop's lock and stall other receives.
            self._channel = await self._layer.new_channel()
            self._receiver = asyncio.ensure_future(self._receive(self._channel))
        return self._channel

    @property
    def channel_name(self) -> str | None:
        """The channel if it was created, else None."""
        return self._channel

    async def call(
        self, channel: str, op: str, args: dict[str, Any], timeout: float, about: str = ""
    ) -> dict[str, Any]:
        """Ask the process reading ``channel`` to run ``op`` and return its result.

        ``about`` prefixes this call's log lines (``[stream <id> user=<name>]``).

        Raises:
            ApiError: the remote handler's error, with its status and message, as the
            subclass a local handler raises for that status (:func:`remote_error`).
            NodeUnavailable: its channel is full, or the channel layer cannot be reached
            (the call was not delivered).
            NoReply: delivered, but no reply within ``timeout`` seconds.
        """
        me = await self.channel()
        call_id = uuid.uuid4().hex
        reply: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[call_id] = reply
        message = {"type": CALL, "op": op, "args": args, "reply_to": me, "call_id": call_id}
        tag = f"{about} " if about else ""
        sent = False
        try:
            await self._layer.send(channel, message)
            sent = True
            answer = await asyncio.wait_for(reply, timeout)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # no reply in time, a full channel, Redis unreachable
            logger.warning("%sserver process %s did not answer %r: %r", tag, channel, op, exc)
            kind = NoReply if sent else NodeUnavailable
            raise kind(
                "The server process hosting this stream is not answering; try again shortly."
            ) from None
        finally:
            self._pending.pop(call_id, None)
        if not answer.get("ok"):
            raise remote_error(
                int(answer.get("status", 500)),
                str(answer.get("error", "The hosting server process failed.")),
                answer.get("errors"),
            )
        result = answer.get("result")
        return result if isinstance(result, dict) else {}

    async def notify(self, channel: str, message: dict[str, Any]) -> None:
        """Send ``message`` (a notice with a ``type``) without waiting for anything."""
        await self._layer.send(channel, message)

    async def _receive(self, channel: str) -> None:
        while True:
            try:
                message = await self._layer.receive(channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                # Redis restarted or unreachable: keep serving once it is back.
                logger.exception("process channel %s failed; retrying", channel)
                await asyncio.sleep(1.0)
                continue
            self._dispatch(message)

    def _dispatch(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == REPLY:
            future = self._pending.get(str(message.get("call_id")))
            if future is not None and not future.done():
                future.set_result(message)
            return
        coro = self._serve(message) if kind == CALL else self._notice(message)
        task = asyncio.ensure_future(coro)
        self._serving.add(task)
        task.add_done_callback(self._serving.discard)

    async def _notice(self, message: dict[str, Any]) -> None:
        try:
            await self._on_notice(message)
        except Exception:
            logger.exception("bad process notice %r%s", message.get("type"), _ids(message))

    async def _serve(self, message: dict[str, Any]) -> None:
        op = str(message.get("op"))
        reply: dict[str, Any] = {"type": REPLY, "call_id": message.get("call_id")}
        try:
            args = message.get("args")
            result = await self._handler(op, args if isinstance(args, dict) else {})
            reply.update(ok=True, result=result)
        except ApiError as exc:
            reply.update(ok=False, status=exc.status, error=exc.message, errors=exc.errors)
        except Exception:
            logger.exception("forwarded %r%s failed", op, _ids(message.get("args")))
            reply.update(ok=False, status=500, error="The hosting server process failed.")
        reply_to = message.get("reply_to")
        if isinstance(reply_to, str) and reply_to:
            try:
                await self._layer.send(reply_to, reply)
            except Exception:
                logger.exception("could not answer forwarded %r%s", op, _ids(message.get("args")))

    async def close(self) -> None:
        """Stop receiving and cancel calls being served (idempotent).

        Waits ``CLOSE_WAIT_S`` at most: a receive cancelled inside the Redis client's
        blocking pop has been seen to never finish, and shutdown must not hang on it.
        """
        tasks = [self._receiver, *self._serving]
        stuck = await cancel_within(tasks, CLOSE_WAIT_S, self._unwinding)
        if stuck:
            logger.warning("%d channel tasks did not stop within %gs", stuck, CLOSE_WAIT_S)
        self._receiver = None
        for future in self._pending.values():
            if not future.done():
                future.cancel()
