"""Undecodable packets are skipped, counted in the stream's stats and logged through the
stream's logger at most every LOG_EVERY_S (a broadcaster sending junk at 50 packets/s
must not write a log line per packet); the valid packets around them still decode."""

from __future__ import annotations

import asyncio
import logging
import random
import uuid

import pytest
from aiortc.jitterbuffer import JitterFrame

from denoise.batching import BatchScheduler
from streams.webrtc.decode import (
    DECODE,
    LOG_EVERY_S,
    BatchedDecoderQueue,
    DecodeErrors,
    TrackDecoder,
)
from streams.webrtc.stream import StreamLog
from tests.live.access_helpers import listening
from tests.live.test_batched_decode import OPUS, drain, opus_packets

BAD = 200
STREAM = uuid.UUID("0b5e55ed-0000-4000-8000-000000000001")
PREFIX = f"[stream {STREAM} user=alice]"


def junk(count: int, seed: int = 7, config: int | None = None) -> list[JitterFrame]:
    """Random Opus payloads libopus must refuse: a TOC byte announcing two equal frames
    (code 1) followed by an odd number of random bytes (RFC 6716 3.4, R3). Fully random
    bytes would not do: about half of them decode (as noise). ``config``: the TOC's
    configuration (default: random); 16 announces 2.5 ms frames."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        toc = ((rng.randrange(32) if config is None else config) << 3) | (rng.randrange(2) << 2) | 1
        body = rng.randbytes(2 * rng.randint(0, 100) + 1)
        out.append(JitterFrame(data=bytes([toc]) + body, timestamp=960 * i))
    return out


def stream_log() -> StreamLog:
    """The log a session uses for this stream (BroadcastSession.log)."""
    return StreamLog(
        logging.getLogger("streams.webrtc.session"), {"stream": str(STREAM), "user": "alice"}
    )


def decode_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.WARNING and "decod" in r.getMessage()
    ]


async def test_junk_is_counted_and_logged_once_and_good_packets_still_decode(caplog):
    caplog.set_level(logging.INFO)
    scheduler = BatchScheduler(max_wait_ms=0, max_parallel=1, name="opus")
    output: asyncio.Queue = asyncio.Queue()
    errors = DecodeErrors(stream_log())
    queue = BatchedDecoderQueue(scheduler, output, errors)
    good, bad = opus_packets(0.4, 440), junk(BAD)
    try:
        for i, packet in enumerate(bad):  # 200 junk packets, the good ones among them
            queue.put((OPUS, packet))
            if i % 10 == 0 and good:
                queue.put((OPUS, good.pop(0)))
        for packet in good:
            queue.put((OPUS, packet))
        queue.put(None)
        frames = await drain(output)
    finally:
        scheduler.close()

    assert errors.count == BAD
    assert len(frames) == 20  # every good packet (0.4 s), nothing from the junk
    assert all(f.format.name == "flt" and f.samples == 960 for f in frames)
    lines = decode_warnings(caplog)
    assert 1 <= len(lines) <= 2, lines
    assert all(line.startswith(PREFIX) for line in lines), lines


def test_after_the_interval_one_summary_line_counts_what_was_not_logged(caplog):
    caplog.set_level(logging.INFO)
    now = [100.0]
    errors = DecodeErrors(stream_log(), clock=lambda: now[0])
    run = DECODE.run_batch  # the codec thread's runner, called in line
    track = TrackDecoder(errors)
    bad = junk(3 * BAD)
    for packet in bad[:BAD]:
        assert run([(track, OPUS, packet)]) == [[]]
        now[0] += 0.02  # 50 packets/s: 200 packets in 4 s
    assert len(decode_warnings(caplog)) == 1
    now[0] += LOG_EVERY_S
    run([(track, OPUS, p) for p in bad[BAD : 2 * BAD]])  # one batch, 10 s on
    lines = decode_warnings(caplog)
    assert len(lines) == 2, lines
    assert lines[1].startswith(f"{PREFIX} {BAD} more undecodable opus packets"), lines
    assert errors.count == 2 * BAD
    for packet in opus_packets(0.1, 440):  # the junk left the decoder usable
        assert len(run([(track, OPUS, packet)])[0]) == 1


@pytest.mark.django_db(transaction=True)
async def test_a_live_streams_junk_shows_in_its_stats_and_log(clients, hub, settings, caplog):
    settings.DENOISE_MODEL = "identity"
    caplog.set_level(logging.INFO)
    alice, bob, _, _ = clients
    await listening(hub, alice, bob)
    session = hub.session_for(alice.user.pk)
    (queue,) = [
        t.receiver._RTCRtpReceiver__decoder_queue
        for t in session._pc.getTransceivers()
        if isinstance(t.receiver._RTCRtpReceiver__decoder_queue, BatchedDecoderQueue)
    ]
    # Two 2.5 ms frames each: 100 packets announce 0.5 s of audio, within what the stream's
    # pace lets through at once (streams.webrtc.pace); more in one burst is refused unread.
    for packet in junk(BAD, config=16)[: BAD // 2]:
        queue.put((OPUS, packet))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    while session.stats["undecodable"] < BAD // 2:
        assert loop.time() < deadline, session.stats
        await asyncio.sleep(0.02)
    assert session.stats["undecodable"] == BAD // 2
    assert session.stats["too_fast"] == 0
    lines = decode_warnings(caplog)
    assert 1 <= len(lines) <= 2, lines
    prefix = f"[stream {session.session_id} user={alice.user.username}]"
    assert all(line.startswith(prefix) for line in lines), lines
