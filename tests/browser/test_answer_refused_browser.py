"""A browser that cannot use the server's answer ends what the server started for it.

The server starts the stream (or registers the listen) before it answers; had the
browser failed to apply that answer (``setRemoteDescription``), the stream stayed up
until its connection timed out: friends saw Alice live, and her next "Go live" got 409
"already live". The page now stops the stream (and drops the listen) at once.
"""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Browser, expect

from .helpers import by_testid
from .live_helpers import call_api, go_live, identity_pair

pytestmark = pytest.mark.browser

REFUSE_ONE_ANSWER_JS = """() => {
  const real = RTCPeerConnection.prototype.setRemoteDescription;
  RTCPeerConnection.prototype.setRemoteDescription = function (description) {
    RTCPeerConnection.prototype.setRemoteDescription = real;
    return Promise.reject(new DOMException("refused by the test", "OperationError"));
  };
}"""


def live_streams(page) -> dict[str, int]:
    """username -> listeners of the live streams ``page``'s user may see."""
    streams = call_api(page, "GET", "/api/streams/active/")["streams"]
    return {s["username"]: s["listeners"] for s in streams}


def test_a_refused_answer_ends_the_stream_it_started(
    live_server_url: str, fake_mic_browser: Browser
) -> None:
    with identity_pair(fake_mic_browser, live_server_url) as p:
        p.alice.evaluate(REFUSE_ONE_ANSWER_JS)
        with p.alice.expect_response(lambda r: r.url.endswith("/api/streams/stop/")) as stop:
            by_testid(p.alice, "go-live").click()
        assert stop.value.status == 200
        expect(by_testid(p.alice, "broadcast-error")).not_to_be_empty()
        deadline = time.monotonic() + 10
        while p.alice_name in live_streams(p.bob):
            assert time.monotonic() < deadline, "the refused stream stayed live"
            time.sleep(0.2)

        go_live(p.alice)  # not 409 "already live"
        by_testid(p.alice, "stop-live").click()


def test_a_refused_answer_drops_the_listen_it_registered(
    live_server_url: str, fake_mic_browser: Browser
) -> None:
    with identity_pair(fake_mic_browser, live_server_url) as p:
        go_live(p.alice)
        p.bob.goto(f"{p.base}/u/{p.alice_name}/")
        expect(by_testid(p.bob, "listen")).to_be_enabled(timeout=10_000)
        p.bob.evaluate(REFUSE_ONE_ANSWER_JS)
        with p.bob.expect_response(
            lambda r: "/api/webrtc/listen/" in r.url and r.request.method == "DELETE"
        ) as dropped:
            by_testid(p.bob, "listen").click()
        assert dropped.value.status == 204
        assert live_streams(p.alice)[p.alice_name] == 0
        by_testid(p.alice, "stop-live").click()
