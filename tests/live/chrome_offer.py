"""A browser's offer as Chrome sends it (audio only, one host candidate per component).

Captured shape of Chrome 120's ``createOffer()`` for a microphone track; the
listen route's variant is the receive-only offer Chrome makes for
``addTransceiver("audio", {direction: "recvonly"})``.
"""

from __future__ import annotations

CHROME_OFFER = "\r\n".join(
    [
        "v=0",
        "o=- 4611731400430051336 2 IN IP4 127.0.0.1",
        "s=-",
        "t=0 0",
        "a=group:BUNDLE 0",
        "a=extmap-allow-mixed",
        "a=msid-semantic: WMS 3b4d5a1e-8c0f-4f8e-9e5a-2f1c6d7e8a9b",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126",
        "c=IN IP4 0.0.0.0",
        "a=rtcp:9 IN IP4 0.0.0.0",
        "a=candidate:1467250027 1 udp 2122260223 127.0.0.1 46243 typ host generation 0 network-id 1",
        "a=candidate:1467250027 2 udp 2122260222 127.0.0.1 46244 typ host generation 0 network-id 1",
        "a=ice-ufrag:EsAw",
        "a=ice-pwd:bP+XJMM09aR8AiX1jdukzR6Y",
        "a=ice-options:trickle",
        "a=fingerprint:sha-256 D2:FA:0E:C3:22:59:5E:14:95:69:92:3D:13:B4:84:24:2C:C2:A2:C0:3E:FD:34:8E:5E:EA:6F:AF:52:CE:E6:0F",
        "a=setup:actpass",
        "a=mid:0",
        "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level",
        "a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
        "a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
        "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid",
        "a=sendrecv",
        "a=msid:3b4d5a1e-8c0f-4f8e-9e5a-2f1c6d7e8a9b 9f1a2b3c-4d5e-6f70-8192-a3b4c5d6e7f8",
        "a=rtcp-mux",
        "a=rtpmap:111 opus/48000/2",
        "a=rtcp-fb:111 transport-cc",
        "a=fmtp:111 minptime=10;useinbandfec=1",
        "a=rtpmap:63 red/48000/2",
        "a=fmtp:63 111/111",
        "a=rtpmap:9 G722/8000",
        "a=rtpmap:0 PCMU/8000",
        "a=rtpmap:8 PCMA/8000",
        "a=rtpmap:13 CN/8000",
        "a=rtpmap:110 telephone-event/48000",
        "a=rtpmap:126 telephone-event/8000",
        "a=ssrc:3735928559 cname:Qf3nR7xT0pLmVw2Y",
        "a=ssrc:3735928559 msid:3b4d5a1e-8c0f-4f8e-9e5a-2f1c6d7e8a9b 9f1a2b3c-4d5e-6f70-8192-a3b4c5d6e7f8",
        "",
    ]
)

CHROME_LISTEN_OFFER = "\r\n".join(
    "a=recvonly" if line == "a=sendrecv" else line
    for line in CHROME_OFFER.split("\r\n")
    if not line.startswith(("a=msid:", "a=ssrc:"))
)


def with_line(sdp: str, prefix: str, replacement: str) -> str:
    """``sdp`` with every line starting with ``prefix`` replaced by ``replacement``."""
    return "\r\n".join(
        replacement if line.startswith(prefix) else line for line in sdp.split("\r\n")
    )
