"""The ICE candidates of a client's offer that this server may try to reach.

The server sends STUN connectivity checks (and retries) to every candidate address an
offer names. On a public deployment a client could name ``127.0.0.1``, ``10.x`` or
``169.254.169.254`` and have the server probe its own host and networks with UDP, past
the TURN server's deny list. :func:`reachable_candidates` drops the candidates whose
address is not a global unicast one (loopback, private, link-local, unspecified,
multicast, reserved, documentation) and those named by host name (mDNS ``.local`` names
resolve to private addresses; any other name could), except the TURN servers' own
addresses and this host's (:func:`trusted_peers`): a relayed client's candidate is the
relay, which the bundled deployment runs on this host. A browser on the internet reaches
the server through its public (server-reflexive) or relayed candidates, which stay.
``FC25_ICE_PRIVATE_PEERS`` keeps every candidate, for one machine or a LAN (the default
without ``FC25_PUBLIC_URL``).
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Iterable

import ifaddr

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


def trusted_peers(turn_urls: Iterable[str]) -> frozenset[str]:
    """The addresses kept whatever they are: the TURN servers' (:func:`turn_addresses`)
    and this host's own interfaces' (:func:`host_addresses`)."""
    return turn_addresses(turn_urls) | host_addresses()


@functools.cache
def host_addresses() -> frozenset[str]:
    """This host's interface addresses but loopback, read once (no name lookup: a system
    call). Loopback never carries a relay to a browser, and reaches the services bound
    to this host alone."""
    out = set()
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            address = ip.ip if isinstance(ip.ip, str) else ip.ip[0]
            try:
                parsed = ipaddress.ip_address(address)
            except ValueError:
                continue
            if not parsed.is_loopback:
                out.add(str(parsed))
    return frozenset(out)


def reachable_candidates(sdp: str, trusted: frozenset[str]) -> tuple[str, list[str]]:
    """``sdp`` without the ``a=candidate:`` lines whose address the server must not try
    to reach (see the module); returns it and the addresses dropped. Lines that are not
    candidates, and candidates too short to name an address (aiortc's parser refuses
    them later), are kept as they are."""
    kept: list[str] = []
    dropped: list[str] = []
    for line in sdp.split("\n"):  # CRLF or bare LF: a kept line keeps its own ending
        fields = line.split(" ")
        if (
            line.startswith("a=candidate:")
            and len(fields) >= 8
            and not _reachable(fields[4], trusted)
        ):
            dropped.append(fields[4])
            continue
        kept.append(line)
    return "\n".join(kept), dropped


def _reachable(address: str, trusted: frozenset[str]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False  # a host name: an mDNS .local name or any other, resolved to anything
    if str(ip) in trusted:
        return True
    mapped = getattr(ip, "ipv4_mapped", None)
    return bool((mapped or ip).is_global) and not ip.is_multicast
