"""On a public deployment the server tries only the ICE candidates it should reach.

The server sends STUN checks to every candidate address an offer names: a client could
name 127.0.0.1, an internal network or this host's own address and have the server probe
them with UDP. With ``FC25_PUBLIC_URL`` set (``ICE_PRIVATE_PEERS`` off) candidates whose
address is not a global one are dropped before the offer is applied, except the TURN
servers' own; this host's addresses are kept on the relays' ports only. A LAN or one
machine keeps them all.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket

import pytest

from streams.webrtc.candidates import (
    Trusted,
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


RELAY = 50_000  # a port in the relays' range (Trusted's default: coturn's 49152-65535)
TURN_AT_LOOPBACK = Trusted(turn=frozenset({"127.0.0.1"}))


def candidate(address: str, port: int = RELAY) -> str:
    return f"a=candidate:1 1 udp 2130706431 {address} {port} typ host"


def test_only_global_addresses_and_the_turn_servers_are_kept():
    lines = ["v=0", "m=audio 9 UDP/TLS/RTP/SAVPF 111"]
    lines += [candidate(a) for a in KEPT + DROPPED]
    lines += ["a=end-of-candidates", ""]
    sdp, dropped = reachable_candidates("\r\n".join(lines), TURN_AT_LOOPBACK)
    # 127.0.0.1 is the (trusted) TURN server here; a dropped one is named address:port
    assert dropped == [f"{a}:{RELAY}" for a in DROPPED[1:]]
    assert candidate("127.0.0.1") in sdp and all(candidate(a) in sdp for a in KEPT)
    assert sdp.startswith("v=0\r\nm=audio") and sdp.endswith(candidate("127.0.0.1") + "\r\n")
    assert "a=end-of-candidates" not in sdp  # a list that lost some is no longer complete
    bare, _ = reachable_candidates("v=0\n" + candidate("10.0.0.1") + "\na=x\n", Trusted())
    assert bare == "v=0\na=x\n"  # bare LF lines are filtered too
    public = "\r\n".join([candidate(a) for a in KEPT] + ["a=end-of-candidates", ""])
    assert reachable_candidates(public, Trusted()) == (public, [])  # nothing dropped: as it was


def test_allowed_networks_are_kept():
    lines = [candidate("10.0.5.7"), candidate("10.0.6.1")]
    allowed = (ipaddress.ip_network("10.0.5.0/24"),)
    sdp, dropped = reachable_candidates("\n".join(lines), Trusted(), allowed)
    assert sdp == candidate("10.0.5.7") + "\n" and dropped == [f"10.0.6.1:{RELAY}"]
    any_port, _ = reachable_candidates(candidate("10.0.5.7", 53), Trusted(), allowed)
    assert any_port == candidate("10.0.5.7", 53)  # named by the deployer: any port


def test_this_host_and_private_relays_only_on_the_relay_ports():
    """This host's own address, public or not, reaches its own services off the relays'
    ports (6379, 5432, 53...); a TURN server's private address reaches its network's."""
    own = frozenset({"8.8.4.4", "192.0.2.2"})  # a public and a private address of this host
    trusted = Trusted(turn=frozenset({"10.0.0.9"}), own=own, ports=(49160, 59999))

    def kept(address: str, port: int) -> bool:
        sdp, _ = reachable_candidates(candidate(address, port), trusted)
        return sdp != ""

    for address in ("8.8.4.4", "192.0.2.2", "10.0.0.9"):
        assert kept(address, 49160) and kept(address, 59999), address
        assert not kept(address, 49159) and not kept(address, 60000), address
        assert not kept(address, 6379) and not kept(address, 53), address
    assert not kept("::ffff:8.8.4.4", 6379)  # this host, wrapped in IPv6
    assert not kept("::ffff:8.8.4.4", 50000)  # a wrapped address is never a relay
    assert kept("8.8.8.8", 6379)  # someone else's public address: any port
    bad_port = "a=candidate:1 1 udp 2130706431 192.0.2.2 x typ host"
    assert reachable_candidates(bad_port, trusted)[1] == ["192.0.2.2:x"]
    # This host in an allowed network is still this host: the relay ports only.
    allowed = (ipaddress.ip_network("192.0.2.0/24"),)
    assert reachable_candidates(candidate("192.0.2.2", 22), trusted, allowed)[1] == ["192.0.2.2:22"]
    assert reachable_candidates(candidate("192.0.2.3", 22), trusted, allowed)[1] == []


def test_the_filter_reads_a_candidate_as_aiortc_does():
    """Tabs and the line breaks ``\\n`` alone does not see must not make the filter read
    another candidate than the one aiortc's parser (``splitlines``, ``split``) tries."""
    from aiortc.sdp import SessionDescription

    tabbed = "a=candidate:1\t1\tudp\t2\t10.0.0.1\t22\ttyp\thost x y z 8.8.8.8 50000 q r"
    joined = (
        "a=candidate:1 1 udp 2 8.8.8.8 5000 typ host\u2028"
        "a=candidate:2 1 udp 2 10.0.0.1 22 typ host"
    )
    head = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
    for line in (tabbed, joined):
        sdp, dropped = reachable_candidates(head + line + "\r\n", Trusted())
        assert "10.0.0.1:22" in dropped, (line, dropped)
        tried = SessionDescription.parse(sdp).media[0].ice_candidates
        assert all(c.ip != "10.0.0.1" for c in tried), tried
    # And the offer check refuses those line breaks outright.
    from streams.webrtc.peer import OfferError, check_offer

    for brk in ("\x85", "\u2028", "\u2029"):
        with pytest.raises(OfferError, match="is not <type>=<value>"):
            check_offer(head + f"a=candidate:1 1 udp 2 8.8.8.8 5000 typ host{brk}a=x\r\n")


def test_turn_server_addresses_are_the_ip_literals_of_the_urls():
    urls = [
        "turn:127.0.0.1:3478?transport=udp",
        "turns:[::1]:5349?transport=tcp",
        "turn:turn.example.org:3478",
        "stun:10.0.0.1:3478",
    ]
    assert turn_addresses(urls) == {"127.0.0.1", "::1"}
    # This host's own addresses too: the bundled TURN server relays from them.
    trusted = trusted_peers(urls, ("203.0.113.7", "", "198.51.100.4"), (49160, 59999))
    nat = {"203.0.113.7", "198.51.100.4"}  # FC25_PUBLIC_IP, FC25_TURN_EXTERNAL_IP
    assert trusted.relays == {"127.0.0.1", "::1"} | nat | host_addresses()
    # This host: its interfaces' addresses and those it is reached at through NAT.
    assert trusted.own == nat | host_addresses()
    assert trusted.ports == (49160, 59999)
    assert trusted_peers(urls).own == host_addresses()
    assert not any(a.startswith("127.") or a == "::1" for a in host_addresses())


async def stun_checks_to(alice, settings, private_peers: bool, address: str = "127.0.0.1") -> int:
    """Go live with an offer naming a UDP socket on ``address`` (of this host) as a
    candidate; how many packets the server sends it."""
    settings.ICE_PRIVATE_PEERS = private_peers
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind((address, 0))
    probe.setblocking(False)
    try:
        pc = client_pc()
        alice.pcs.append(pc)
        pc.addTrack(ArrayTrack(tone(10.0)))
        await pc.setLocalDescription(await pc.createOffer())
        port = probe.getsockname()[1]
        sdp = pc.localDescription.sdp.replace(
            "a=end-of-candidates", candidate(address, port) + "\r\na=end-of-candidates"
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


async def test_this_hosts_address_is_reached_on_the_relay_ports_only(clients, hub, settings):
    """A candidate naming this host's own address (where the bundled TURN server relays
    from) gets STUN checks on a port of the relays' range, and none on any other."""
    own = sorted(a for a in host_addresses() if ipaddress.ip_address(a).version == 4)
    if not own:
        pytest.skip("this host has no IPv4 address but loopback")
    settings.DENOISE_MODEL = "identity"
    settings.TURN_URLS = []
    alice = clients[0]
    settings.TURN_RELAY_PORTS = (1024, 65535)  # the control: the probe's port is a relay's
    assert await stun_checks_to(alice, settings, private_peers=False, address=own[0]) > 0
    settings.TURN_RELAY_PORTS = (1, 2)
    assert await stun_checks_to(alice, settings, private_peers=False, address=own[0]) == 0
