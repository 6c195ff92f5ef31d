"""Listener fan-out on its own: Opus packetizer, per-listener packet tracks, SDP codec check."""

from __future__ import annotations

import asyncio
import fractions

import av
import numpy as np
import pytest
from aiortc.mediastreams import MediaStreamError

from denoise.frames import frame_to_mono
from streams.webrtc.fanout import MAX_QUEUED, Fanout, OpusPacketizer, PacketTrack, offers_opus
from tests.rtc import client_pc

JOIN_S = 30.0  # liveness bound only


def sine(seconds: float = 1.0, amp: float = 0.3) -> np.ndarray:
    t = np.arange(int(48_000 * seconds)) / 48_000
    return (amp * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


def packet(n: int) -> av.Packet:
    p = av.Packet(bytes([n % 256]) * 4)
    p.pts = n
    return p


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))


def test_packetizer_pts_time_base_and_round_trip() -> None:
    x = sine()
    enc = OpusPacketizer()
    packets = [p for i in range(0, x.size, 960) for p in enc.encode(x[i : i + 960], i)]
    assert packets and all(isinstance(p, av.Packet) for p in packets)
    assert [p.pts for p in packets] == [960 * i for i in range(len(packets))]
    assert all(p.time_base == fractions.Fraction(1, 48_000) for p in packets)
    assert len(packets) >= 45  # about one packet per 20 ms chunk

    dec = av.CodecContext.create("libopus", "r")
    dec.sample_rate = 48_000
    dec.layout = "mono"
    y = np.concatenate([frame_to_mono(f) for p in packets for f in dec.decode(p)])
    assert y.size >= 24_000
    # The codec delays and smears the start: compare the last half second.
    assert rms(y[-24_000:]) == pytest.approx(rms(x[-24_000:]), rel=0.1)


def test_10_ms_packets_step_480_samples_and_decode_back() -> None:
    x = sine()
    enc = OpusPacketizer(10)
    tens = [p for i in range(0, x.size, 480) for p in enc.encode(x[i : i + 480], i)]
    assert [p.pts for p in tens] == [480 * i for i in range(len(tens))]
    assert len(tens) >= 95  # one packet per 10 ms chunk
    split = OpusPacketizer(10)
    pairs = [split.encode(x[i : i + 960], i) for i in range(0, 9600, 960)]
    assert all(len(ps) == 2 for ps in pairs)  # a 20 ms frame: two 10 ms packets
    assert [p.pts for ps in pairs for p in ps] == [480 * k for k in range(20)]

    dec = av.CodecContext.create("libopus", "r")
    dec.sample_rate = 48_000
    dec.layout = "mono"
    frames = [f for p in tens for f in dec.decode(p)]
    assert {f.samples for f in frames} == {480}
    y = np.concatenate([frame_to_mono(f) for f in frames])
    assert rms(y[-24_000:]) == pytest.approx(rms(x[-24_000:]), rel=0.1)


def test_packetizer_refuses_other_durations() -> None:
    with pytest.raises(ValueError):
        OpusPacketizer(5)
    with pytest.raises(ValueError):
        Fanout(40)


def test_encoders_started_later_stamp_the_streams_timeline() -> None:
    """A level's encoder started mid-stream continues the RTP timeline: a listener
    moved to it hears no jump in time."""
    x = sine()
    late = OpusPacketizer()
    start = 48_000 * 7  # the stream's position when someone first chose this level
    stamps = [p.pts for i in range(0, 9600, 960) for p in late.encode(x[i : i + 960], start + i)]
    assert stamps == [start + 960 * k for k in range(len(stamps))] and len(stamps) >= 9


async def test_packet_track_starts_at_the_newest_packet() -> None:
    """Packets queued while the connection was set up are skipped, not sent in a burst
    that would fill the browser's jitter buffer."""
    track = PacketTrack()
    extra = 4
    for n in range(MAX_QUEUED + extra):
        track.offer(packet(n))
    assert track.dropped == extra
    assert (await asyncio.wait_for(track.recv(), JOIN_S)).pts == MAX_QUEUED + extra - 1
    assert track.dropped == extra + MAX_QUEUED - 1
    track.stop()


async def test_packet_track_keeps_the_newest_and_counts_drops() -> None:
    track = PacketTrack()
    track.offer(packet(0))
    assert (await asyncio.wait_for(track.recv(), JOIN_S)).pts == 0  # started
    extra = 4
    for n in range(1, MAX_QUEUED + extra + 1):
        track.offer(packet(n))
    assert track.dropped == extra
    got = [(await asyncio.wait_for(track.recv(), JOIN_S)).pts for _ in range(MAX_QUEUED)]
    assert got == list(range(extra + 1, MAX_QUEUED + extra + 1))
    track.offer(packet(99))  # the queue has room again: nothing dropped
    assert (await track.recv()).pts == 99
    assert track.dropped == extra
    track.stop()


def test_packet_track_holds_the_same_time_with_10_ms_packets() -> None:
    fan = Fanout(10)
    track = fan.subscribe("full")
    for n in range(2 * MAX_QUEUED + 1):
        track.offer(packet(n))
    assert track.dropped == 1  # 60 ms of 10 ms packets fit
    fan.close()


async def test_stop_wakes_a_waiting_recv() -> None:
    track = PacketTrack()
    waiting = asyncio.ensure_future(track.recv())
    for _ in range(3):
        await asyncio.sleep(0)
    assert not waiting.done()  # nothing queued: it waits
    track.stop()
    with pytest.raises(MediaStreamError):
        await asyncio.wait_for(waiting, JOIN_S)
    with pytest.raises(MediaStreamError):
        await track.recv()


async def test_fanout_publishes_to_every_track_until_unsubscribed() -> None:
    fan = Fanout()
    assert not fan.listening
    a, b = fan.subscribe("full"), fan.subscribe("full")
    assert fan.listening and fan.levels() == ["full"]
    fan.publish("full", [packet(0)])
    for track in (a, b):
        assert (await track.recv()).pts == 0  # started: later packets are all sent
    fan.publish("full", [packet(1), packet(2)])
    for track in (a, b):
        assert [(await track.recv()).pts for _ in range(2)] == [1, 2]

    fan.unsubscribe(a)
    assert a.readyState == "ended"
    fan.publish("full", [packet(3)])
    assert (await b.recv()).pts == 3
    with pytest.raises(MediaStreamError):
        await a.recv()

    fan.close()
    assert not fan.listening and b.readyState == "ended"


async def test_fanout_starts_a_fresh_encoder_after_everyone_left() -> None:
    fan = Fanout()
    track = fan.subscribe("full")
    first = fan.encoder("full")
    assert fan.encoder("full") is first
    fan.unsubscribe(track)
    fan.subscribe("full")
    assert fan.encoder("full") is not first
    fan.close()


async def test_a_track_moved_to_another_level_gets_that_levels_packets() -> None:
    fan = Fanout()
    a, b = fan.subscribe("full"), fan.subscribe("light")
    assert sorted(fan.levels()) == ["full", "light"]
    full_encoder = fan.encoder("full")
    fan.move(a, "light")
    assert fan.levels() == ["light"]  # nobody at full: its encoder is let go
    assert fan.encoder("full") is not full_encoder
    fan.publish("light", [packet(5)])
    fan.publish("full", [packet(6)])  # nobody listens there now
    assert [(await t.recv()).pts for t in (a, b)] == [5, 5]
    fan.close()


async def test_offers_opus() -> None:
    head = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
    opus = head + "m=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\na=rtpmap:111 opus/48000/2\r\n"
    pcmu = head + "m=audio 9 UDP/TLS/RTP/SAVPF 0 8\r\na=rtpmap:0 PCMU/8000\r\n"
    assert offers_opus(opus)
    assert not offers_opus(pcmu + "a=rtpmap:8 PCMA/8000\r\n")
    # An Opus rtpmap whose payload type the m= line does not list is not an offer of Opus.
    assert not offers_opus(pcmu + "a=rtpmap:111 opus/48000/2\r\n")

    pc = client_pc()  # a real client offer lists Opus
    pc.addTransceiver("audio", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    assert offers_opus(pc.localDescription.sdp)
    await pc.close()
