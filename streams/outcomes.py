"""What the live hub's requests return, and the live settings change they apply.

Plain values, shared by :mod:`streams.host` (which makes them) and :mod:`streams.hub`
(which also rebuilds them from another process's answer).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from aiortc import RTCSessionDescription

from .webrtc.levels import Level
from .webrtc.session import BroadcastSession


@dataclass(frozen=True)
class Started:
    """A stream went live: its session and the answer to the broadcaster's offer."""

    session_id: uuid.UUID
    answer: RTCSessionDescription


@dataclass(frozen=True)
class Listening:
    """A listener was connected: its connection id, the answer and the level it hears."""

    session_id: uuid.UUID
    listen_id: uuid.UUID
    answer: RTCSessionDescription
    level: Level


@dataclass(frozen=True)
class Stopped:
    """A stream ended: its recording (None: nothing recorded or saved), length and counters."""

    recording_id: int | None
    duration: float
    stats: dict[str, int]


@dataclass(frozen=True)
class LiveChange:
    """A change of the settings a stream takes while it runs (None: left as it is)."""

    atten_lim_db: float | None = None
    share_raw: bool | None = None

    def then(self, later: LiveChange) -> LiveChange:
        """This change followed by ``later``."""
        return LiveChange(
            self.atten_lim_db if later.atten_lim_db is None else later.atten_lim_db,
            self.share_raw if later.share_raw is None else later.share_raw,
        )

    def apply_to(self, session: BroadcastSession) -> None:
        """Give ``session`` the values this change sets (on the loop, from its next frame)."""
        session.settings_seq += 1
        if self.atten_lim_db is not None:
            session.set_atten_lim(self.atten_lim_db)  # the engine applies it on its next hop
        if self.share_raw is not None:
            session.share_raw = self.share_raw  # every later raw request is checked against it


def answer_of(sdp: object) -> RTCSessionDescription:
    return RTCSessionDescription(sdp=str(sdp), type="answer")
