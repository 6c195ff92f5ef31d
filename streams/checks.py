"""Checks a live request must pass on the stream's host, before anything is reserved or
changed: the offer suits its role, and a level is one the broadcaster allows."""

from __future__ import annotations

from aiortc import RTCSessionDescription
from django.conf import settings

from fc25_denoise.api import BadRequest, Forbidden

from .webrtc.candidates import reachable_candidates, trusted_peers
from .webrtc.levels import Level
from .webrtc.logs import Log
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


def reachable_offer(offer: RTCSessionDescription, log: Log) -> RTCSessionDescription:
    """``offer`` without the ICE candidates this server must not try to reach, unless
    ``ICE_PRIVATE_PEERS`` (:mod:`~streams.webrtc.candidates`); what is dropped is logged
    through ``log`` (the stream's own). An offer left with no candidate still gets its
    answer: the connection then fails as any unreachable one does."""
    if settings.ICE_PRIVATE_PEERS:
        return offer
    public = (settings.PUBLIC_IP, settings.TURN_EXTERNAL_IP)
    trusted = trusted_peers(settings.TURN_URLS, public, settings.TURN_RELAY_PORTS)
    sdp, dropped = reachable_candidates(offer.sdp, trusted, settings.ICE_ALLOWED_PEERS)
    if not dropped:
        return offer
    log.info("ICE candidates not tried (private, or this host off the relay ports): %s", dropped)
    return RTCSessionDescription(sdp=sdp, type=offer.type)


def check_level(session: BroadcastSession, listener_id: int, level: Level) -> None:
    """``raw`` only while the broadcaster shares it (they may always hear their own).

    Checked against the live session's flag, on the loop, right where the level is
    set: a ``share_raw`` change applied meanwhile cannot be missed.

    Raises:
        Forbidden: ``raw`` not shared.
    """
    if level == "raw" and listener_id != session.user_id and not session.share_raw:
        raise Forbidden("The broadcaster does not share the unprocessed microphone.")
