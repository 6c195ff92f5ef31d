"""The tests' WebRTC clients: peer connections with no ICE servers.

aiortc's default configuration gathers a candidate from Google's public STUN server on
every offer (a DNS lookup and a packet to the internet); the tests' clients and server
share this machine and need host candidates only.
"""

from __future__ import annotations

from aiortc import RTCConfiguration, RTCPeerConnection


def client_pc() -> RTCPeerConnection:
    """A client peer connection that gathers host candidates only."""
    return RTCPeerConnection(RTCConfiguration(iceServers=[]))
