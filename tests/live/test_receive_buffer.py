"""The server's receive jitter buffer: packets released on arrival, late ones dropped."""

from __future__ import annotations

from aiortc.jitterbuffer import JitterBuffer
from aiortc.rtp import RtpPacket

from streams.webrtc.peer import ArrivalJitterBuffer, tune_receive_latency
from tests.rtc import client_pc


def rtp(seq: int, ts: int) -> RtpPacket:
    p = RtpPacket(payload_type=111, sequence_number=seq, timestamp=ts, payload=b"x")
    p._data = bytes([seq % 256])  # type: ignore[attr-defined]  # aiortc's depayloaded data
    return p


def test_every_packet_is_released_on_arrival() -> None:
    buf = ArrivalJitterBuffer(16)
    released = [buf.add(rtp(seq, seq * 960))[1] for seq in range(5)]
    assert all(f is not None for f in released)
    assert [f.timestamp for f in released if f] == [960 * s for s in range(5)]
    assert [f.data for f in released if f] == [bytes([s]) for s in range(5)]


def test_gaps_are_not_waited_for_and_late_packets_are_dropped() -> None:
    buf = ArrivalJitterBuffer(16)
    assert buf.add(rtp(10, 0))[1] is not None
    assert buf.add(rtp(12, 1920))[1] is not None  # 11 lost (or late): not waited for
    assert buf.add(rtp(11, 960))[1] is None  # arrived after 12: too late
    assert buf.add(rtp(12, 1920))[1] is None  # a duplicate
    assert buf.late == 2
    assert buf.add(rtp(13, 2880))[1] is not None


def test_sequence_numbers_wrap() -> None:
    buf = ArrivalJitterBuffer(16)
    for seq in (65534, 65535, 0, 1):
        assert buf.add(rtp(seq, 0))[1] is not None
    assert buf.late == 0


def test_aiortc_buffer_holds_a_packet_until_the_next_one() -> None:
    """What prefetch=1 costs: one packet time (why 0 uses :class:`ArrivalJitterBuffer`)."""
    buf = JitterBuffer(capacity=16, prefetch=1)
    assert buf.add(rtp(0, 0))[1] is None
    frame = buf.add(rtp(1, 960))[1]
    assert frame is not None and frame.timestamp == 0


async def test_prefetch_chooses_the_buffer() -> None:
    pc = client_pc()
    try:
        receiver = pc.addTransceiver("audio", direction="recvonly").receiver
        attr = "_RTCRtpReceiver__jitter_buffer"
        assert tune_receive_latency(receiver, 0)
        assert isinstance(getattr(receiver, attr), ArrivalJitterBuffer)
        assert tune_receive_latency(receiver, 2)
        held = getattr(receiver, attr)
        assert type(held) is JitterBuffer and held._prefetch == 2
    finally:
        await pc.close()
