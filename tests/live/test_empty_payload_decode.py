"""An empty RTP payload is skipped: the broadcaster's later packets still decode (an empty
``av.Packet`` would flush the decoder for good), and a decoder that has nevertheless reached
its end of stream is rebuilt."""

from __future__ import annotations

from aiortc.jitterbuffer import JitterFrame

from streams.webrtc.decode import TrackDecoder
from tests.live.test_batched_decode import OPUS, opus_packets


def test_an_empty_payload_does_not_stop_later_packets_decoding() -> None:
    decoder = TrackDecoder()
    packets = opus_packets(0.2, 440)
    assert decoder.decode(OPUS, packets[0])
    assert decoder.decode(OPUS, JitterFrame(data=b"", timestamp=960)) == []
    later = [decoder.decode(OPUS, p) for p in packets[1:]]
    assert all(frames for frames in later)
    assert decoder.errors.count == 0


def test_a_flushed_decoder_is_rebuilt() -> None:
    decoder = TrackDecoder()
    packets = opus_packets(0.2, 440)
    assert decoder.decode(OPUS, packets[0])
    # Whatever flushed it (a null packet): libopus then answers every packet with EOF.
    assert decoder._opus is not None
    decoder._opus.decode(None)
    later = [decoder.decode(OPUS, p) for p in packets[1:]]
    assert all(frames for frames in later)
