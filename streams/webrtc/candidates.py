"""The ICE candidates of a client's offer that this server may try to reach.

The server sends STUN connectivity checks (and retries) to every candidate address an
offer names. On a public deployment a client could name ``127.0.0.1``, ``10.x`` or
``169.254.169.254`` and have the server probe its own host and networks with UDP, past
the TURN server's deny list. :func:`reachable_candidates` drops the candidates whose
address is not a global unicast one (loopback, private, link-local, unspecified,
multicast, reserved, documentation) and those named by host name (mDNS ``.local`` names
resolve to private addresses; any other name could), except the TURN servers' own
addresses and this host's on the relays' ports (:func:`trusted_peers`): a relayed client's
candidate is the relay, which the bundled deployment runs on this host. This host's own
addresses (its interfaces', ``FC25_PUBLIC_IP``, ``FC25_TURN_EXTERNAL_IP``) on any other
port are dropped, public or not, and whatever ``FC25_ICE_ALLOWED_PEERS`` says: they would
reach the services this host runs. (A client behind the same NAT as a home server names
that shared address in its server-reflexive candidate: dropped, it still connects through
the checks it sends itself, or through TURN.) A browser on the internet reaches the
server through its public (server-reflexive) or relayed candidates, which stay.
``FC25_ICE_PRIVATE_PEERS`` keeps every candidate, for one machine or a LAN (the default
without ``FC25_PUBLIC_URL``); ``FC25_ICE_ALLOWED_PEERS`` names more addresses to keep (a
TURN server on a private network named by host name relays from its private address).

An offer that lost a candidate loses its ``a=end-of-candidates`` too: aiortc would take
its list as complete and give up at once if none is left, where the browser's own checks
still let it learn the address they come from (a peer-reflexive candidate).
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass

from aioice.ice import get_host_addresses

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_TURN_HOST = re.compile(r"^turns?:(\[[^\]]+\]|[^:?]+)")
"""The host of a ``turn:``/``turns:`` URL (RFC 7065), an IPv6 literal in brackets."""


def turn_addresses(urls: Iterable[str]) -> frozenset[str]:
    """The IP literals among the hosts of TURN ``urls`` (host names are not resolved: a
    TURN server named by a public name has a global address, which is kept anyway)."""
    out = set()
    for url in urls:
        match = _TURN_HOST.match(url.strip())
        if match is None:
            continue
        host = match.group(1).strip("[]")
        try:
            out.add(str(ipaddress.ip_address(host)))
        except ValueError:
            continue
    return frozenset(out)


@dataclass(frozen=True)
class Trusted:
    """The candidates kept or dropped whatever kind of address they name.

    ``turn``: the TURN servers' address literals; ``own``: this host's own addresses. Both
    are kept on a port in ``ports`` (the relays' range, both ends included); ``own`` is
    dropped on any other port even when public.
    """

    turn: frozenset[str] = frozenset()
    own: frozenset[str] = frozenset()
    ports: tuple[int, int] = (49152, 65535)

    @property
    def relays(self) -> frozenset[str]:
        """Where a relayed candidate may come from: the TURN servers and this host."""
        return self.turn | self.own


def trusted_peers(
    turn_urls: Iterable[str],
    public_ips: Iterable[str] = (),
    ports: tuple[int, int] = (49152, 65535),
) -> Trusted:
    """What :func:`reachable_candidates` trusts: the TURN servers (:func:`turn_addresses`)
    and this host (:func:`host_addresses`, and ``public_ips``, the addresses it is reached
    at through NAT: ``FC25_PUBLIC_IP``, the bundled coturn's ``FC25_TURN_EXTERNAL_IP``) on
    the relays' ``ports``."""
    own = host_addresses() | {str(ipaddress.ip_address(ip)) for ip in public_ips if ip}
    return Trusted(turn=turn_addresses(turn_urls), own=frozenset(own), ports=ports)


@functools.cache
def host_addresses() -> frozenset[str]:
    """This host's addresses as the server's own ICE gathers them (aioice: every interface
    but loopback), read once. Loopback never carries a relay to a browser, and reaches
    the services bound to this host alone."""
    return frozenset(str(ipaddress.ip_address(a)) for a in get_host_addresses(True, True))


def reachable_candidates(
    sdp: str, trusted: Trusted, allowed: tuple[IPNetwork, ...] = ()
) -> tuple[str, list[str]]:
    """``sdp`` without the ``a=candidate:`` lines whose address and port the server must
    not try to reach (see the module), and then without its ``a=end-of-candidates``;
    returns it and the addresses dropped. ``trusted`` says what is kept or dropped for
    the relays and this host; addresses in ``allowed`` networks are kept on any port.
    Other lines, and candidates too short to name an address and port (aiortc's parser
    refuses them later), are kept as they are. A dropped candidate is named
    ``address:port``."""
    kept: list[str] = []
    dropped: list[str] = []
    # Lines and fields split exactly as aiortc's parser splits them (``splitlines``, then
    # ``split`` on any whitespace): a tab, or a line break ``\n`` alone does not see, must
    # not make this filter read another candidate than the one aiortc tries. A kept line
    # keeps its own ending.
    for line in sdp.splitlines(keepends=True):
        fields = line.split()
        if (
            line.startswith("a=candidate:")
            and len(fields) >= 8
            and not _reachable(fields[4], _port(fields[5]), trusted, allowed)
        ):
            dropped.append(f"{fields[4]}:{fields[5]}")
            continue
        kept.append(line)
    if dropped:
        kept = [line for line in kept if not line.startswith("a=end-of-candidates")]
    return "".join(kept), dropped


def _port(field: str) -> int:
    """A candidate's port, or -1 when it is not a number (never in a relay range)."""
    return int(field) if field.isascii() and field.isdigit() else -1


NOT_PEERS = tuple(
    ipaddress.ip_network(net)
    for net in (
        "192.88.99.0/24",  # 6to4 relay anycast (deprecated, still "global")
        "64:ff9b::/96",  # NAT64: reaches IPv4 (private ones too) through a translator
        "64:ff9b:1::/48",  # local-use NAT64
        "::/96",  # IPv4-compatible (deprecated)
        "::ffff:0:0:0/96",  # IPv4-translated
        "fec0::/10",  # site-local (deprecated)
    )
)
"""Addresses ``is_global`` may call global that reach private networks or none: coturn's
deny list has them too (deploy/infra/coturn.sh)."""


def _reachable(address: str, port: int, trusted: Trusted, allowed: tuple[IPNetwork, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False  # a host name: an mDNS .local name or any other, resolved to anything
    name = str(ip)
    relay = name in trusted.turn or name in trusted.own
    if relay and trusted.ports[0] <= port <= trusted.ports[1]:
        return True
    if name in trusted.own:
        return False  # this host, off the relays' ports (allowed networks or not): its services
    if any(ip.version == net.version and ip in net for net in allowed):
        return True
    if isinstance(ip, ipaddress.IPv6Address):
        teredo = ip.teredo
        inner_only = Trusted(own=trusted.own, ports=(1, 0))  # no port: never a relay
        for inner in (ip.ipv4_mapped, ip.sixtofour, teredo[1] if teredo else None):
            if inner is not None and not _reachable(str(inner), port, inner_only, ()):
                return False  # it wraps an IPv4 address the server must not reach
    if any(ip.version == net.version and ip in net for net in NOT_PEERS):
        return False
    return ip.is_global and not ip.is_multicast
