"""Requests forwarded from other server processes, run by this process's hub.

:func:`serve` is the :class:`~streams.link.NodeLink` handler: it decodes a
call's arguments, runs the hub's ``*_here`` method (which raises
:class:`~fc25_denoise.api.ApiError` exactly as for a local request) and encodes
the result as plain values for the channel layer.
"""

from __future__ import annotations

import functools
import uuid
from typing import Any, Protocol

from aiortc import RTCSessionDescription

from fc25_denoise.api import BadRequest
from users.models import User

from .dbtask import db
from .webrtc.levels import Level, parse_level


class _Answered(Protocol):
    @property
    def session_id(self) -> uuid.UUID: ...
    @property
    def answer(self) -> RTCSessionDescription: ...


class _Listened(_Answered, Protocol):
    @property
    def listen_id(self) -> uuid.UUID: ...
    @property
    def level(self) -> Level: ...


class _Ended(Protocol):
    @property
    def recording_id(self) -> int | None: ...
    @property
    def duration(self) -> float: ...
    @property
    def stats(self) -> dict[str, int]: ...


class Host(Protocol):
    """What a hub does for requests forwarded to it (see :class:`streams.hub.LiveHub`)."""

    async def start_here(self, user: User, offer: RTCSessionDescription) -> _Answered: ...
    async def listen_here(
        self,
        broadcaster_id: int,
        listener_id: int,
        offer: RTCSessionDescription,
        level: Level,
        login: str | None,
    ) -> _Listened: ...
    async def stop_here(self, user_id: int, reason: str) -> _Ended: ...
    def ending_here(self, session_id: uuid.UUID) -> bool: ...
    async def settings_here(
        self, user_id: int, atten_lim_db: float | None, share_raw: bool | None
    ) -> None: ...
    async def level_here(self, broadcaster_id: int, listen_id: uuid.UUID, level: Level) -> None: ...
    async def end_listen_here(self, broadcaster_id: int, listen_id: uuid.UUID) -> None: ...


def _offer(args: dict[str, Any]) -> RTCSessionDescription:
    return RTCSessionDescription(sdp=str(args["sdp"]), type="offer")


async def serve(hub: Host, op: str, args: dict[str, Any]) -> dict[str, Any]:
    """Run forwarded request ``op`` with ``args`` on ``hub``; its result as plain values.

    Raises:
        ApiError: as the hub's method does; BadRequest for an unknown op.
    """
    if op == "start":
        user = await db(functools.partial(User.objects.get, pk=int(args["user_id"])))
        started = await hub.start_here(user, _offer(args))
        return {"session_id": str(started.session_id), "sdp": started.answer.sdp}
    if op == "listen":
        listening = await hub.listen_here(
            int(args["broadcaster_id"]),
            int(args["listener_id"]),
            _offer(args),
            parse_level(args.get("level", "full")),
            None if args.get("login") is None else str(args["login"]),
        )
        return {
            "session_id": str(listening.session_id),
            "listen_id": str(listening.listen_id),
            "sdp": listening.answer.sdp,
            "level": listening.level,
        }
    if op == "stop":
        stopped = await hub.stop_here(int(args["user_id"]), str(args["reason"]))
        return {
            "recording_id": stopped.recording_id,
            "duration": stopped.duration,
            "stats": stopped.stats,
        }
    if op == "ending":
        return {"ending": hub.ending_here(uuid.UUID(str(args["session_id"])))}
    if op == "settings":
        atten = args.get("atten_lim_db")
        share = args.get("share_raw")
        await hub.settings_here(
            int(args["user_id"]),
            None if atten is None else float(atten),
            None if share is None else bool(share),
        )
        return {}
    if op == "level":
        listen_id = uuid.UUID(str(args["listen_id"]))
        await hub.level_here(int(args["broadcaster_id"]), listen_id, parse_level(args["level"]))
        return {}
    if op == "end_listen":
        await hub.end_listen_here(int(args["broadcaster_id"]), uuid.UUID(str(args["listen_id"])))
        return {}
    raise BadRequest(f"Unknown forwarded request {op!r}.")
