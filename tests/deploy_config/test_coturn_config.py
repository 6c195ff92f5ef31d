"""deploy/infra/coturn.sh's coturn config. Anyone who registers gets a TURN credential, so
the relay reaches the app nodes only (this host's own addresses, its NAT address, or those
named): every other peer, public or private, IPv4 or IPv6, is denied. It relays UDP only,
caps each allocation's bandwidth (FC25_TURN_MAX_BPS) and allocations per user and in all
(FC25_TURN_USER_QUOTA, FC25_TURN_TOTAL_QUOTA).

The config comes from ``coturn.sh --print-config``. With Debian's coturn installed
(``turnserver`` on PATH) the last test also starts turnserver with it and checks, through a
TURN client, that forbidden and public peers get 403, this host's address is relayed to,
and the quotas give 486 (counted per app user across credentials).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
from aioice import stun
from aioice.turn import TurnClientUdpProtocol

from streams.ice import turn_credential
from tests.deploy.stack import read_env
from tests.servers import ROOT

SCRIPT = ROOT / "deploy" / "infra" / "coturn.sh"
DEPLOY_ENV = ROOT / "scripts" / "deploy-env.sh"
SECRET = "test-static-auth-secret"
BASE_ENV = {
    "FC25_TURN_PORT": "3478",
    "FC25_TURN_MIN_PORT": "49160",
    "FC25_TURN_MAX_PORT": "59999",
    "FC25_TURN_SECRET": SECRET,
    "FC25_DOMAIN": "voice.example.org",
}

# Peers a TURN user must never reach (one or more per range the review named, and the
# IPv6 forms that embed an IPv4 address).
FORBIDDEN = [
    "0.1.2.3",
    "10.0.0.1",
    "10.255.255.254",
    "100.64.0.1",
    "100.127.255.254",
    "127.0.0.1",
    "127.1.2.3",
    "169.254.169.254",
    "169.254.0.1",
    "172.16.0.1",
    "172.31.255.254",
    "192.0.0.170",
    "192.168.0.1",
    "192.168.255.254",
    "198.18.0.1",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    "::1",
    "::2",
    "::a00:1",
    "::7f00:1",
    "::a9fe:a9fe",
    "::ffff:ffff",
    "::8.8.8.8",
    "::ffff:10.0.0.1",
    "::ffff:127.0.0.1",
    "::ffff:169.254.169.254",
    "::ffff:0:a00:1",
    "64:ff9b::a9fe:a9fe",
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",
    "2002:a00:1::1",
    "fc00::1",
    "fd00::2",
    "fd12:3456:789a::1",
    "fe80::1",
    "febf::1",
    "fec0::1",
    "ff02::1",
]
PUBLIC = [
    "1.1.1.1",
    "8.8.8.8",
    "11.0.0.1",
    "100.128.0.1",
    "169.255.0.1",
    "172.32.0.1",
    "192.169.0.1",
    "2606:4700:4700::1111",
    "2a00:1450:4001::1",
]


def run_script(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FC25_")}
    return subprocess.run(
        ["sh", str(SCRIPT), "--print-config"],
        env={**clean, **BASE_ENV, **env},
        capture_output=True,
        text=True,
        timeout=30,
    )


def generate(**env: str) -> list[str]:
    done = run_script(env)
    assert done.returncode == 0, done.stderr
    return [line.strip() for line in done.stdout.splitlines()]


def values(lines: list[str], name: str) -> list[str]:
    return [line.split("=", 1)[1] for line in lines if line.startswith(f"{name}=")]


Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def bounds(entry: str) -> tuple[Address, Address]:
    first, _, last = entry.partition("-")
    return ipaddress.ip_address(first), ipaddress.ip_address(last or first)


def matches(entries: list[str], address: str) -> bool:
    """coturn's test: ``address`` lies between the bounds of one of ``entries``."""
    peer = ipaddress.ip_address(address)
    for entry in entries:
        low, high = bounds(entry)
        if low.version == peer.version and int(low) <= int(peer) <= int(high):
            return True
    return False


def test_every_peer_but_the_app_nodes_is_denied() -> None:
    lines = generate(FC25_TURN_ALLOWED_PEER_IPS="203.0.113.7")
    denied = values(lines, "denied-peer-ip")
    assert [peer for peer in FORBIDDEN + PUBLIC if not matches(denied, peer)] == []
    # All of IPv4 and IPv6 but :: (which coturn refuses anyway), whole prefixes each.
    v6 = [bounds(e) for e in denied if ":" in e]
    assert sum(int(high) - int(low) + 1 for low, high in v6) == 2**128 - 1
    assert values(lines, "allowed-peer-ip") == ["203.0.113.7"]  # checked before the denials
    assert "no-multicast-peers" in lines
    assert "allow-loopback-peers" not in lines


def test_the_bandwidth_per_allocation_is_capped() -> None:
    assert values(generate(), "max-bps") == ["64000"]
    assert values(generate(FC25_TURN_MAX_BPS="20000"), "max-bps") == ["20000"]
    bad = run_script({"FC25_TURN_MAX_BPS": "fast"})
    assert bad.returncode != 0 and "whole numbers" in bad.stderr


def test_deny_ranges_are_whole_prefixes() -> None:
    """coturn 4.6 (Debian's) reads first-last ranges only, compares IPv6 bounds byte by byte
    (right for whole prefixes only) and reads a lower bound of :: as none at all, which then
    matches every IPv4 peer too."""
    for entry in values(generate(), "denied-peer-ip"):
        assert "/" not in entry, entry
        low, high = bounds(entry)
        assert low.version == high.version and int(low) <= int(high), entry
        networks = list(ipaddress.summarize_address_range(low, high))
        assert len(networks) == 1, entry
        assert low != ipaddress.IPv6Address("::"), entry


def test_udp_relay_only_and_default_quotas() -> None:
    lines = generate()
    assert "no-tcp-relay" in lines
    assert values(lines, "user-quota") == ["16"]
    assert values(lines, "total-quota") == ["4000"]
    assert "use-auth-secret" in lines and values(lines, "static-auth-secret") == [SECRET]


def test_quotas_from_the_environment() -> None:
    lines = generate(FC25_TURN_USER_QUOTA="3", FC25_TURN_TOTAL_QUOTA="250")
    assert values(lines, "user-quota") == ["3"]
    assert values(lines, "total-quota") == ["250"]
    for bad in ("ten", "-1", "5 "):
        done = run_script({"FC25_TURN_TOTAL_QUOTA": bad})
        assert done.returncode != 0 and "whole numbers" in done.stderr, bad


def test_allowed_peers_are_this_hosts_addresses_or_the_override() -> None:
    allowed = values(generate(), "allowed-peer-ip")
    hostname = shutil.which("hostname")
    own = []
    if hostname:
        own = subprocess.run([hostname, "-I"], capture_output=True, text=True).stdout.split()
    assert allowed == own
    assert not any(ipaddress.ip_address(peer).is_loopback for peer in allowed)

    lines = generate(FC25_TURN_ALLOWED_PEER_IPS="203.0.113.7, 10.1.2.3 fd00::5")
    assert values(lines, "allowed-peer-ip") == ["203.0.113.7", "10.1.2.3", "fd00::5"]
    # This host's public address behind NAT, which the nodes' answers name, too.
    lines = generate(FC25_PUBLIC_IP="198.51.100.4", FC25_TURN_EXTERNAL_IP="198.51.100.5")
    assert values(lines, "allowed-peer-ip") == [*own, "198.51.100.4", "198.51.100.5"]


def test_deploy_env_relay_range_is_wide_and_quota_fits(tmp_path: Path) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FC25_")}
    path = tmp_path / ".env"
    subprocess.run(["bash", str(DEPLOY_ENV), str(path)], env=clean, check=True, timeout=30)
    env = read_env(path)
    ports = int(env["FC25_TURN_MAX_PORT"]) - int(env["FC25_TURN_MIN_PORT"]) + 1
    assert ports >= 10_000
    lines = generate(FC25_TURN_MIN_PORT=env["FC25_TURN_MIN_PORT"])
    # The total quota, not the port pool, is what runs out first.
    assert int(values(lines, "total-quota")[0]) < ports


# ---- turnserver itself (Debian's coturn), when installed ----


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Receiver(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.got: asyncio.Queue[bytes] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.got.put_nowait(data)


async def allocate(port: int, user_id: int, ttl: int) -> TurnClientUdpProtocol:
    """A TURN allocation on 127.0.0.1:``port`` with the app's credential for ``user_id``."""
    username, password = turn_credential(SECRET, user_id, ttl, time.time())
    loop = asyncio.get_running_loop()
    _, client = await loop.create_datagram_endpoint(
        lambda: TurnClientUdpProtocol(
            ("127.0.0.1", port),
            username=username,
            password=password,
            lifetime=600,
            channel_refresh_time=500,
        ),
        remote_addr=("127.0.0.1", port),
    )
    try:
        await client.connect()
    except BaseException:
        client.transport.close()
        raise
    return client


async def refused(coro: object) -> int | None:
    try:
        await coro  # type: ignore[misc]
    except stun.TransactionFailed as failed:
        return failed.response.error_code
    return None


@pytest.mark.skipif(shutil.which("turnserver") is None, reason="coturn is not installed")
async def test_turnserver_enforces_the_config(tmp_path: Path) -> None:
    port = free_udp_port()
    low = 50_000 + port % 9_000
    lines = generate(
        FC25_TURN_PORT=str(port),
        FC25_TURN_MIN_PORT=str(low),
        FC25_TURN_MAX_PORT=str(low + 40),
        FC25_TURN_USER_QUOTA="2",
        FC25_TURN_TOTAL_QUOTA="3",
    )
    conf = tmp_path / "turnserver.conf"
    conf.write_text("\n".join(lines) + "\n")
    log = tmp_path / "turnserver.log"
    with log.open("w") as out:
        server = await asyncio.create_subprocess_exec(
            *("turnserver", "-c", str(conf), "--pidfile", str(tmp_path / "pid")),
            *("--userdb", str(tmp_path / "turndb")),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    clients: list[TurnClientUdpProtocol] = []
    try:
        deadline = time.monotonic() + 20
        while "Total General servers" not in log.read_text():
            assert server.returncode is None and time.monotonic() < deadline, log.read_text()
            await asyncio.sleep(0.1)
        text = log.read_text()
        assert "Wrong address" not in text and "Bad configuration" not in text, text
        for entry in values(lines, "denied-peer-ip"):
            assert f"Black listing: {entry}\n" in text, entry

        # Relaying: forbidden and public IPv4 peers refused, this host's own address
        # relayed to.
        first = await allocate(port, 7, 3600)
        clients.append(first)
        channel = 0x4000
        for peer in [p for p in FORBIDDEN + PUBLIC if ipaddress.ip_address(p).version == 4]:
            code = await refused(first.channel_bind(channel, (peer, 9)))
            assert code == 403, (peer, code)
            channel += 1
        own = [p for p in values(lines, "allowed-peer-ip") if ipaddress.ip_address(p).version == 4]
        if own:
            loop = asyncio.get_running_loop()
            sink, receiver = await loop.create_datagram_endpoint(Receiver, local_addr=(own[0], 0))
            try:
                await first.send_data(b"relayed", sink.get_extra_info("sockname")[:2])
                assert await asyncio.wait_for(receiver.got.get(), 5) == b"relayed"
            finally:
                sink.close()

        # Quotas: per app user across its credentials (user 7 again, another expiry), then
        # for everyone.
        clients.append(await allocate(port, 7, 3601))
        assert await refused(allocate(port, 7, 3602)) == 486
        clients.append(await allocate(port, 8, 3600))
        assert await refused(allocate(port, 9, 3600)) == 486
    finally:
        for client in clients:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.delete(), 2)
            client.transport.close()
        server.terminate()
        try:
            await asyncio.wait_for(server.wait(), 10)
        except TimeoutError:
            server.kill()
            await server.wait()


def test_no_app_node_to_relay_to_stops_the_start() -> None:
    done = run_script({"FC25_TURN_ALLOWED_PEER_IPS": " , "})
    assert done.returncode == 2 and "FC25_TURN_ALLOWED_PEER_IPS" in done.stderr
