"""What a live session is made of and leaves behind: identities, targets, results, logs.

Plain values shared by :mod:`.session`, :mod:`.listeners` and the hub (no behaviour
beyond logging).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiortc import RTCPeerConnection

from .fanout import PacketTrack
from .levels import Level


class StreamLog(logging.LoggerAdapter[logging.Logger]):
    """Prefixes every record with the stream and user it is about."""

    def process(
        self, msg: Any, kwargs: MutableMapping[str, Any]
    ) -> tuple[Any, MutableMapping[str, Any]]:
        extra = self.extra or {}
        return f"[stream {extra['stream']} user={extra['user']}] {msg}", kwargs


@dataclass(frozen=True)
class StreamIdentity:
    """Which stream a session is, and whose."""

    session_id: uuid.UUID
    user_id: int
    username: str


KeepFigures = Callable[[float, list[float], float], bool]
"""(Worker thread.) Keeps a live recording's figures so far beside its spool: the seconds
of gaps, the dB removed in each second, the attenuation limit now; whether they were
kept. Never raises."""


@dataclass(frozen=True)
class SpoolTarget:
    """Where a session records: the cleaned WAV, the raw one (None: not kept), and what
    keeps its figures beside them while it runs (None: nothing does;
    :mod:`.figures`)."""

    cleaned: Path
    raw: Path | None
    keep_figures: KeepFigures | None = None


@dataclass(frozen=True)
class SessionResult:
    """What a finished session leaves behind."""

    session_id: uuid.UUID
    path: Path
    duration: float
    reason: str
    recording_id: int | None = None
    stats: dict[str, int] = dataclasses.field(default_factory=dict)
    gap_seconds: float = 0.0
    """Recorded audio lost to a slow spool disk (replaced by silence)."""
    db_removed: list[float] = dataclasses.field(default_factory=list)
    """dB of noise removed in each second of the stream (telemetry's figure)."""


class SessionClosed(Exception):
    """The session has stopped; no listener can join."""


@dataclass
class Listener:
    """One listener connection: who listens, over which peer connection and track."""

    listen_id: uuid.UUID
    user_id: int
    pc: RTCPeerConnection
    track: PacketTrack
    level: Level = "full"
    confirmed: bool = False
    """Access checked once connected (see ``BroadcastSession.confirm_listener``)."""
    watchdog: asyncio.Task[None] | None = None
    """Set once the offer is answered (then the connect timeout runs)."""
    login: str | None = None
    """The name of the login it was opened from (:func:`users.logins.session_name`):
    logging out ends that login's listens only, not the user's other devices'."""


Telemetry = Callable[[list[int], dict[str, Any]], Awaitable[None]]
"""``(user ids, event)``: sends a stream's ``telemetry`` event to those users."""

ListenerEnded = Callable[[int, uuid.UUID, str], Awaitable[None]]
"""``(listener user id, listen_id, reason)``: told when the server ended a listener."""
