"""FC25_PUBLIC_IP: answers carry the public address beside the interface's own."""

from __future__ import annotations

from streams.webrtc.peer import advertise_address

ANSWER = "\r\n".join(
    [
        "v=0",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111",
        "a=candidate:abc 1 udp 2130706431 10.0.0.5 40001 typ host",
        "a=candidate:def 1 udp 2130706431 fd00::5 40002 typ host",
        "a=candidate:ghi 1 udp 1694498815 198.51.100.1 40003 typ srflx raddr 10.0.0.5 rport 1",
        "a=end-of-candidates",
        "",
    ]
)


def test_private_host_candidates_get_a_public_twin():
    out = advertise_address(ANSWER, "203.0.113.7").split("\r\n")
    assert "a=candidate:abcp 1 udp 2130706431 203.0.113.7 40001 typ host" in out
    assert "a=candidate:abc 1 udp 2130706431 10.0.0.5 40001 typ host" in out  # kept for the LAN
    assert sum("203.0.113.7" in line for line in out) == 1  # not the IPv6 or srflx ones
    assert out[-1] == ""  # still ends with CRLF


def test_unset_changes_nothing():
    assert advertise_address(ANSWER, "") == ANSWER
