"""On a public deployment the server tries only the ICE candidates it should reach.

The server sends STUN checks to every candidate address an offer names: a client could
name 127.0.0.1 or an internal network and have the server probe them with UDP. With
``FC25_PUBLIC_URL`` set (``ICE_PRIVATE_PEERS`` off) candidates whose address is not a
global one are dropped before the offer is applied, except the TURN servers' own; a LAN
or one machine keeps them all.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket

import pytest

from streams.webrtc.candidates import (
    host_addresses,
    reachable_candidates,
    trusted_peers,
    turn_addresses,
)
from tests.live.access_helpers import tone
from tests.live.conftest import ArrayTrack
from tests.rtc import client_pc

pytestmark = pytest.mark.django_db(transaction=True)

KEPT = ["8.8.8.8", "2001:4860:4860::8888"]
DROPPED = [
    "127.0.0.1",
    "10.1.2.3",
    "172.16.0.9",
    "192.168.1.20",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",
    "224.0.0.251",
    "::1",
    "fe80::1",
    "fd00::2",
    "::ffff:127.0.0.1",
    "ff02::1",
    "6b8a1c3e-7d1f-4d55-9f0b-2f8e3a1b9c0d.local",
    "internal.example.org",
    # IPv6 forms that wrap an IPv4 address, or reach private networks through a gateway:
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "64:ff9b:1::1",  # local-use NAT64
    "2002:a00:1::1",  # 6to4 of 10.0.0.1
    "::ffff:0:a00:1",  # IPv4-translated
    "::a00:1",  # IPv4-compatible
    "fec0::1",  # site-local
    "::ffff:224.0.0.1",  # multicast, IPv4-mapped
    "2001:0:4136:e378:8000:63bf:f5ff:fffe",  # Teredo whose client is 10.0.0.1
    "192.88.99.1",  # the 6to4 relay anycast
]


def candidate(address: str, port: int = 9) -> str:
    return f"a=candidate:1 1 udp 2130706431 {address} {port} typ host"


def test_only_global_addresses_and_the_turn_servers_are_kept():
    lines = ["v=0", "m=audio 9 UDP/TLS/RTP/SAVPF 111"]
    lines += [candidate(a) for a in KEPT + DROPPED]
    lines += ["a=end-of-candidates", ""]
    sdp, dropped = reachable_candidates("\r\n".join(lines), frozenset({"127.0.0.1"}))
    assert dropped == DROPPED[1:]  # 127.0.0.1 is the (trusted) TURN server here
    assert candidate("127.0.0.1") in sdp and all(candidate(a) in sdp for a in KEPT)
    assert sdp.startswith("v=0\r\nm=audio") and sdp.endswith(candidate("127.0.0.1") + "\r\n")
    assert "a=end-of-candidates" not in sdp  # a list that lost some is no longer complete
    bare, _ = reachable_candidates("v=0\n" + candidate("10.0.0.1") + "\na=x\n", frozenset())
    assert bare == "v=0\na=x\n"  # bare LF lines are filtered too
    public = "\r\n".join([candidate(a) for a in KEPT] + ["a=end-of-candidates", ""])
    assert reachable_candidates(public, frozenset()) == (public, [])  # nothing dropped: as it was


def test_allowed_networks_are_kept():
    lines = [candidate("10.0.5.7"), candidate("10.0.6.1")]
    allowed = (ipaddress.ip_network("10.0.5.0/24"),)
    sdp, dropped = reachable_candidates("\n".join(lines), frozenset(), allowed)
    assert sdp == candidate("10.0.5.7") and dropped == ["10.0.6.1"]


def test_turn_server_addresses_are_the_ip_literals_of_the_urls():
    urls = [
        "turn:127.0.0.1:3478?transport=udp",
        "turns:[::1]:5349?transport=tcp",
        "turn:turn.example.org:3478",
        "stun:10.0.0.1:3478",
    ]
    assert turn_addresses(urls) == {"127.0.0.1", "::1"}
    # This host's own addresses too: the bundled TURN server relays from them.
    assert trusted_peers(urls) == {"127.0.0.1", "::1"} | host_addresses()
    assert not any(a.startswith("127.") or a == "::1" for a in host_addresses())


async def stun_checks_to(alice, settings, private_peers: bool) -> int:
    """Go live with an offer naming a local UDP socket as a candidate; how many packets
    the server sends it."""
    settings.ICE_PRIVATE_PEERS = private_peers
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    probe.setblocking(False)
    try:
        pc = client_pc()
        alice.pcs.append(pc)
        pc.addTrack(ArrayTrack(tone(10.0)))
        await pc.setLocalDescription(await pc.createOffer())
        port = probe.getsockname()[1]
        sdp = pc.localDescription.sdp.replace(
            "a=end-of-candidates", candidate("127.0.0.1", port) + "\r\na=end-of-candidates"
        )
        resp = await alice.call("post", "/api/webrtc/offer/", {"sdp": sdp, "type": "offer"})
        assert resp.status_code == 200, resp.content
        received = 0
        for _ in range(30):  # aioice checks every candidate pair within a second or two
            await asyncio.sleep(0.1)
            try:
                while probe.recv(2048):
                    received += 1
            except BlockingIOError:
                pass
            if received:
                break
        await alice.call("post", "/api/streams/stop/")
        return received
    finally:
        probe.close()


async def test_a_public_server_sends_nothing_to_a_loopback_candidate(clients, hub, settings):
    settings.DENOISE_MODEL = "identity"
    alice = clients[0]
    assert await stun_checks_to(alice, settings, private_peers=True) > 0  # the control
    assert await stun_checks_to(alice, settings, private_peers=False) == 0
