"""The listeners' Opus encoder adds at most the CELT look-ahead (2.5 ms), not VoIP's 6.5 ms."""

from __future__ import annotations

import av
import numpy as np
import pytest

from streams.webrtc.fanout import OpusPacketizer
from tests.audio_fixtures import noisy_speech

RATE = 48_000


def decoded_lag_ms(frame_ms: int) -> float:
    speech = noisy_speech(seconds=3.0, snr_db=20.0, seed=1)[2].astype(np.float32)
    packetizer = OpusPacketizer(frame_ms)
    decoder = av.CodecContext.create("libopus", "r")
    assert isinstance(decoder, av.AudioCodecContext)
    decoder.options = {"request_sample_fmt": "flt"}
    decoder.layout, decoder.sample_rate = "mono", RATE
    n = RATE * frame_ms // 1000
    out = []
    for pos in range(0, speech.size - n + 1, n):
        for packet in packetizer.encode(speech[pos : pos + n], pos):
            out += [f.to_ndarray()[0] for f in decoder.decode(av.Packet(bytes(packet)))]
    got = np.concatenate(out)
    m = min(speech.size, got.size) - 960
    scores = [float(np.dot(speech[:m], got[k : k + m])) for k in range(960)]
    return 1000 * int(np.argmax(scores)) / RATE


@pytest.mark.parametrize("frame_ms", [20, 10])
def test_encoder_delay_is_the_celt_look_ahead(frame_ms):
    assert decoded_lag_ms(frame_ms) <= 3.0
