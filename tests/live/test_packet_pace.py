"""A packet's length read from its own header, and the gate that holds a broadcaster's
packets to real time (:mod:`streams.webrtc.pace`)."""

from __future__ import annotations

import logging

import pytest
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from streams.webrtc.pace import BURST_S, RealTimeGate, packet_seconds

OPUS = RTCRtpCodecParameters(mimeType="audio/opus", clockRate=48000, channels=2)
PCMU = RTCRtpCodecParameters(mimeType="audio/PCMU", clockRate=8000)
G722 = RTCRtpCodecParameters(mimeType="audio/G722", clockRate=8000)


@pytest.mark.parametrize(
    ("payload", "seconds"),
    [
        (bytes([0xFC, 1, 2]), 0.020),  # config 31 (CELT 20 ms), one frame: a browser's packet
        (bytes([0xE8, 1]), 0.005),  # config 29 (CELT 5 ms)
        (bytes([0x78, 1]), 0.020),  # config 15 (hybrid 20 ms), code 0
        (bytes([0x79, 1]), 0.040),  # code 1: two frames
        (bytes([0x7A, 1]), 0.040),  # code 2: two frames of different sizes
        (bytes([0x1B, 2, 0]), 0.120),  # config 3 (SILK 60 ms), code 3 with 2 frames
        (bytes([0x1B, 6, 0]), 0.120),  # 6 frames of 60 ms claim 360 ms: more than Opus allows
        (bytes([0x1B, 0, 0]), 0.020),  # code 3 with no frames: malformed, not free
        (bytes([0x83, 48, 0]), 0.120),  # config 16 (CELT 2.5 ms), code 3 with 48 frames
        (bytes([0x03]), 0.020),  # code 3 without its count byte: unreadable
        (b"", 0.020),  # empty: unreadable
    ],
)
def test_opus_packet_length_comes_from_its_toc(payload, seconds):
    assert packet_seconds(OPUS, payload) == pytest.approx(seconds)


def test_g711_and_g722_packet_length_comes_from_their_byte_rate():
    assert packet_seconds(PCMU, bytes(160)) == pytest.approx(0.020)
    assert packet_seconds(G722, bytes(160)) == pytest.approx(0.020)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_real_time_passes_and_a_faster_sender_is_held_to_it(caplog):
    clock = Clock()
    gate = RealTimeGate(logging.getLogger("t"), clock=clock)
    for _ in range(3000):  # a minute of 20 ms packets, sent in real time
        clock.now += 0.020
        assert gate.admit(0.020)
    assert gate.refused == 0

    caplog.set_level(logging.WARNING)
    admitted = 0
    for _ in range(13 * 500):  # ten seconds of a sender 13 times real time
        clock.now += 0.020 / 13
        admitted += gate.admit(0.020)
    audio = admitted * 0.020
    assert 10.0 <= audio <= 10 * 1.02 + BURST_S + 0.02  # real time, its slack and the burst
    assert gate.refused == 13 * 500 - admitted
    refusals = [r for r in caplog.records if "faster than real time" in r.getMessage()]
    assert 1 <= len(refusals) <= 2  # the first at once, then at most every 10 s


def test_a_burst_after_a_stall_passes():
    clock = Clock()
    gate = RealTimeGate(logging.getLogger("t"), clock=clock)
    while gate.admit(0.020):  # the start's allowance used up
        pass
    refused = gate.refused
    clock.now += 0.8  # the network held 800 ms of packets, then releases them at once
    assert all(gate.admit(0.020) for _ in range(40))
    assert gate.refused == refused
    assert sum(gate.admit(0.020) for _ in range(5)) <= 1  # and hardly more than that
