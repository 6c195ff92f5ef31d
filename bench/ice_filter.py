"""What the ICE candidate filter (streams/webrtc/candidates.py) costs per offer.

Usage::

    FC25_LOCAL_SECRET=1 python bench/ice_filter.py [--candidates 8] [--repeat 2000]

Builds a real aiortc offer, adds ``--candidates`` private host candidates (all of them
dropped, the costly case), and times ``reachable_candidates`` with the trusted addresses
worked out again each time, as the server does for every offer on its event loop.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiortc import RTCConfiguration, RTCPeerConnection

from streams.webrtc.candidates import reachable_candidates, trusted_peers


async def an_offer() -> str:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTransceiver("audio", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    sdp = pc.localDescription.sdp
    await pc.close()
    return sdp


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--candidates", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=2000)
    args = parser.parse_args()
    extra = "\r\n".join(
        f"a=candidate:{i} 1 udp 2130706431 10.0.0.{i + 1} 9 typ host"
        for i in range(args.candidates)
    )
    sdp = asyncio.run(an_offer()).replace("a=end-of-candidates", extra + "\r\na=end-of-candidates")
    turn = ["turn:127.0.0.1:3478?transport=udp", "turn:127.0.0.1:3478?transport=tcp"]

    def once() -> None:
        reachable_candidates(sdp, trusted_peers(turn))

    seconds = timeit.timeit(once, number=args.repeat) / args.repeat
    total = sdp.count("a=candidate:")
    print(f"{seconds * 1e6:.1f} us per offer ({total} candidates, {args.candidates} dropped)")


if __name__ == "__main__":
    main()
