"""Bench-only: stamp each live frame at every server stage (``FC25_STAGE_TRACE=<file>``).

``bench/live_latency.py --stages`` starts its server with this folder first on
``PYTHONPATH``, so Python imports this module at startup and it wraps, without
touching the server's code:

- ``arrive``: an audio RTP packet reaches the receive jitter buffer (``add``: aiortc's
  ``JitterBuffer`` or ``ArrivalJitterBuffer``);
- ``release``: the jitter buffer hands that packet's frame to the decoder thread;
- ``decoded``: the decoded frame reaches the session's ``LiveSource`` (``frame_to_mono``);
- ``denoised``: ``LiveSource.next_chunk`` returns it cleaned;
- ``encoded``: the session's ``_send_levels`` has the packets back from the encode thread;
- ``sent``: a listener's ``PacketTrack.recv`` hands the packet to its RTP sender.

Keys are the frame's sample position (RTP timestamp minus the first released one:
aiortc's timestamp mapper does the same), so one frame's stamps line up on a loss-free
loopback (a single stream). Every second the stamps of the process serving the
stream are written to the file as JSON ``{stage: {pts: t}}``
(``time.monotonic`` seconds). Without the variable nothing is patched.
"""

from __future__ import annotations

import json
import os
import threading
import time
from typing import Any

PATH = os.environ.get("FC25_STAGE_TRACE", "")
STAMPS: dict[str, dict[int, float]] = {
    s: {} for s in ("arrive", "release", "decoded", "denoised", "encoded", "sent")
}
_origin: list[int] = []
_last_pts = [0]
_offset = [0]


def _key(rtp_ts: int) -> int | None:
    if not _origin:
        return None
    return (rtp_ts - _origin[0]) % (1 << 32)


def _stamp(stage: str, key: int | None) -> None:
    if key is not None and key not in STAMPS[stage]:
        STAMPS[stage][key] = time.monotonic()


def _traced_add(add: Any) -> Any:
    def traced_add(self: Any, packet: Any) -> Any:
        audio = not getattr(self, "_is_video", False)
        now = time.monotonic()
        pli, frame = add(self, packet)
        if audio:
            if frame is not None and not _origin:
                _origin.append(frame.timestamp)
            key = _key(packet.timestamp)
            if key is not None and key not in STAMPS["arrive"]:
                STAMPS["arrive"][key] = now
            if frame is not None:
                _stamp("release", _key(frame.timestamp))
        return pli, frame

    return traced_add


def _install() -> None:
    from aiortc.jitterbuffer import JitterBuffer

    from streams.webrtc import fanout, source
    from streams.webrtc.peer import ArrivalJitterBuffer

    for cls in (JitterBuffer, ArrivalJitterBuffer):
        cls.add = _traced_add(cls.add)  # type: ignore[method-assign]

    to_mono = source.frame_to_mono

    def traced_to_mono(frame: Any, *args: Any, **kwargs: Any) -> Any:
        if frame.pts is not None:
            _stamp("decoded", int(frame.pts * 48_000 / frame.sample_rate))
        return to_mono(frame, *args, **kwargs)

    source.frame_to_mono = traced_to_mono  # type: ignore[assignment]

    next_chunk = source.LiveSource.next_chunk

    async def traced_next_chunk(self: Any) -> Any:
        chunk = await next_chunk(self)
        _stamp("denoised", chunk.pts)
        _last_pts[0] = chunk.pts
        return chunk

    source.LiveSource.next_chunk = traced_next_chunk  # type: ignore[method-assign]

    from streams.webrtc import session

    send_levels = session.BroadcastSession._send_levels

    async def traced_send_levels(self: Any, cleaned: Any, raw: Any, position: int) -> None:
        # The pump sends the chunk next_chunk just returned; ``position`` (the packets'
        # pts) differs from the RTP-based key once frames were dropped.
        pts = _last_pts[0]
        _offset[0] = pts - position
        await send_levels(self, cleaned, raw, position)
        _stamp("encoded", pts)

    session.BroadcastSession._send_levels = traced_send_levels  # type: ignore[method-assign]

    recv = fanout.PacketTrack.recv

    async def traced_recv(self: Any) -> Any:
        packet = await recv(self)
        _stamp("sent", packet.pts + _offset[0])
        return packet

    fanout.PacketTrack.recv = traced_recv  # type: ignore[method-assign]


def _dump() -> None:
    if not STAMPS["arrive"]:
        return  # another process (the model probe, migrate): nothing of its own to say
    data = {s: {str(k): v for k, v in list(d.items())} for s, d in STAMPS.items()}
    with open(PATH + ".tmp", "w") as f:
        json.dump(data, f)
    os.replace(PATH + ".tmp", PATH)


def _dump_every_second() -> None:
    # Uvicorn ends on SIGTERM by re-raising it: atexit handlers never run.
    while True:
        time.sleep(1.0)
        _dump()


if PATH:
    _install()
    threading.Thread(target=_dump_every_second, name="stage-trace", daemon=True).start()
