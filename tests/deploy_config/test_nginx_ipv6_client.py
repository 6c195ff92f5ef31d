"""nginx counts an IPv6 client by its /64, as the app counts logins (users/throttle.py).

Its request-rate and connection limits had been keyed by the full address: a host given a
/64 (the usual allocation) could send each request from a new address and never meet
them. The key is now the /64's four groups, read from the canonical text of
``$remote_addr``; these tests run Debian's nginx with the rendered config's own ``map``
behind a loopback-only real-IP header, so every form of address reaches the map as nginx
writes it.
"""

from __future__ import annotations

import http.client
import ipaddress
import random
import time
from pathlib import Path

import pytest

from tests.deploy_config.nginx import NGINX, block, directives, free_port, render, serving

needs_nginx = pytest.mark.skipif(NGINX is None, reason="nginx is not installed")

MAP = "map $remote_addr $fc25_client {"


def test_every_limit_counts_the_mapped_client() -> None:
    http_block = directives(block(render(), "http {"))
    zones = [line for line in http_block if line.startswith(("limit_req_zone", "limit_conn_zone"))]
    assert len(zones) == 3  # requests, WebSocket handshakes, open connections
    assert all(line.split()[1] == "$fc25_client" for line in zones), zones


def keys_server(prefix: Path, port: int) -> str:
    """A server answering each request with the client key of the address in its
    ``X-Real-IP`` header (trusted from loopback only, as a test stand-in for a client)."""
    mapping = block(render(), MAP)
    temp = "".join(
        f"    {name}_temp_path {prefix / name};\n"
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""pid {prefix / "nginx.pid"};
error_log stderr warn;
events {{ worker_connections 64; }}
http {{
{temp}    access_log off;
{mapping}
    server {{
        listen 127.0.0.1:{port};
        set_real_ip_from 127.0.0.1;
        real_ip_header X-Real-IP;
        location / {{
            default_type text/plain;
            return 200 "$fc25_client";
        }}
    }}
}}
"""


def expected(address: str) -> str:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    if isinstance(ip, ipaddress.IPv4Address):
        return address
    value = int(ip)
    return ":".join(f"{(value >> (112 - 16 * i)) & 0xFFFF:x}" for i in range(4))


def addresses() -> list[str]:
    """IPv6 addresses with a run of zero groups starting at every place and of every length
    (where nginx writes "::"), single zero groups (written as 0), and a few others."""
    rng = random.Random(7)
    out = ["::", "::1", "1::", "2001:db8::", "2001:db8::1", "fe80::1:2:3:4", "::ffff:192.0.2.7"]
    for start in range(8):
        for length in range(1, 9 - start):
            for _ in range(3):
                groups = [rng.randrange(1, 0x10000) for _ in range(8)]
                groups[start : start + length] = [0] * length
                out.append(
                    str(ipaddress.IPv6Address(b"".join(g.to_bytes(2, "big") for g in groups)))
                )
    return [*out, "192.0.2.1", "198.51.100.200"]


def connected(port: int) -> http.client.HTTPConnection:
    """A connection to ``port`` once nginx listens there (its pid file comes first)."""
    deadline = time.monotonic() + 10
    while True:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            conn.connect()
            return conn
        except ConnectionRefusedError:
            assert time.monotonic() < deadline, "nginx does not listen"
            time.sleep(0.05)


@needs_nginx
def test_every_form_of_an_ipv6_address_is_keyed_by_its_64(tmp_path: Path) -> None:
    for folder in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp_path / folder).mkdir()
    port = free_port()
    wrong = []
    with serving(tmp_path, keys_server(tmp_path, port)):
        conn = connected(port)
        for address in addresses():
            conn.request("GET", "/", headers={"X-Real-IP": address})
            key = conn.getresponse().read().decode()
            if key != expected(address):
                wrong.append((address, key, expected(address)))
        conn.close()
    assert not wrong, wrong


def test_addresses_of_one_64_share_a_key_and_of_two_do_not() -> None:
    """The expectation itself: what the nginx test compares with is the /64."""
    same = ["2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2:a::"]
    assert {expected(a) for a in same} == {"2001:db8:1:2"}
    assert expected("2001:db8:1:3::1") != expected("2001:db8:1:2::1")
    assert expected("::ffff:192.0.2.7") == "192.0.2.7"
