"""Checks a live request must pass on the stream's host, before anything is reserved or
changed: the offer suits its role, and a level is one the broadcaster allows."""

from __future__ import annotations

from aiortc import RTCSessionDescription

from fc25_denoise.api import BadRequest, Forbidden

from .webrtc.levels import Level
from .webrtc.peer import OfferError, Role, check_offer
from .webrtc.session import BroadcastSession


def check_offer_for(offer: RTCSessionDescription, role: Role) -> None:
    """The offer suits ``role`` as far as can be told without a peer connection
    (:func:`~streams.webrtc.peer.check_offer`). Forwarded requests come here without the
    view's check, so it runs here, before a stream is reserved (and friends told it is
    live) or a listener registered.

    Raises:
        BadRequest: the reason.
    """
    try:
        check_offer(offer.sdp, role)
    except OfferError as exc:
        raise BadRequest(str(exc)) from None


def check_level(session: BroadcastSession, listener_id: int, level: Level) -> None:
    """``raw`` only while the broadcaster shares it (they may always hear their own).

    Checked against the live session's flag, on the loop, right where the level is
    set: a ``share_raw`` change applied meanwhile cannot be missed.

    Raises:
        Forbidden: ``raw`` not shared.
    """
    if level == "raw" and listener_id != session.user_id and not session.share_raw:
        raise Forbidden("The broadcaster does not share the unprocessed microphone.")
