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

from .helpers import by_testid, unique_name
from .live_helpers import call_api, go_live, setup_pair

pytestmark = pytest.mark.browser

REFUSE_ONE_ANSWER_JS = """() => {
  const real = RTCPeerConnection.prototype.setRemoteDescription;
  RTCPeerConnection.prototype.setRemoteDescription = function (description) {
    RTCPeerConnection.prototype.setRemoteDescription = real;
    return Promise.reject(new DOMException("refused by the test", "OperationError"));
  };
}"""


def active(page, name: str) -> bool:
    return any(
        s["username"] == name for s in call_api(page, "GET", "/api/streams/active/")["streams"]
    )


def test_a_refused_answer_ends_the_stream_it_started(
    live_server_url: str, fake_mic_browser: Browser
) -> None:
    base = live_server_url
    alice_name, bob_name = unique_name("alice"), unique_name("bob")
    contexts, alice, bob = setup_pair(fake_mic_browser, base, alice_name, bob_name)
    try:
        call_api(alice, "PATCH", "/api/streams/settings/", {"model": "identity"})
        alice.evaluate(REFUSE_ONE_ANSWER_JS)
        with alice.expect_response(lambda r: r.url.endswith("/api/streams/stop/")) as stop:
            by_testid(alice, "go-live").click()
        assert stop.value.status == 200
        expect(by_testid(alice, "broadcast-error")).not_to_be_empty()
        deadline = time.monotonic() + 10
        while active(bob, alice_name):
            assert time.monotonic() < deadline, "the refused stream stayed live"
            time.sleep(0.2)

        go_live(alice)  # not 409 "already live"
        by_testid(alice, "stop-live").click()
    finally:
        for ctx in contexts:
            ctx.close()


def test_a_refused_answer_drops_the_listen_it_registered(
    live_server_url: str, fake_mic_browser: Browser
) -> None:
    base = live_server_url
    alice_name, bob_name = unique_name("alice"), unique_name("bob")
    contexts, alice, bob = setup_pair(fake_mic_browser, base, alice_name, bob_name)
    try:
        call_api(alice, "PATCH", "/api/streams/settings/", {"model": "identity"})
        go_live(alice)
        bob.goto(f"{base}/u/{alice_name}/")
        expect(by_testid(bob, "listen")).to_be_enabled(timeout=10_000)
        bob.evaluate(REFUSE_ONE_ANSWER_JS)
        with bob.expect_response(
            lambda r: "/api/webrtc/listen/" in r.url and r.request.method == "DELETE"
        ) as dropped:
            by_testid(bob, "listen").click()
        assert dropped.value.status == 204
        listeners = [
            s["listeners"]
            for s in call_api(alice, "GET", "/api/streams/active/")["streams"]
            if s["username"] == alice_name
        ]
        assert listeners == [0]
        by_testid(alice, "stop-live").click()
    finally:
        for ctx in contexts:
            ctx.close()
