"""Broadcasters' packets are decoded on the codec thread, in batches, to float mono, in order."""

from __future__ import annotations

import asyncio
import fractions
import threading

import av
import numpy as np
import pytest
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from denoise.batching import BatchScheduler
from streams.webrtc.decode import DECODE, BatchedDecoderQueue
from tests.live.access_helpers import listening

OPUS = RTCRtpCodecParameters(mimeType="audio/opus", clockRate=48000, channels=2, payloadType=111)


def opus_packets(seconds: float, freq: float, stereo: bool = True) -> list[JitterFrame]:
    """20 ms Opus packets of a tone, as a browser sends them (stereo-capable codec)."""
    codec = av.CodecContext.create("libopus", "w")
    assert isinstance(codec, av.AudioCodecContext)
    codec.bit_rate, codec.format, codec.sample_rate = 64000, "s16", 48000
    codec.layout = "stereo" if stereo else "mono"
    codec.time_base = fractions.Fraction(1, 48000)
    t = np.arange(int(48000 * seconds)) / 48000
    tone = (0.3 * 32767 * np.sin(2 * np.pi * freq * t)).astype(np.int16)
    out: list[JitterFrame] = []
    for start in range(0, tone.size - 959, 960):
        chunk = tone[start : start + 960]
        data = np.repeat(chunk, 2)[None, :] if stereo else chunk[None, :]
        frame = av.AudioFrame.from_ndarray(data, format="s16", layout=codec.layout.name)
        frame.sample_rate, frame.pts = 48000, start
        for packet in codec.encode(frame):
            out.append(JitterFrame(data=bytes(packet), timestamp=960 * len(out)))
    return out


class RecordingRunner:
    """The real decode runner, noting the thread and size of every batch."""

    def __init__(self) -> None:
        self.batches: list[tuple[str, int]] = []

    def run_batch(self, items):
        self.batches.append((threading.current_thread().name, len(items)))
        return DECODE.run_batch(items)


async def drain(queue: asyncio.Queue) -> list:
    frames = []
    while True:
        frame = await asyncio.wait_for(queue.get(), 5)
        if frame is None:
            return frames
        frames.append(frame)


async def test_two_tracks_decode_in_shared_batches_in_order(monkeypatch):
    runner = RecordingRunner()
    monkeypatch.setattr("streams.webrtc.decode.DECODE", runner)
    scheduler = BatchScheduler(max_wait_ms=0, max_parallel=1, name="opus")
    outputs = [asyncio.Queue(), asyncio.Queue()]
    queues = [BatchedDecoderQueue(scheduler, q) for q in outputs]
    packets = [opus_packets(1.0, 440), opus_packets(1.0, 1000, stereo=False)]
    try:
        for a, b in zip(*packets, strict=True):  # packets of both streams arrive together
            queues[0].put((OPUS, a))
            queues[1].put((OPUS, b))
        for q in queues:
            q.put(None)  # the receiver stops: the track ends after what is decoding
        got = [await drain(q) for q in outputs]
    finally:
        scheduler.close()

    for frames, sent in zip(got, packets, strict=True):
        assert len(frames) == len(sent) == 50
        assert [f.pts for f in frames] == [960 * i for i in range(50)]  # in order
        assert all(f.format.name == "flt" and len(f.layout.channels) == 1 for f in frames)
    assert {name for name, _ in runner.batches} == {scheduler.name}  # never the loop
    assert max(size for _, size in runner.batches) >= 2  # both streams in one batch
    assert len(runner.batches) < 100  # fewer wake-ups than packets

    # Decoded to the tone it was, downmixed to mono at the sender's level.
    audio = np.concatenate([f.to_ndarray()[0] for f in got[0]])[4800:]
    spectrum = np.abs(np.fft.rfft(audio))
    assert abs(np.argmax(spectrum) * 48000 / audio.size - 440) < 5
    assert 0.15 < np.sqrt(np.mean(audio**2)) < 0.3


async def test_a_corrupt_packet_is_skipped_and_decoding_goes_on():
    scheduler = BatchScheduler(max_wait_ms=0, max_parallel=1, name="opus")
    output: asyncio.Queue = asyncio.Queue()
    queue = BatchedDecoderQueue(scheduler, output)
    good = opus_packets(0.2, 440)
    try:
        queue.put((OPUS, good[0]))
        queue.put((OPUS, JitterFrame(data=b"\xff" * 3, timestamp=960)))
        for p in good[1:]:
            queue.put((OPUS, p))
        queue.put(None)
        frames = await drain(output)
    finally:
        scheduler.close()
    assert len(frames) >= len(good)  # every good packet, maybe a concealment frame


def test_aiortcs_decoder_thread_waits_until_the_receiver_stops():
    scheduler = BatchScheduler(max_wait_ms=0, max_parallel=1, name="opus")
    loop = asyncio.new_event_loop()
    try:
        queue = BatchedDecoderQueue(scheduler, asyncio.Queue())
        thread = threading.Thread(target=queue.get)
        thread.start()
        thread.join(0.2)
        assert thread.is_alive()  # parked, not spinning or ending the track
        loop.call_soon(queue.put, None)
        loop.call_soon(loop.stop)
        loop.run_forever()
        thread.join(2)
        assert not thread.is_alive()
    finally:
        scheduler.close()
        loop.close()


@pytest.mark.django_db(transaction=True)
async def test_a_live_stream_is_decoded_on_the_codec_thread(clients, hub, settings):
    settings.DENOISE_MODEL = "identity"
    alice, bob, _, _ = clients
    before = hub.runtime.codec.stats.items
    _, capture = await listening(hub, alice, bob)
    await asyncio.sleep(0.5)
    # About 25 decodes and 25 encodes in 0.5 s of a 20 ms stream, plus the start.
    assert hub.runtime.codec.stats.items - before >= 2 * 25
    session = hub.session_for(alice.user.pk)
    receivers = [t.receiver for t in session._pc.getTransceivers()]
    queues = [r._RTCRtpReceiver__decoder_queue for r in receivers]
    assert queues and all(isinstance(q, BatchedDecoderQueue) for q in queues)
    assert len(capture.chunks) > 10
