"""Peer-connection helpers: offer validation, ICE config, receive-latency tuning."""

from __future__ import annotations

import ipaddress
import logging
import re
from typing import Literal

from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtcrtpreceiver import RTCRtpReceiver
from aiortc.rtp import RtpPacket
from aiortc.sdp import MediaDescription, SessionDescription
from aiortc.utils import uint16_add

from .logs import Log

logger = logging.getLogger(__name__)


MAX_SDP_CHARS = 32_000
REJECTED = "The SDP offer was rejected:"
"""How every error about the offer's content starts (the hub's errors too)."""
_SDP_LINE = re.compile(r"[a-z]=[^\x00-\x08\x0a-\x1f\x7f\x85\u2028\u2029]*")
"""One SDP line (RFC 8866 section 5): a type letter, "=", then no control characters and
none of the line breaks Python's ``splitlines`` (aiortc's parser) knows beyond them: what
is one line here is one line there."""


class OfferError(ValueError):
    """The client's offer is not a usable SDP offer; the message says why."""


Role = Literal["broadcast", "listen"]
"""Which route an offer came to: going live (it sends audio) or listening (it receives)."""

MAX_CANDIDATES = 32
"""ICE candidates an offer may carry (a browser sends a handful per network interface);
aiortc would try to reach every one of them."""
_DIRECTIONS: dict[Role, tuple[str, ...]] = {
    "broadcast": ("sendrecv", "sendonly"),
    "listen": ("recvonly", "sendrecv"),
}
"""The audio directions each route can use: the broadcaster must send audio (else there
is no track), a listener must receive it (its sendrecv is answered sendonly)."""


def parse_offer(sdp: object, type_: object) -> RTCSessionDescription:
    """Validate a client offer (for either route) before it reaches aiortc.

    Raises:
        OfferError: wrong type, or not an offer :func:`check_offer` accepts.
    """
    if type_ != "offer":
        raise OfferError('"type" must be "offer".')
    if not isinstance(sdp, str) or not sdp.strip():
        raise OfferError('"sdp" must be a non-empty string.')
    check_offer(sdp)
    return RTCSessionDescription(sdp=sdp, type="offer")


def check_offer(sdp: str, role: Role | None = None) -> None:
    """Check everything about an offer that can be checked without a peer connection.

    An offer has exactly one media section, audio, with an explicit direction that is not
    ``inactive`` and Opus among its codecs (the only codec the server sends or decodes),
    at most :data:`MAX_CANDIDATES` candidates, and aiortc's parser accepts it. Anything
    more (video, a second audio section, a data channel: no client sends one) would get a
    transceiver, and the one of a section the client sends on a receiver decoding into a
    queue nobody reads. With ``role``, the direction must also suit that route
    (:data:`_DIRECTIONS`). The hub checks again with the role before it reserves a
    stream or registers a listener, so a refused offer leaves no trace (no presence
    event); what only aiortc's negotiation finds is still refused later.

    Raises:
        OfferError: the reason, starting with :data:`REJECTED`.
    """
    if len(sdp) > MAX_SDP_CHARS:
        raise OfferError(f"{REJECTED} it is larger than {MAX_SDP_CHARS} characters.")
    if not sdp.lstrip().startswith("v=0"):
        raise OfferError(f"{REJECTED} it must start with v=0.")
    lines = sdp.strip().replace("\r\n", "\n").split("\n")
    for number, line in enumerate(lines, 1):
        if not _SDP_LINE.fullmatch(line):
            raise OfferError(f"{REJECTED} line {number} is not <type>=<value>.")
    media = [line for line in lines if line.startswith("m=")]
    if not any(line.startswith("m=audio ") for line in media):
        raise OfferError(f"{REJECTED} it has no audio section.")
    if len(media) != 1:
        raise OfferError(
            f"{REJECTED} it has {len(media)} media sections; only one, audio, is accepted."
        )
    candidates = sum(line.startswith("a=candidate:") for line in lines)
    if candidates > MAX_CANDIDATES:
        raise OfferError(
            f"{REJECTED} it has {candidates} ICE candidates; at most {MAX_CANDIDATES} are accepted."
        )
    description = _parse(sdp)
    section = description.media[0]
    _check_section(description, section)
    if role is not None and section.direction not in _DIRECTIONS[role]:
        wanted = " or ".join(f"a={d}" for d in _DIRECTIONS[role])
        raise OfferError(
            f"{REJECTED} its audio section is a={section.direction}; "
            f"{'going live' if role == 'broadcast' else 'listening'} needs {wanted}."
        )


def _parse(sdp: str) -> SessionDescription:
    """aiortc's parse of ``sdp``; whatever its parser trips on (KeyError for
    ``a=setup:bogus``, AssertionError, IndexError for a short ``a=msid``...) becomes an
    OfferError."""
    try:
        description = SessionDescription.parse(sdp)
        for media in description.media:
            description.webrtc_track_id(media)  # setRemoteDescription reads it (a=msid)
        return description
    except Exception as exc:
        detail = f": {exc}" if str(exc) else ""
        raise OfferError(f"{REJECTED} malformed SDP ({type(exc).__name__}{detail}).") from None


def _check_section(description: SessionDescription, section: MediaDescription) -> None:
    """What aiortc would refuse in ``setRemoteDescription`` (its checks for an offer,
    and a BUNDLE group naming a section that is not there, which it does not check)."""
    ice = section.ice
    if ice is None or not ice.usernameFragment or not ice.password:
        raise OfferError(f"{REJECTED} its ICE username fragment or password is missing.")
    if section.dtls is None or not section.dtls.fingerprints:
        raise OfferError(f"{REJECTED} it has no DTLS role or fingerprint (a=setup, a=fingerprint).")
    if not section.rtcp_mux:
        raise OfferError(f"{REJECTED} it does not multiplex RTCP (a=rtcp-mux).")
    if section.direction is None or section.direction == "inactive":
        raise OfferError(
            f"{REJECTED} its audio section is inactive or has no direction "
            "(a=sendrecv, a=sendonly or a=recvonly)."
        )
    if not any(_is_opus(codec, section) for codec in section.rtp.codecs):
        raise OfferError(f"{REJECTED} it offers no Opus codec, the only one the server uses.")
    bundle = [g for g in description.group if g.semantic == "BUNDLE" and g.items]
    if any(group.items != [section.rtp.muxId] for group in bundle):
        raise OfferError(f"{REJECTED} its BUNDLE group names media sections it does not have.")


def _is_opus(codec: RTCRtpCodecParameters, section: MediaDescription) -> bool:
    """``codec`` is Opus as aiortc matches it (name and clock rate), listed on the m= line."""
    return (
        codec.mimeType.lower() == "audio/opus"
        and codec.clockRate == 48_000
        and codec.payloadType in section.fmt
    )


def new_peer_connection(stun_urls: list[str]) -> RTCPeerConnection:
    """A peer connection with the configured STUN servers (none on loopback)."""
    servers = [RTCIceServer(urls=url) for url in stun_urls]
    return RTCPeerConnection(RTCConfiguration(iceServers=servers))


class ArrivalJitterBuffer(JitterBuffer):
    """An audio jitter buffer that hands every packet to the decoder as it arrives.

    aiortc's buffer only knows a frame is complete when a packet with the next
    timestamp arrives, so even at its smallest it holds each audio packet for one
    packet time (20 ms). An Opus packet is a whole frame: nothing to wait for.
    A packet older than (or the same as) the last one released arrived too late
    and is dropped (``late`` counts them); a gap (a lost packet) is not waited for.
    """

    def __init__(self, capacity: int) -> None:
        super().__init__(capacity=capacity)
        self._last: int | None = None
        self.late = 0

    def add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]:
        seq = packet.sequence_number
        if self._last is not None and not 0 < uint16_add(seq, -self._last) < 0x8000:
            self.late += 1
            return False, None
        self._last = seq
        data: bytes = getattr(packet, "_data", packet.payload)  # set by aiortc's depayloader
        return False, JitterFrame(data=data, timestamp=packet.timestamp)


def tune_receive_latency(receiver: RTCRtpReceiver, prefetch: int, log: Log = logger) -> bool:
    """Shrink aiortc's audio jitter buffer (default: 4 packets prefetched, ~80 ms).

    ``prefetch=0``: every packet is released on arrival (:class:`ArrivalJitterBuffer`).
    ``prefetch>=1``: aiortc's buffer with that prefetch; at 1 a packet is released
    when the next one arrives (one packet time later), each further one adds a packet.
    aiortc has no public knob for this, so the receiver's private buffer is
    replaced before any packet arrives. Returns False (and warns on ``log``, the
    stream's logger) if the aiortc version no longer has that attribute, leaving the default.
    """
    attr = "_RTCRtpReceiver__jitter_buffer"
    current = getattr(receiver, attr, None)
    if not isinstance(current, JitterBuffer):
        log.warning("cannot tune aiortc jitter buffer (aiortc internals changed)")
        return False
    buffer = (
        ArrivalJitterBuffer(current.capacity)
        if prefetch == 0
        else JitterBuffer(capacity=current.capacity, prefetch=prefetch)
    )
    setattr(receiver, attr, buffer)
    return True


async def apply_client_offer(
    pc: RTCPeerConnection, offer: RTCSessionDescription
) -> RTCSessionDescription:
    """Apply a client's offer to ``pc`` and return the answer to set.

    aiortc's SDP parser signals bad input with whatever it trips on (KeyError for
    ``a=setup:bogus``, AssertionError for a short ``a=candidate:`` line, IndexError,
    ValueError...). The SDP comes from the client, so any of these is the client's
    fault and becomes a ValueError naming the reason.

    Raises:
        ValueError: the offer cannot be applied or answered.
    """
    try:
        await pc.setRemoteDescription(offer)
        return await pc.createAnswer()
    except ValueError:
        raise
    except Exception as exc:
        detail = f": {exc}" if str(exc) else ""
        raise ValueError(f"malformed SDP ({type(exc).__name__}{detail})") from exc


def ask_ptime(sdp: str, ms: int) -> str:
    """``sdp`` with every audio section asking for ``ms`` ms packets (``a=ptime``,
    RFC 4566): Chromium's Opus encoder then frames at the smallest size of at least
    ``ms`` (10 ms: one model hop per packet). Any ``a=ptime`` already there is replaced."""
    out: list[str] = []
    audio = False
    for line in sdp.split("\r\n"):
        if line.startswith("m="):
            audio = line.startswith("m=audio ")
            out.append(line)
            if audio:
                out.append(f"a=ptime:{ms}")
            continue
        if audio and line.startswith("a=ptime:"):
            continue
        out.append(line)
    return "\r\n".join(out)


def advertise_address(sdp: str, public_ip: str) -> str:
    """Add a copy of every private host candidate carrying ``public_ip`` instead.

    For a server behind a 1:1 NAT (a cloud VM): browsers outside cannot reach its
    interface address, but the same port on its public address reaches the same
    socket. The private candidates stay for clients on the same network.
    ``public_ip`` empty: ``sdp`` unchanged.
    """
    if not public_ip:
        return sdp
    family = ipaddress.ip_address(public_ip).version
    out: list[str] = []
    for line in sdp.split("\r\n"):
        out.append(line)
        fields = line.split(" ")
        if not line.startswith("a=candidate:") or len(fields) < 8 or fields[7] != "host":
            continue
        try:
            address = ipaddress.ip_address(fields[4])
        except ValueError:
            continue
        if address.version == family and not address.is_global and str(address) != public_ip:
            fields[0] += "p"  # a distinct foundation: a different network path
            fields[4] = public_ip
            out.append(" ".join(fields))
    return "\r\n".join(out)
